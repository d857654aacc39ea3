"""The annual work report's new-media section (年度工作报表, seed 001 §42, RULES.md rule 14):
for one year and one node of the unit tree, every account with its posts and messages of the
year, opened and closed in the year, with totals per unit and per platform. Computed live for
the supervisors who reach the node; issued once, and then frozen (rows, totals and XLSX kept
as they were) and shown on the public page.

Definitions (also in docs/SUPERVISION.md):
- an account is in the report when it was opened by the report's day and was not being
  deregistered before the year began (its deregistration decided before 1 January);
- posts: the account's updates published in the year (Asia/Shanghai days), up to the
  report's day;
- original (原创): the posts published through govmedia (origin `govmedia`: drafted and
  reviewed three times here). The product does not record whether a post found on the platform
  or recorded by staff was the unit's own or a repost, so those count as posts, not as
  original;
- messages received: the messages from the public that reached the account's inbox in the
  year; answered: those of them replied to by the report's day. Only platforms with an inbox
  (interaction: WeChat and Weibo) have these figures; the others show none;
- opened / closed: the account's opening date, and its last closing (关停) or deregistration
  (注销) decision, when they fall in the year.
"""
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from govmedia import audit
from govmedia.auth import (reaches_all_units, require_all_units, require_roles,
                           require_unit_access, scope_query, subtree_ids)
from govmedia.errors import Invalid, NotFound, RuleConflict
from govmedia.extensions import db
from govmedia.types import ascii_int, today_shanghai

from ..models import Unit
from . import annual_rows as rows_sql
from . import export
from .export import Column, Sheet
from .models import AnnualReport
from .pending import apply_pending
from .reports import PLATFORM_LABELS, STATUS_LABELS

COUNTS = ("posts", "original", "messages_received", "messages_answered")
ACCOUNT_COLUMNS = (
    ("unit_name", "主办单位", 28), ("name", "账号名称", 24), ("platform", "平台", 12),
    ("status", "状态", 8), ("opened_on", "本年开设日期", 12), ("closed_on", "本年关停/注销日期", 14),
    ("posts", "本年发布信息数", 11), ("original", "其中原创（经本系统三审发布）", 14),
    ("messages_received", "收到网民留言数", 11), ("messages_answered", "已答复留言数", 11),
)
TOTAL_COLUMNS = (
    ("accounts", "账号数", 9), ("opened", "本年开设", 9), ("closed", "本年关停/注销", 11),
    ("posts", "本年发布信息数", 11), ("original", "其中原创", 10),
    ("messages_received", "收到网民留言数", 11), ("messages_answered", "已答复留言数", 11),
)
DATE_KEYS = {"opened_on", "closed_on"}


def year_bounds(year: int) -> tuple[date, date]:
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise Invalid(_("Choose a year from 2000 to 2100"), fields={"year": "2000 to 2100"})
    return date(year, 1, 1), date(year, 12, 31)


def default_node(actor) -> int | None:
    """The node a reader starts at: its own unit, or every unit for one held at none."""
    return None if reaches_all_units(actor) else actor.unit_id


def node_of(raw: str | None, actor) -> int | None:
    """The node a page was asked for (a unit id typed or chosen), else the reader's own."""
    value = (raw or "").strip()
    return ascii_int(value) if value else default_node(actor)


def require_node(actor, unit_id: int | None) -> None:
    """The actor reaches the node: the whole tree (None) only for those who reach it all; an
    unknown unit is 404."""
    if unit_id is None:
        require_all_units(actor)
    else:
        require_unit_access(actor, unit_id)
        if db.session.get(Unit, unit_id) is None:
            raise NotFound(_("Unit not found"))


def require_reader(actor, unit_id: int | None) -> None:
    """Supervisors (and admins) who reach the node; the whole tree for those who reach it all."""
    require_roles(actor, "supervisor")
    require_node(actor, unit_id)


def node_name(unit_id: int | None) -> str:
    """The node as the (Chinese) report documents name it."""
    return db.session.get(Unit, unit_id).name if unit_id is not None else "全部单位"


def compute(unit_id: int | None, year: int, as_of: date | None = None, *,
            limit: int | None = None, offset: int = 0) -> dict:
    """The report of `year` for the subtree of `unit_id` (None: every unit), as of a day.

    `rows`: every account (None: the XLSX, the issued report), or the `limit` accounts from
    `offset` in the report's order (a page); `total`: how many accounts the report has. The
    unit, platform and grand totals are always the whole report's, summed by the database.
    """
    start, end = year_bounds(year)
    as_of = min(as_of or today_shanghai(), end)
    if as_of < start:
        raise Invalid(_("The year has not begun"), fields={"year": "in the future"})
    apply_pending()   # the yearly post counts include every post recorded so far
    period = rows_sql.Period(year, as_of, None if unit_id is None else subtree_ids(unit_id))
    by_unit, by_platform, grand = rows_sql.totals(period)
    if limit is None:
        found = rows_sql.all_rows(period)
    else:
        found = rows_sql.page_rows(period, rows_sql.page_ids(period, limit, offset))
    rows = [_row(r, start) for r in found]
    return {"year": year, "unit_id": unit_id, "node_name": node_name(unit_id),
            "start": start.isoformat(), "end": end.isoformat(), "as_of": as_of.isoformat(),
            "complete": as_of == end, "rows": rows, "total": grand.accounts,
            "limit": limit, "offset": offset if limit is not None else 0,
            "units": [_total(r, r.unit_id, r.unit_name) for r in by_unit],
            "platforms": [_total(r, r.platform, PLATFORM_LABELS.get(r.platform, r.platform))
                          for r in by_platform],
            "totals": _total(grand, "all", "合计")}


