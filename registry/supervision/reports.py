"""The quarterly inspection report (rule 7): computed once, kept as generated (JSON, XLSX, CSV)."""
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from govmedia import audit
from govmedia.auth import require_all_units, require_roles
from govmedia.errors import Invalid, NotFound
from govmedia.extensions import db
from govmedia.models import User
from govmedia.holidays import load_calendar
from govmedia.profiles import profile_for
from govmedia.types import SHANGHAI, shanghai_date, today_shanghai
from interaction.overdue import overdue_in_period

from ..models import Account, Filing, Post, Unit
from . import export
from .duplicates import duplicates
from .export import Column, Sheet
from .models import QuarterlyReport, Rectification, SpotCheck

PLATFORM_LABELS = {"wechat": "微信公众号", "weibo": "微博", "douyin": "抖音", "kuaishou": "快手",
                   "toutiao": "今日头条", "bilibili": "哔哩哔哩", "xiaohongshu": "小红书",
                   "channels": "微信视频号", "app": "移动客户端", "miniprogram": "小程序", "other": "其他"}
STATUS_LABELS = {"active": "正常", "closed": "关停", "deregistering": "注销中", "deregistered": "已注销"}
COLUMNS = (
    ("unit_name", "主办单位", 28), ("account_id", "账号编号", 9), ("platform", "平台", 12),
    ("name", "账号名称", 22), ("status", "状态", 8), ("updates", "本季度更新次数", 10),
    ("longest_gap_days", "最长未更新间隔（天）", 12), ("last_update_on", "最近更新日期", 12),
    ("filings_due", "应备案事项", 9), ("filings_on_time", "按时备案", 9),
    ("filings_late", "逾期后补备", 9), ("filings_overdue", "逾期未备案", 9),
    ("overdue_messages", "超过答复期限的留言", 12), ("overdue_unanswered", "其中仍未答复", 10),
    ("duplicate", "重复/疑似重复", 16), ("findings", "发现的问题", 48),
)
RECT_COLUMNS = (("unit_name", "主办单位", 28), ("id", "整改单编号", 10), ("account_id", "账号编号", 9),
                ("finding", "问题", 40), ("issued_on", "下达日期", 12), ("deadline", "整改期限", 12),
                ("status", "状态", 10), ("overdue", "是否逾期", 9), ("answer", "整改情况", 40))
RECT_STATUS = {"open": "待整改", "answered": "已答复", "closed": "已关闭"}
SPOT_COLUMNS = (("node_name", "抽查范围", 28), ("drawn_by", "抽取人", 14),
                ("drawn_at", "抽取时间", 18), ("share", "抽取比例", 9),
                ("population", "在用账号数", 10), ("sample", "抽取账号数", 10),
                ("seed", "随机种子", 22))


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    if quarter not in (1, 2, 3, 4) or not 2000 <= year <= 2100:
        raise Invalid(_("Choose a year from 2000 to 2100 and a quarter from 1 to 4"),
                      fields={"quarter": "1 to 4", "year": "2000 to 2100"})
    start = date(year, 3 * quarter - 2, 1)
    end = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) \
        - timedelta(days=1)
    return start, end


