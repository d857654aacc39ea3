"""The quarterly spot check (抽查, issue 16; RULES.md rule 7): a supervisor draws the sample of
one quarter for one node of the unit tree it reaches, once, reproducibly, and the draw is kept.

The draw, exactly (docs/SUPERVISION.md; tests/test_spot_check.py recomputes it):
- the population: the node's subtree's accounts whose status is active at the draw, by id;
- the share: the rule profile's in force at the node on the day of the draw (a decimal in
  (0, 1]; the seeds' default is 1: every account each quarter), recorded with the draw;
- stratified by platform: a platform with n accounts gives ceil(share × n) of them (at least
  one; exact decimal arithmetic, never a float's 0.07 × 100 = 7.000000000000001 → 8);
- one `random.Random(seed)`, the platforms taken in the order of their codes, and for each
  `rng.sample(its account ids in ascending order, k)`; the sample is kept sorted by id;
- the seed: 63 random bits from `secrets`, recorded with the draw, so the same seed over the
  same population gives the same sample, and anyone can check it.
"""
import random
import secrets
from collections import defaultdict
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import ceil

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from govmedia import audit
from govmedia.auth import require_roles, scope_query, subtree_ids
from govmedia.errors import Invalid, NotFound, RuleConflict
from govmedia.extensions import db
from govmedia.profiles import profile_for
from govmedia.types import SHANGHAI, today_shanghai, utcnow

from ..models import Account, Unit
from ..posts import dormancy
from .annual import node_name, require_reader
from .export import Column, Sheet, as_percent, to_xlsx as sheets_to_xlsx
from .models import SpotCheck
from .reports import PLATFORM_LABELS, STATUS_LABELS, quarter_bounds

BAND_LABELS = {"dormant": "超期未更新", "warning": "临近超期", None: "正常"}
COLUMNS = (("unit_name", "主办单位", 28), ("account_id", "账号编号", 9), ("platform", "平台", 12),
           ("name", "账号名称", 24), ("status", "状态", 8), ("last_update_on", "最近更新日期", 12),
           ("days_since_update", "未更新天数", 10), ("band", "更新情况", 12))


def configured_share(unit_id: int | None = None, on: date | None = None) -> Decimal:
    """The share the rule profile in force at this node sets (a decimal in (0, 1])."""
    return profile_for(unit_id, on).spot_check_share


def stratum_size(share: Decimal, n: int) -> int:
    """ceil(share × n), exactly, at least one of a platform that has accounts."""
    if n <= 0:
        return 0
    return min(n, max(1, ceil(Fraction(share) * n)))


def draw_sample(population: list[tuple[int, str]], share: Decimal, seed: int) -> list[int]:
    """The sample of (account id, platform) pairs at `share` with `seed` (module docstring)."""
    by_platform = defaultdict(list)
    for account_id, platform in population:
        by_platform[platform].append(account_id)
    rng = random.Random(seed)
    chosen = []
    for platform in sorted(by_platform):
        ids = sorted(by_platform[platform])
        chosen += rng.sample(ids, stratum_size(share, len(ids)))
    return sorted(chosen)


def population_of(unit_id: int | None) -> list[tuple[int, str]]:
    """(id, platform) of the active accounts of the node's subtree (every unit: None), by id."""
    query = select(Account.id, Account.platform).where(Account.status == "active")
    if unit_id is not None:
        query = query.where(Account.unit_id.in_(subtree_ids(unit_id)))
    return [tuple(row) for row in db.session.execute(query.order_by(Account.id))]


def _same_node(unit_id: int | None):
    return SpotCheck.unit_id.is_(None) if unit_id is None else SpotCheck.unit_id == unit_id


def current_draw(year: int, quarter: int, unit_id: int | None) -> SpotCheck | None:
    return db.session.scalar(select(SpotCheck).where(
        SpotCheck.year == year, SpotCheck.quarter == quarter, _same_node(unit_id),
        SpotCheck.voided_at.is_(None)))


def draw(actor, year: int, quarter: int, unit_id: int | None,
         seed: int | None = None) -> SpotCheck:
    """Draw the quarter's sample for a node the supervisor reaches: once per quarter and node."""
    require_reader(actor, unit_id)
    start, _end = quarter_bounds(year, quarter)
    if start > today_shanghai():
        raise Invalid(_("The quarter has not begun"), fields={"quarter": "in the future"})
    if current_draw(year, quarter, unit_id) is not None:
        raise RuleConflict(_("This quarter's sample for this unit has been drawn already"),
                           code="already_drawn")
    share = configured_share(unit_id)
    population = population_of(unit_id)
    if not population:
        raise Invalid(_("There are no active accounts to draw from"),
                      fields={"unit_id": "no active accounts"})
    seed = secrets.randbits(63) if seed is None else seed
    sample = draw_sample(population, share, seed)
    row = SpotCheck(year=year, quarter=quarter, unit_id=unit_id, seed=seed, share=str(share),
                    population_ids=[aid for aid, _platform in population], account_ids=sample,
                    drawn_by_id=actor.id)
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:   # another supervisor drew it a moment ago
        raise RuleConflict(_("This quarter's sample for this unit has been drawn already"),
                           code="already_drawn") from None
    audit.record("spot_check.draw", "spot_check", row.id,
                 after={"year": year, "quarter": quarter, "unit_id": unit_id, "seed": seed,
                        "share": str(share), "population": len(population),
                        "account_ids": sample}, unit_id=unit_id, user=actor)
    return row


