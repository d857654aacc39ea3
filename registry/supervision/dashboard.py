"""The supervision dashboard: per-unit figures, the filing rate, and the week-by-week trend."""
from datetime import date, timedelta

from flask import current_app, g, has_request_context
from sqlalchemy import case, func, literal, select

from govmedia.auth import in_units, unit_scope
from govmedia.extensions import db
from interaction.overdue import overdue_by_account
from interaction.services import overdue_by_unit, unanswered_count

from ..apps import APP
from ..models import COUNTED_STATUSES, FILING_STATUSES, STATUSES, Account, Filing, Unit
from ..filings import filing_status_clause
from .dormancy import band_counts, band_subquery, band_totals, weekly_bands
from .figure_cache import cached_figure
from .models import DayTotal, Rectification, UnitDay
from .outside_work import overdue_per_unit
from .pending import apply_pending


def _rate(done: int, due: int):
    return round(done / due, 4) if due else None


def _filing_status(due_on: date, filed_on: date | None, as_of: date) -> str:
    """Filing.status_on / filing_status_clause, for one (due_on, filed_on) pair."""
    if filed_on is None or filed_on > as_of:
        return "pending" if due_on >= as_of else "overdue"
    return "filed" if filed_on <= due_on else "late"


def _filing_counts(days: list[date], units) -> list[dict]:
    """Filings by status as of each day: one grouping by (due_on, filed_on) — a few thousand
    distinct pairs — classified in Python, instead of a CASE per status and day over every row."""
    memo = g.setdefault("supervision_filing_pairs", {}) if has_request_context() else {}
    key = None if units is None else tuple(units)
    pairs = memo.get(key)
    if pairs is None:   # one grouping per request (the dashboard asks twice)
        q = select(Filing.due_on, Filing.filed_on, func.count()).group_by(Filing.due_on,
                                                                          Filing.filed_on)
        if units is not None:
            q = q.where(in_units(Filing.unit_id, units))
        pairs = memo[key] = db.session.execute(q).all()
    out = []
    for t in days:
        counts = dict.fromkeys(FILING_STATUSES, 0)
        for due_on, filed_on, n in pairs:
            counts[_filing_status(due_on, filed_on, t)] += n
        out.append(counts)
    return out


def filing_status_case(as_of: date):
    """A filing's status as of a day, as one SQL expression to group by."""
    return case(*((filing_status_clause(status, as_of), literal(status))
                  for status in FILING_STATUSES))


def overdue_rectifications(as_of: date, ids) -> dict[int, int]:
    """unit id -> rectification orders past their deadline and not closed (ids None: all)."""
    return dict(db.session.execute(
        select(Rectification.unit_id, func.count())
        .where(in_units(Rectification.unit_id, ids), Rectification.status != "closed",
               Rectification.deadline < as_of).group_by(Rectification.unit_id)).all())


def unit_rows(ids: list[int] | None, as_of: date) -> dict[int, dict]:
    """Every per-unit figure for these units (a page of them; None: every unit), each figure
    one grouped query."""
    per_unit = {}
    for uid, name in db.session.execute(select(Unit.id, Unit.name).where(in_units(Unit.id, ids))):
        per_unit[uid] = {"unit_id": uid, "unit_name": name,
                         "accounts": {s: 0 for s in STATUSES},
                         "filings": dict.fromkeys(FILING_STATUSES, 0),
                         "dormant": 0, "warning": 0, "overdue_rectifications": 0,
                         "overdue_messages": 0}
    if not per_unit:
        return per_unit
    for uid, status, n in db.session.execute(
            select(Account.unit_id, Account.status, func.count())
            .where(in_units(Account.unit_id, ids)).group_by(Account.unit_id, Account.status)):
        per_unit[uid]["accounts"][status] = n
    filing_status = filing_status_case(as_of)
    for uid, status, n in db.session.execute(
            select(Filing.unit_id, filing_status, func.count())
            .where(in_units(Filing.unit_id, ids)).group_by(Filing.unit_id, filing_status)):
        if uid in per_unit:
            per_unit[uid]["filings"][status] += n
    for uid, counts in band_counts(as_of, ids).items():
        if uid in per_unit:
            per_unit[uid].update(counts)
    for uid, n in overdue_rectifications(as_of, ids).items():
        if uid in per_unit:
            per_unit[uid]["overdue_rectifications"] = n
    for uid, n in overdue_by_unit(ids, as_of).items():   # issue 14: the inbox
        if uid in per_unit:
            per_unit[uid]["overdue_messages"] = n
    for name, counts in overdue_per_unit(as_of, ids).items():
        for uid, row in per_unit.items():
            row[f"overdue_{name}"] = counts.get(uid, 0)
    for row in per_unit.values():
        with_rates(row)
    return per_unit


def with_rates(row: dict) -> dict:
    """A row's filing rates from its filing counts (after the counts were summed, too)."""
    f = row["filings"]
    row["filing_rate"] = _rate(f["filed"] + f["late"], f["filed"] + f["late"] + f["overdue"])
    row["on_time_rate"] = _rate(f["filed"], f["filed"] + f["late"] + f["overdue"])
    return row