def _instant(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def compute(year: int, quarter: int, as_of: date | None = None) -> dict:
    start, end = quarter_bounds(year, quarter)
    as_of = min(as_of or today_shanghai(), end)
    if as_of < start:
        raise Invalid(_("The quarter has not begun"), fields={"quarter": "in the future"})
    lo, hi = _instant(start), _instant(as_of + timedelta(days=1))
    accounts = db.session.execute(
        select(Account, Unit.name).join(Unit, Unit.id == Account.unit_id)
        .where(Account.opened_on <= as_of, Account.status != "deregistered")
        .order_by(Unit.name, Unit.id, Account.platform, Account.id)).all()
    days = defaultdict(set)
    updates = defaultdict(int)
    for aid, at in db.session.execute(select(Post.account_id, Post.published_at).where(
            Post.published_at >= lo, Post.published_at < hi)):
        days[aid].add(shanghai_date(at))
        updates[aid] += 1
    before = dict(db.session.execute(select(Post.account_id, func.max(Post.published_at))
                                     .where(Post.published_at < lo).group_by(Post.account_id)).all())
    filings = defaultdict(lambda: {"due": 0, "filed": 0, "late": 0, "overdue": 0, "pending": 0})
    for filing in db.session.scalars(select(Filing).where(Filing.event_date >= start,
                                                          Filing.event_date <= as_of)):
        status = filing.status_on(as_of)
        row = filings[filing.account_id]
        row[status] += 1
        if status != "pending":
            row["due"] += 1
    dup = duplicates(_Everyone())
    in_group = {a: "一平台多账号" + ("（已批准例外）" if g["exception"] else "")
                for g in dup["items"] for a in g["account_ids"]}
    reason_text = {"similar_name": "名称相近", "same_verified_subject": "同一认证主体",
                   "low_use": "关注和阅读偏低，建议清理整合"}
    similar = defaultdict(list)
    names = {account.id: account.name for account, _unit in accounts}
    for entry in dup["similar"]:
        for a in entry["account_ids"]:
            # the other accounts by name, as a reader knows them, not by an internal id
            others = [f"“{names.get(x, x)}”" for x in entry["account_ids"] if x != a]
            text = reason_text[entry["reason"]] + (f"（与 {'、'.join(others)}）"
                                                   if others and entry["reason"] != "low_use" else "")
            similar[a].append(text)
    messages = overdue_in_period(start, as_of)   # issue 14: messages from the public
    orders = db.session.scalars(select(Rectification).where(
        Rectification.issued_on <= as_of,
        (Rectification.closed_on.is_(None)) | (Rectification.closed_on >= start))
        .order_by(Rectification.unit_id, Rectification.id)).all()

    rows = []
    calendar = load_calendar()
    for account, unit_name in accounts:
        baseline = [d for d in (account.opened_on, account.reopened_on) if d and d <= as_of]
        if account.id in before:
            baseline.append(shanghai_date(before[account.id]))
        # Intervals between consecutive updates, counted within the quarter (a stretch that
        # began before it counts from its first day: "this quarter" never exceeds 92 days);
        # for an active account the stretch since its last update runs to the report's day.
        points = sorted(days[account.id] | ({max(baseline)} if baseline else set()))
        marks = points + ([as_of] if account.status == "active" and points else [])
        longest = max([(b - max(a, start)).days for a, b in zip(marks, marks[1:])], default=0)
        last = max(points) if points else None
        f = filings[account.id]
        findings = []
        profile = profile_for(account.unit_id, as_of)
        window = (f"{profile.update_window} 个工作日" if profile.window_unit == "workdays"
                  else f"{profile.update_window} 天")
        if account.status == "active" and last is not None and \
                profile.band(last, as_of, calendar) == "dormant":
            findings.append(f"超过 {window}未更新（{(as_of - last).days} 天）")
        if any(profile.band(max(a, start), b, calendar) == "dormant"
               for a, b in zip(marks, marks[1:])):
            findings.append(f"本季度最长 {longest} 天未更新")
        if f["overdue"]:
            findings.append(f"{f['overdue']} 项备案逾期未办")
        if f["late"]:
            findings.append(f"{f['late']} 项备案逾期后补办")
        m = messages.get(account.id, {"overdue": 0, "unanswered": 0})
        if m["overdue"]:
            findings.append(f"{m['overdue']} 条网民留言超过答复期限"
                            + (f"（{m['unanswered']} 条仍未答复）" if m["unanswered"] else ""))
        for flag, text in (("missing_office", "未登记管理机构"), ("missing_staff", "未登记管理人员"),
                           ("missing_app_filing", "未登记网信备案号")):
            if flag in account.flags:
                findings.append(text)
        duplicate = "；".join(([in_group[account.id]] if account.id in in_group else [])
                             + similar.get(account.id, []))
        rows.append({"unit_id": account.unit_id, "unit_name": unit_name, "account_id": account.id,
                     "platform": PLATFORM_LABELS.get(account.platform, account.platform),
                     "name": account.name, "status": STATUS_LABELS.get(account.status),
                     "updates": updates[account.id], "longest_gap_days": longest,
                     "last_update_on": last.isoformat() if last else "",
                     "filings_due": f["due"], "filings_on_time": f["filed"],
                     "filings_late": f["late"], "filings_overdue": f["overdue"],
                     "overdue_messages": m["overdue"], "overdue_unanswered": m["unanswered"],
                     "duplicate": duplicate, "findings": "；".join(findings)})
    unit_names = dict(db.session.execute(select(Unit.id, Unit.name)).all())
    rect = [{"unit_id": o.unit_id, "unit_name": unit_names.get(o.unit_id, ""), "id": o.id,
             "account_id": o.account_id or "", "finding": o.finding,
             "issued_on": o.issued_on.isoformat(), "deadline": o.deadline.isoformat(),
             "status": RECT_STATUS[o.status], "overdue": "逾期" if o.overdue_on(as_of) else "",
             "answer": o.answer or ""} for o in orders]
    spot_checks = spot_check_lines(year, quarter)
    due = sum(r["filings_due"] for r in rows)
    done = sum(r["filings_on_time"] + r["filings_late"] for r in rows)
    return {"year": year, "quarter": quarter, "start": start.isoformat(), "end": end.isoformat(),
            "as_of": as_of.isoformat(), "rows": rows, "rectifications": rect,
            "spot_checks": spot_checks,
            "totals": {"accounts": len(rows), "updates": sum(r["updates"] for r in rows),
                       "filing_rate": round(done / due, 4) if due else None,
                       "accounts_with_findings": sum(1 for r in rows if r["findings"]),
                       "overdue_messages": sum(r["overdue_messages"] for r in rows),
                       "overdue_rectifications": sum(1 for r in rect if r["overdue"])}}


def spot_check_lines(year: int, quarter: int) -> list[dict]:
    """Who drew each node's spot-check sample of the quarter, and when (spotcheck.py)."""
    lines = []
    for row, unit_name, username, display in db.session.execute(
            select(SpotCheck, Unit.name, User.username, User.display_name)
            .outerjoin(Unit, Unit.id == SpotCheck.unit_id)
            .outerjoin(User, User.id == SpotCheck.drawn_by_id)
            .where(SpotCheck.year == year, SpotCheck.quarter == quarter,
                   SpotCheck.voided_at.is_(None)).order_by(SpotCheck.id)):
        lines.append({"id": row.id, "node_name": unit_name or "全部单位",
                      "drawn_by": display or username or "",
                      "drawn_at": row.drawn_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
                      "share": export.as_percent(row.share),
                      "population": len(row.population_ids),
                      "sample": len(row.account_ids), "seed": str(row.seed)})
    return lines


class _Everyone:
    """The report covers every unit, whoever asks (only supervisors can)."""

    sees_all_units = True
    unit_id = None

    def has_role(self, *roles):
        return True


DATE_KEYS = {"last_update_on", "issued_on", "deadline"}


def _columns(spec) -> list[Column]:
    return [Column(key, header, width, key in DATE_KEYS) for key, header, width in spec]


def to_xlsx(data: dict) -> bytes:
    """The official report: a title row, the period row, then the table (real date cells)."""
    start, end = quarter_bounds(data["year"], data["quarter"])
    title = f"{data['year']}年第{data['quarter']}季度政务新媒体检查情况"
    period = f"检查期间：{start.isoformat()} 至 {end.isoformat()}（截至 {data['as_of']}）"
    return export.to_xlsx(title, period, [
        Sheet("季度检查", _columns(COLUMNS), data["rows"]),
        Sheet("整改", _columns(RECT_COLUMNS), data["rectifications"]),
        Sheet("抽查", _columns(SPOT_COLUMNS), data.get("spot_checks", []))],
        footer="第 &P 页，共 &N 页")


def to_csv(data: dict) -> bytes:
    return export.to_csv(_columns(COLUMNS), data["rows"])


def require_report_reader(actor) -> None:
    """A quarterly report covers every unit: for supervisors who reach them all."""
    require_roles(actor, "supervisor")
    require_all_units(actor)


def generate(actor, year: int, quarter: int, as_of: date | None = None) -> QuarterlyReport:
    require_report_reader(actor)
    data = compute(year, quarter, as_of)
    report = QuarterlyReport(year=year, quarter=quarter, as_of=date.fromisoformat(data["as_of"]),
                             data=data, xlsx=to_xlsx(data), csv=to_csv(data),
                             created_by_id=actor.id)
    db.session.add(report)
    db.session.flush()
    audit.record("report.generate", "supervision_report", report.id,
                 after={"year": year, "quarter": quarter, "as_of": data["as_of"],
                        "rows": len(data["rows"])}, user=actor)
    return report


def get_report(actor, report_id: int) -> QuarterlyReport:
    require_report_reader(actor)
    report = db.session.get(QuarterlyReport, report_id)
    if report is None:
        raise NotFound(_("Report not found"))
    return report


def reports_query(actor):
    """Every generated report, newest first."""
    require_report_reader(actor)
    return select(QuarterlyReport).order_by(QuarterlyReport.id.desc())


def find_report(report_id: int) -> QuarterlyReport | None:
    return db.session.get(QuarterlyReport, report_id)


def report_json(report: QuarterlyReport, with_data: bool = False) -> dict:
    body = {"id": report.id, "year": report.year, "quarter": report.quarter,
            "as_of": report.as_of.isoformat(), "created_at": report.created_at.isoformat(),
            "totals": (report.data or {}).get("totals", {})}
    if with_data:
        body["rows"] = report.data["rows"]
        body["rectifications"] = report.data["rectifications"]
    return body


def filename(report: QuarterlyReport, ext: str) -> str:
    return f"政务新媒体季度检查_{report.year}Q{report.quarter}_{report.id}.{ext}"