def void(actor, draw_id: int, reason: str) -> SpotCheck:
    """Void a draw (drawn for the wrong node or quarter, say) with a reason: it stays on record,
    marked void, and the quarter's sample for the node can be drawn again."""
    row = get_draw(actor, draw_id)
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise Invalid(_("Give the reason for voiding the draw (at most 500 characters)"),
                      fields={"reason": "1 to 500 characters"})
    locked = db.session.scalar(select(SpotCheck).where(SpotCheck.id == row.id).with_for_update())
    if locked.voided_at is not None:
        raise RuleConflict(_("This draw was voided already"), code="already_voided")
    locked.voided_at, locked.voided_by_id, locked.void_reason = utcnow(), actor.id, reason
    audit.record("spot_check.void", "spot_check", row.id, unit_id=row.unit_id, user=actor,
                 after={"reason": reason, "seed": row.seed, "year": row.year,
                        "quarter": row.quarter})
    db.session.flush()
    return locked


def draws_query(actor, unit_id: int | None = None):
    """The draws of the nodes the supervisor reaches (or of `unit_id`'s subtree), newest first."""
    require_roles(actor, "supervisor")
    query = select(SpotCheck).order_by(SpotCheck.year.desc(), SpotCheck.quarter.desc(),
                                       SpotCheck.id.desc())
    if unit_id is not None:
        require_reader(actor, unit_id)
        return query.where(SpotCheck.unit_id.in_(subtree_ids(unit_id)))
    return scope_query(query, SpotCheck.unit_id, actor)


def get_draw(actor, draw_id: int) -> SpotCheck:
    row = db.session.get(SpotCheck, draw_id)
    if row is None:
        raise NotFound(_("Spot check not found"))
    require_reader(actor, row.unit_id)
    return row


def drawer_name(row: SpotCheck) -> str:
    user = row.drawn_by
    return (user.display_name or user.username) if user is not None else ""


def draw_json(row: SpotCheck) -> dict:
    return {"id": row.id, "year": row.year, "quarter": row.quarter, "unit_id": row.unit_id,
            "node_name": node_name(row.unit_id), "seed": row.seed, "share": row.share,
            "population": len(row.population_ids), "account_ids": row.account_ids,
            "drawn_by": {"id": row.drawn_by_id, "name": drawer_name(row)},
            "drawn_at": row.drawn_at.isoformat(), "voided": row.voided_at is not None,
            "voided_at": row.voided_at.isoformat() if row.voided_at else None,
            "void_reason": row.void_reason}


def sample_rows(row: SpotCheck) -> list[dict]:
    """The sampled accounts with their unit, status and rule 5 as of today."""
    today = today_shanghai()
    rows = []
    for account, unit_name in db.session.execute(
            select(Account, Unit.name).join(Unit, Unit.id == Account.unit_id)
            .where(Account.id.in_(row.account_ids))
            .order_by(Unit.name_sort, Unit.id, Account.platform, Account.id)):
        state = dormancy(account, today)
        rows.append({"unit_id": account.unit_id, "unit_name": unit_name,
                     "account_id": account.id, "name": account.name,
                     "platform": PLATFORM_LABELS.get(account.platform, account.platform),
                     "platform_code": account.platform, "status_code": account.status,
                     "status": STATUS_LABELS.get(account.status, account.status),
                     "last_update_on": state["last_update_on"],
                     "days_since_update": state["days_since_update"], "band_code": state["band"],
                     "band": BAND_LABELS[state["band"]]})
    return rows


def title_of(row: SpotCheck) -> str:
    return f"{node_name(row.unit_id)}{row.year}年第{row.quarter}季度政务新媒体抽查样本"


def to_xlsx(row: SpotCheck) -> bytes:
    drawn_at = row.drawn_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    period = (f"抽取人：{drawer_name(row)}；抽取时间：{drawn_at}；"
              f"抽取比例：{as_percent(row.share)}；"
              f"在用账号 {len(row.population_ids)} 个，抽取 {len(row.account_ids)} 个；"
              f"随机种子：{row.seed}")
    columns = [Column(key, heading, width, key == "last_update_on")
               for key, heading, width in COLUMNS]
    return sheets_to_xlsx(title_of(row), period, [Sheet("抽查样本", columns, sample_rows(row))],
                          footer="第 &P 页，共 &N 页")


def filename(row: SpotCheck) -> str:
    return f"政务新媒体抽查样本_{row.year}Q{row.quarter}_{row.id}.xlsx"