def _row(account, start: date) -> dict:
    return {
        "unit_id": account.unit_id, "unit_name": account.unit_name,
        "account_id": account.account_id, "name": account.name,
        "platform_code": account.platform,
        "platform": PLATFORM_LABELS.get(account.platform, account.platform),
        "status": STATUS_LABELS.get(account.status, account.status),
        "status_code": account.status,
        "opened_on": account.opened_on.isoformat() if account.opened_on >= start else "",
        "closed_on": account.closed_on.isoformat() if account.closed_on else "",
        "posts": account.posts, "original": account.original,
        "messages_received": account.messages_received,
        "messages_answered": account.messages_answered}


def _total(row, key, label) -> dict:
    return {"key": key, "label": label, "accounts": row.accounts, "opened": row.opened,
            "closed": row.closed, **{name: int(getattr(row, name)) for name in COUNTS}}


def title_of(data: dict) -> str:
    return f"{data['node_name']}{data['year']}年度政务新媒体工作报表"


def _columns(spec) -> list[Column]:
    return [Column(key, header, width, key in DATE_KEYS) for key, header, width in spec]


def to_xlsx(data: dict) -> bytes:
    """The usual layout: a title row, the period row, the headings, then real dates and
    numbers; the accounts with a total row, then the totals per unit and per platform."""
    period = f"统计期间：{data['start']} 至 {data['end']}（截至 {data['as_of']}）"
    totals = data["totals"]
    total_row = {"unit_name": "合计", "name": f"{totals['accounts']} 个账号",
                 **{name: totals[name] for name in COUNTS}}
    by_unit = [("label", "主办单位", 28), *TOTAL_COLUMNS]
    by_platform = [("label", "平台", 14), *TOTAL_COLUMNS]
    return export.to_xlsx(title_of(data), period, [
        Sheet("新媒体账号", _columns(ACCOUNT_COLUMNS), [*data["rows"], total_row]),
        Sheet("按单位合计", _columns(by_unit), [*data["units"], totals]),
        Sheet("按平台合计", _columns(by_platform), [*data["platforms"], totals])],
        footer="第 &P 页，共 &N 页")


# --- issued reports --------------------------------------------------------------------------

def issue(actor, year: int, unit_id: int | None) -> AnnualReport:
    """Freeze the report of a finished year for a node and publish it (once per year and node)."""
    require_reader(actor, unit_id)
    start, end = year_bounds(year)
    if today_shanghai() <= end:
        raise Invalid(_("A year's report is issued once the year is over"),
                      fields={"year": "not over yet"})
    if db.session.scalar(select(AnnualReport.id).where(
            AnnualReport.year == year, AnnualReport.unit_id.is_(None) if unit_id is None
            else AnnualReport.unit_id == unit_id)) is not None:
        raise RuleConflict(_("This year's report for this unit has been issued already"),
                           code="already_issued")
    data = compute(unit_id, year, end)
    report = AnnualReport(year=year, unit_id=unit_id, title=title_of(data), data=data,
                          xlsx=to_xlsx(data), issued_by_id=actor.id)
    db.session.add(report)
    db.session.flush()
    audit.record("annual_report.issue", "annual_report", report.id,
                 after={"year": year, "unit_id": unit_id, "accounts": len(data["rows"]),
                        "posts": data["totals"]["posts"]}, unit_id=unit_id, user=actor)
    return report


def issued_query(actor, unit_id: int | None = None):
    """The issued reports of nodes the reader reaches (or of `unit_id`'s subtree), newest year
    first."""
    require_roles(actor, "supervisor")
    query = select(AnnualReport).order_by(AnnualReport.year.desc(), AnnualReport.id.desc())
    if unit_id is not None:
        require_reader(actor, unit_id)
        return query.where(AnnualReport.unit_id.in_(subtree_ids(unit_id)))
    return scope_query(query, AnnualReport.unit_id, actor)


def get_issued(actor, report_id: int) -> AnnualReport:
    report = db.session.get(AnnualReport, report_id)
    if report is None:
        raise NotFound(_("Report not found"))
    require_reader(actor, report.unit_id)
    return report


# The public side: issued reports only, as they were issued.
def public_reports() -> list[AnnualReport]:
    return list(db.session.scalars(select(AnnualReport).order_by(
        AnnualReport.year.desc(), AnnualReport.title, AnnualReport.id)))


def public_report(report_id: int) -> AnnualReport:
    report = db.session.get(AnnualReport, report_id)
    if report is None:
        raise NotFound(_("Report not found"))
    return report


def filename(report: AnnualReport) -> str:
    return f"政务新媒体年度工作报表_{report.year}_{report.id}.xlsx"