def _worst_first(as_of: date, units, limit: int, offset: int) -> list[int]:
    """One page of unit ids, worst first (dormant + overdue filings + overdue orders, then
    warning, then id), ranked in the database: only the page comes back."""
    band = band_subquery(as_of, units)
    b = (select(band.c.unit_id, func.sum(case((band.c.dormant, 1), else_=0))
                .label("dormant"), func.count().label("banded"))
         .group_by(band.c.unit_id).subquery("b"))
    f = (select(Filing.unit_id, func.count().label("n"))
         .where(filing_status_clause("overdue", as_of)).group_by(Filing.unit_id).subquery("f"))
    r = (select(Rectification.unit_id, func.count().label("n"))
         .where(Rectification.status != "closed", Rectification.deadline < as_of)
         .group_by(Rectification.unit_id).subquery("r"))
    dormant = func.coalesce(b.c.dormant, 0)
    bad = dormant + func.coalesce(f.c.n, 0) + func.coalesce(r.c.n, 0)
    q = (select(Unit.id).outerjoin(b, b.c.unit_id == Unit.id)
         .outerjoin(f, f.c.unit_id == Unit.id).outerjoin(r, r.c.unit_id == Unit.id)
         .order_by(bad.desc(), (func.coalesce(b.c.banded, 0) - dormant).desc(), Unit.id)
         .limit(limit).offset(offset))
    if units is not None:
        q = q.where(in_units(Unit.id, units))
    return list(db.session.scalars(q))


@cached_figure
def summary(actor, as_of: date, unit_id: int | None = None, *, limit: int = 50,
            offset: int = 0, worst_first: bool = False) -> dict:
    """Counts of accounts by status, filings by status, the filing rate, dormant and warning
    accounts, overdue rectification orders and messages from the public unanswered past their
    deadline: totals over every unit in sight, and per unit
    one page of units (`units_total` of them; by unit id, or worst first)."""
    units = unit_scope(actor, unit_id)
    totals = {"accounts": {s: 0 for s in STATUSES}}
    q = select(Account.status, func.count()).group_by(Account.status)
    if units is not None:
        q = q.where(in_units(Account.unit_id, units))
    for status, n in db.session.execute(q):
        totals["accounts"][status] = n
    totals["filings"] = _filing_counts([as_of], units)[0]
    if units is None:
        dormant, banded = band_totals([as_of])[0]
    else:
        counts = band_counts(as_of, units).values()
        dormant = sum(c["dormant"] for c in counts)
        banded = dormant + sum(c["warning"] for c in counts)
    totals["dormant"], totals["warning"] = dormant, banded - dormant
    q = select(func.count()).select_from(Rectification).where(
        Rectification.status != "closed", Rectification.deadline < as_of)
    if units is not None:
        q = q.where(in_units(Rectification.unit_id, units))
    totals["overdue_rectifications"] = db.session.scalar(q)
    totals["overdue_messages"] = unanswered_count(units, as_of)
    # Issue 16: mobile clients without their cyberspace filing number (网信备案号).
    q = select(func.count()).select_from(Account).where(
        Account.platform == APP, Account.status.in_(COUNTED_STATUSES),
        func.coalesce(func.trim(Account.app_filing_number), "") == "")
    if units is not None:
        q = q.where(in_units(Account.unit_id, units))
    totals["apps_without_filing"] = db.session.scalar(q)
    for name, counts in overdue_per_unit(as_of, units).items():
        totals[f"overdue_{name}"] = sum(counts.values())

    q = select(Unit.id)
    if units is not None:
        q = q.where(in_units(Unit.id, units))
    units_total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    if worst_first:
        page = _worst_first(as_of, units, limit, offset)
    else:
        page = db.session.scalars(q.order_by(Unit.id).limit(limit).offset(offset)).all()
    rows = unit_rows(list(page), as_of)
    f = totals["filings"]
    return {"as_of": as_of.isoformat(), **totals,
            "filing_rate": _rate(f["filed"] + f["late"], f["filed"] + f["late"] + f["overdue"]),
            "on_time_rate": _rate(f["filed"], f["filed"] + f["late"] + f["overdue"]),
            "filing_target": 1.0, "units_total": units_total, "limit": limit, "offset": offset,
            "units": [rows[u] for u in page if u in rows]}


@cached_figure
def overdue_message_accounts(actor, as_of: date, unit_id: int | None = None,
                             limit: int = 20) -> list[dict]:
    """The accounts in sight with messages from the public overdue as of a day, most first."""
    return overdue_by_account(as_of, unit_scope(actor, unit_id), limit)


@cached_figure
def trend(actor, as_of: date, weeks: int | None = None, unit_id: int | None = None) -> list[dict]:
    """Week by week back from as_of: dormant and warning accounts, the filing rate, posts."""
    apply_pending()
    units = unit_scope(actor, unit_id)
    weeks = weeks or current_app.config["SUPERVISION_TREND_WEEKS"]
    ends = [as_of - timedelta(days=7 * k) for k in range(weeks - 1, -1, -1)]
    counted = band_totals(ends) if units is None else weekly_bands(ends, units)
    filings = _filing_counts(ends, units)

    if units is None:   # the same sums, kept per day over all units
        q = select(DayTotal.day, DayTotal.posts).where(
            DayTotal.day > ends[0] - timedelta(days=7), DayTotal.day <= as_of)
    else:
        q = select(UnitDay.day, func.sum(UnitDay.posts)).where(
            UnitDay.day > ends[0] - timedelta(days=7), UnitDay.day <= as_of,
            in_units(UnitDay.unit_id, units)).group_by(UnitDay.day)
    posts_by_day = {day: int(n) for day, n in db.session.execute(q)}
    out = []
    for i, t in enumerate(ends):
        dormant, banded = counted[i]
        f = filings[i]
        done, on_time, overdue = f["filed"] + f["late"], f["filed"], f["overdue"]
        out.append({"week_end": t.isoformat(), "dormant": dormant, "warning": banded - dormant,
                    "filing_rate": _rate(done, done + overdue),
                    "on_time_rate": _rate(on_time, done + overdue),
                    "posts": sum(n for day, n in posts_by_day.items()
                                 if t - timedelta(days=7) < day <= t)})
    return out
