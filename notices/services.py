"""Public notices (rule 6): opening, amending, withdrawing, completing deregistrations; and the
registry as the public may see it (lookup, verify, open data)."""
import logging
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import case, func, or_, select

from govmedia import audit
from govmedia.auth import require_roles, require_unit_access, visible_unit_ids
from govmedia.errors import Invalid, NotFound, RuleConflict
from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.types import today_shanghai, utcnow

from .models import CHECKLIST_PLATFORMS, TAKEDOWN_KINDS, Notice, NoticeAmendment, TakedownItem

log = logging.getLogger(__name__)

NOTICE_WORKING_DAYS = 15
PLATFORM_NAMES = {"wechat": "微信公众号", "weibo": "微博", "douyin": "抖音", "kuaishou": "快手",
                  "toutiao": "今日头条", "bilibili": "哔哩哔哩", "xiaohongshu": "小红书",
                  "app": "移动客户端", "miniprogram": "小程序", "other": "其他平台"}
REASON_TEXT = {"unit_abolished": "主办单位已撤销", "merged": "主办单位机构合并",
               "cannot_maintain": "主办单位无力维护"}
MAX_TEXT = 5000


# --- the notice period and the one-month warning ---------------------------------------------

def notice_period(starts_on: date, calendar=None) -> tuple[date, bool]:
    """Rule 6: from the day it appears through the 15th working day after it."""
    return (calendar or load_calendar()).add_workdays(starts_on, NOTICE_WORKING_DAYS)


def completes_on(notice: Notice) -> date:
    """A deregistering account becomes deregistered the day after its notice ends."""
    return notice.ends_on + timedelta(days=1)


def one_month_after(day: date) -> date:
    """Civil Code §201–202: the same-numbered day of the next month, or that month's last day."""
    return day + relativedelta(months=1)


def completion_warning(notice: Notice) -> dict | None:
    if notice.kind != "deregister" or notice.decided_on is None:
        return None
    limit = one_month_after(notice.decided_on)
    done = completes_on(notice)
    if done <= limit:
        return None
    return {"code": "completion_after_one_month", "completes_on": done.isoformat(),
            "limit": limit.isoformat(),
            "message": f"注销将于 {done.isoformat()} 完成，晚于决定之日起一个月（{limit.isoformat()}）"
                       f" (completion falls later than one month after the decision)"}


# --- opening ---------------------------------------------------------------------------------

def draft_text(kind: str, account, before: dict, reason: str, starts_on: date, ends_on: date,
               details=None) -> str:
    """The product's draft; the sponsor may amend it (every amendment is kept)."""
    platform = PLATFORM_NAMES.get(account.platform, account.platform)
    unit_name = account.unit.name
    name, handle = before["name"], before["handle"]
    category = getattr(details, "reason_category", None)
    successor = getattr(details, "successor", None)
    contact = getattr(details, "contact", None) or account.unit.office
    if kind == "deregister":
        lines = [f"关于注销政务新媒体账号“{name}”的公告",
                 f"{unit_name}主办的{platform}账号“{name}”（账号ID：{handle}）将予以注销。"]
    elif kind == "close":
        lines = [f"关于关停政务新媒体账号“{name}”的公告",
                 (f"{unit_name}主办的{platform}账号“{name}”（账号ID：{handle}）自即日起关停，"
                  f"不再更新。")]
    else:
        changed = []
        if before["name"] != account.name:
            changed.append(f"名称由“{before['name']}”变更为“{account.name}”")
        if before["handle"] != account.handle:
            changed.append(f"账号ID由“{before['handle']}”变更为“{account.handle}”")
        if before["unit_id"] != account.unit_id:
            changed.append(f"主办单位变更为“{unit_name}”")
        lines = [f"关于政务新媒体账号“{name}”变更的公告",
                 f"{platform}账号“{name}”（账号ID：{handle}）" + "，".join(changed) + "。"]
    if category:
        lines.append(f"原因：{REASON_TEXT[category]}" + (f"。{reason}" if reason else "。"))
    elif reason:
        lines.append(f"原因：{reason}")
    if successor:
        lines.append(f"原有内容和服务迁移至：{successor}")
    if contact:
        lines.append(f"联系部门：{contact}")
    lines.append(f"公示期：{starts_on.isoformat()} 至 {ends_on.isoformat()}。")
    return "\n".join(lines)


def open_notice(account, event, before: dict, *, details=None, actor=None,
                today: date | None = None) -> Notice:
    """Never backdated: the notice starts on the day it appears (`today`), whatever the event's
    date; `today` is injectable for tests of the period across holidays."""
    starts_on = today or today_shanghai()
    ends_on, provisional = notice_period(starts_on)
    db.session.flush()
    db.session.refresh(account, ["unit"])
    takedown = list(getattr(details, "takedown", None) or [])
    if takedown and account.platform not in CHECKLIST_PLATFORMS:
        raise Invalid("下架清单仅适用于移动客户端和小程序 (a take-down checklist is for apps and "
                      "mini programs only)", fields={"takedown": "only for app and miniprogram"})
    notice = Notice(kind=event.kind, account_id=account.id, event_id=event.id,
                    unit_name=account.unit.name, account_name=before["name"],
                    platform=account.platform, handle=before["handle"], starts_on=starts_on,
                    ends_on=ends_on, provisional=provisional,
                    text=draft_text(event.kind, account, before, event.reason, starts_on,
                                    ends_on, details),
                    decided_on=event.event_date,
                    reason_category=getattr(details, "reason_category", None),
                    successor=getattr(details, "successor", None) or None,
                    contact=getattr(details, "contact", None) or account.unit.office,
                    internal_note=getattr(details, "internal_note", None) or None,
                    prior_status=before.get("status"))
    db.session.add(notice)
    for item in takedown:
        db.session.add(TakedownItem(account_id=account.id, kind=item.kind, label=item.label,
                                    created_by_id=getattr(actor, "id", None)))
    db.session.flush()
    audit.record("notice.open", "notice", notice.id,
                 after={"kind": notice.kind, "account_id": account.id,
                        "starts_on": starts_on, "ends_on": ends_on, "text": notice.text,
                        "takedown": [[i.kind, i.label] for i in takedown]},
                 unit_id=account.unit_id, user=actor)
    return notice


# --- what people see of a notice ---------------------------------------------------------------

def notice_state(notice: Notice, today: date) -> str:
    if notice.withdrawn_at is not None:
        return "withdrawn"
    if today < notice.starts_on:
        return "upcoming"
    return "running" if today <= notice.ends_on else "ended"


def days_remaining(notice: Notice, today: date, calendar=None) -> dict:
    """Working and calendar days left, today included, while the notice runs."""
    if notice.withdrawn_at is not None or today > notice.ends_on:
        return {"working_days": 0, "calendar_days": 0}
    start = max(today, notice.starts_on)
    calendar = calendar or load_calendar()
    return {"working_days": calendar.workdays_between(start - timedelta(days=1), notice.ends_on),
            "calendar_days": (notice.ends_on - start).days + 1}


def notice_json(notice: Notice, today: date | None = None) -> dict:
    """The public shape (API.md), never internal notes or withdrawal reasons."""
    today = today or today_shanghai()
    data = {"id": notice.id, "kind": notice.kind,
            "account": {"name": notice.account_name, "platform": notice.platform,
                        "handle": notice.handle},
            "unit_name": notice.unit_name, "starts_on": notice.starts_on.isoformat(),
            "ends_on": notice.ends_on.isoformat(), "provisional": notice.provisional,
            "text": notice.text, "state": notice_state(notice, today),
            "current": notice_state(notice, today) == "running",
            "withdrawn": notice.withdrawn_at is not None,
            "reason_category": notice.reason_category, "successor": notice.successor,
            "amended": bool(notice.amendments)}
    if notice.kind == "deregister":
        data["completes_on"] = completes_on(notice).isoformat()
        data["completed"] = notice.completed_at is not None
    return data


def notice_admin_json(notice: Notice, today: date, calendar=None) -> dict:
    """What sponsors and supervisors see: days remaining, warnings, the record of changes."""
    account = notice.account
    data = notice_json(notice, today) | {
        "account_id": notice.account_id, "event_id": notice.event_id,
        "unit_id": account.unit_id, "decided_on": iso(notice.decided_on),
        "contact": notice.contact, "internal_note": notice.internal_note,
        "days_remaining": days_remaining(notice, today, calendar),
        "warning": completion_warning(notice),
        "withdrawn_at": iso(notice.withdrawn_at), "withdrawn_reason": notice.withdrawn_reason,
        "completed_at": iso(notice.completed_at),
        "amendments": [{"id": a.id, "text_before": a.text_before, "text_after": a.text_after,
                        "note": a.note, "created_at": iso(a.created_at)}
                       for a in notice.amendments]}
    if notice.kind == "deregister":
        data["blocked"] = completion_blocked(notice)
    return data


def iso(value):
    return value.isoformat() if value is not None else None


# --- sponsors amend, supervisors withdraw ------------------------------------------------------

def notices_query(actor):
    query = select(Notice)
    units = visible_unit_ids(actor)
    if units is not None:
        from registry.models import Account

        query = query.join(Account, Account.id == Notice.account_id).where(
            Account.unit_id.in_(units))
    return query


def get_notice(actor, notice_id: int) -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        raise NotFound("公告不存在 (notice not found)")
    require_unit_access(actor, notice.account.unit_id)
    return notice


def amend_notice(actor, notice: Notice, text: str, note: str | None = None,
                 today: date | None = None) -> NoticeAmendment:
    require_roles(actor, "sponsor")
    require_unit_access(actor, notice.account.unit_id)
    today = today or today_shanghai()
    if notice.withdrawn_at is not None:
        raise RuleConflict("公告已撤回，不能修改 (the notice was withdrawn)", code="notice_withdrawn")
    if today > notice.ends_on:
        raise RuleConflict("公示期已结束，不能修改 (the notice period has ended)",
                           code="notice_ended")
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise Invalid(f"公告正文须为 1 到 {MAX_TEXT} 个字符 (text: 1 to {MAX_TEXT} characters)",
                      fields={"text": f"1 to {MAX_TEXT} characters"})
    if text == notice.text:
        raise Invalid("正文没有变化 (the text is unchanged)", fields={"text": "unchanged"})
    amendment = NoticeAmendment(notice_id=notice.id, text_before=notice.text, text_after=text,
                                note=(note or "").strip() or None, created_by_id=actor.id)
    db.session.add(amendment)
    notice.text = text
    db.session.flush()
    audit.record("notice.amend", "notice", notice.id, before={"text": amendment.text_before},
                 after={"text": text, "note": amendment.note}, unit_id=notice.account.unit_id,
                 user=actor)
    return amendment


def withdraw_notice(actor, notice: Notice, reason: str) -> Notice:
    """A supervisor withdraws a notice with a reason; it stays in the record, marked withdrawn.
    A deregistration whose notice is withdrawn is called off: the account returns to the status
    it had before."""
    from registry.services import check_one_per_platform

    require_roles(actor, "supervisor")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise Invalid("撤回须说明理由 (a reason is required)", fields={"reason": "required"})
    if notice.withdrawn_at is not None:
        raise RuleConflict("公告已撤回 (the notice was already withdrawn)", code="notice_withdrawn")
    if notice.completed_at is not None:
        raise RuleConflict("注销已完成，不能撤回公告 (the deregistration is already complete)",
                           code="already_completed")
    account = notice.account
    before = {"withdrawn_at": None, "account_status": account.status}
    if notice.kind == "deregister" and account.status == "deregistering":
        restored = notice.prior_status or "active"
        check_one_per_platform(account.unit_id, account.platform, exclude_id=account.id)
        account.status = restored
    notice.withdrawn_at = utcnow()
    notice.withdrawn_reason = reason
    notice.withdrawn_by_id = actor.id
    db.session.flush()
    audit.record("notice.withdraw", "notice", notice.id, before=before,
                 after={"withdrawn_at": notice.withdrawn_at, "reason": reason,
                        "account_status": account.status}, unit_id=account.unit_id, user=actor)
    return notice


# --- the take-down checklist of apps and mini programs ------------------------------------------

def checklist(account_id: int) -> list[TakedownItem]:
    return db.session.scalars(select(TakedownItem).where(TakedownItem.account_id == account_id)
                              .order_by(TakedownItem.id)).all()


def checklist_complete(items: list[TakedownItem]) -> bool:
    return bool(items) and all(item.done_on is not None for item in items)


def completion_blocked(notice: Notice) -> dict | None:
    """Why a deregistration cannot complete by itself (apps and mini programs only)."""
    if notice.platform not in CHECKLIST_PLATFORMS:
        return None
    items = checklist(notice.account_id)
    if not items:
        return {"code": "checklist_empty",
                "message": "尚未列出下架清单（各应用商店、门户网站各处链接） "
                           "(list every app store and portal link first)"}
    open_items = [item.label for item in items if item.done_on is None]
    if open_items:
        return {"code": "checklist_incomplete",
                "message": "尚未完成下架：" + "、".join(open_items)
                           + " (not yet taken down everywhere)"}
    return None


def takedown_json(item: TakedownItem) -> dict:
    return {"id": item.id, "account_id": item.account_id, "kind": item.kind,
            "label": item.label, "done_on": iso(item.done_on)}


def add_takedown_item(actor, account, kind: str, label: str) -> TakedownItem:
    require_roles(actor, "sponsor")
    require_unit_access(actor, account.unit_id)
    if account.platform not in CHECKLIST_PLATFORMS:
        raise Invalid("下架清单仅适用于移动客户端和小程序 (a take-down checklist is for apps and "
                      "mini programs only)", fields={"platform": "only for app and miniprogram"})
    if kind not in TAKEDOWN_KINDS:
        raise Invalid("类型无效 (kind: store or link)", fields={"kind": "store or link"})
    label = (label or "").strip()
    if not label or len(label) > 500:
        raise Invalid("请填写应用商店名称或链接 (label: 1 to 500 characters)",
                      fields={"label": "1 to 500 characters"})
    item = TakedownItem(account_id=account.id, kind=kind, label=label, created_by_id=actor.id)
    db.session.add(item)
    db.session.flush()
    audit.record("takedown.add", "account", account.id, after={"kind": kind, "label": label},
                 unit_id=account.unit_id, user=actor)
    return item


def tick_takedown_item(actor, item: TakedownItem, done_on: date,
                       today: date | None = None) -> TakedownItem:
    from registry.models import Account

    account = db.session.get(Account, item.account_id)
    require_roles(actor, "sponsor")
    require_unit_access(actor, account.unit_id)
    if done_on > (today or today_shanghai()):
        raise Invalid("下架日期不能晚于今天 (done_on is in the future)",
                      fields={"done_on": "in the future"})
    before = {"done_on": item.done_on}
    item.done_on = done_on
    item.done_by_id = actor.id
    db.session.flush()
    audit.record("takedown.done", "account", account.id, before=before,
                 after={"label": item.label, "done_on": done_on}, unit_id=account.unit_id,
                 user=actor)
    return item


def get_takedown_item(actor, item_id: int) -> TakedownItem:
    item = db.session.get(TakedownItem, item_id)
    if item is None:
        raise NotFound("清单项不存在 (checklist item not found)")
    from registry.models import Account

    require_unit_access(actor, db.session.get(Account, item.account_id).unit_id)
    return item


# --- the scheduled completion ------------------------------------------------------------------

def complete_deregistrations(today: date | None = None) -> dict:
    """Deregistering accounts whose notice has ended become deregistered (idempotent).

    The deregistration's filing is the one its event created: nothing new is filed. Apps and mini
    programs wait until every item of their take-down checklist is ticked.
    """
    from registry.models import Account, Filing

    today = today or today_shanghai()
    due = db.session.scalars(
        select(Notice).join(Account, Account.id == Notice.account_id).where(
            Notice.kind == "deregister", Notice.withdrawn_at.is_(None),
            Notice.completed_at.is_(None), Notice.ends_on < today,
            Account.status == "deregistering").order_by(Notice.id)).all()
    done, skipped = [], []
    for notice in due:
        blocked = completion_blocked(notice)
        if blocked is not None:
            skipped.append(notice.account_id)
            log.info("deregistration of account %s waits: %s", notice.account_id, blocked["code"])
            continue
        account = notice.account
        account.status = "deregistered"
        notice.completed_at = utcnow()
        filing_id = db.session.scalar(select(Filing.id).where(Filing.event_id == notice.event_id))
        db.session.flush()
        audit.record("account.deregistered", "account", account.id,
                     before={"status": "deregistering"},
                     after={"status": "deregistered", "completed_on": today,
                            "notice_id": notice.id, "filing_id": filing_id},
                     unit_id=account.unit_id)
        done.append(account.id)
    return {"completed": done, "waiting": skipped}


# --- the public registry ---------------------------------------------------------------------

def registry_version() -> str:
    """The public registry's version (notices/cache.py explains why it is correct)."""
    from .cache import registry_version as read

    return read()


def public_notices_query():
    return select(Notice).order_by(Notice.starts_on.desc(), Notice.id.desc())


def _like(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _public_columns():
    from registry.models import Account, Unit

    return (Account.id, Account.name, Account.platform, Account.handle, Account.status,
            Account.opened_on, Unit.name.label("unit_name"))


def public_row(row) -> dict:
    return {"id": row.id, "name": row.name, "platform": row.platform, "handle": row.handle,
            "unit_name": row.unit_name, "status": row.status,
            "opened_on": row.opened_on.isoformat()}


def search_accounts(q: str | None, platform: str | None, limit: int, offset: int):
    """Lookup by a part of the name, the handle or the unit's name; filter by platform."""
    from registry.models import Account, Unit

    where = []
    if platform:
        where.append(Account.platform == platform)
    q = (q or "").strip()
    if q:
        pattern = _like(q)
        # Units are few: match their names once, then accounts by unit id.
        units = select(Unit.id).where(func.lower(Unit.name).like(pattern, escape="\\"))
        where.append(or_(func.lower(Account.name).like(pattern, escape="\\"),
                         func.lower(Account.handle).like(pattern, escape="\\"),
                         Account.unit_id.in_(units.scalar_subquery())))
    base = select(*_public_columns()).join(Unit, Unit.id == Account.unit_id).where(*where)
    total = db.session.scalar(select(func.count(Account.id)).where(*where))
    exact = case((or_(Account.name == q, Account.handle == q), 0), else_=1)
    gone = case((Account.status == "deregistered", 1), else_=0)
    rows = db.session.execute(base.order_by(exact, gone, Account.name, Account.id)
                              .limit(limit).offset(offset)).all()
    return [public_row(r) for r in rows], total


def running_notice(account_id: int, today: date) -> Notice | None:
    return db.session.scalar(select(Notice).where(
        Notice.account_id == account_id, Notice.withdrawn_at.is_(None),
        Notice.starts_on <= today, Notice.ends_on >= today).order_by(Notice.id.desc()).limit(1))


def verify(platform: str, handle: str, today: date | None = None) -> dict:
    """Is this account official? Registered and not deregistered: yes (with its notice while it
    is deregistering); deregistered: no, but it was (`former`); otherwise no."""
    from registry.models import Account, Unit

    today = today or today_shanghai()
    rows = db.session.execute(
        select(*_public_columns()).join(Unit, Unit.id == Account.unit_id)
        .where(Account.platform == platform, Account.handle == handle)
        .order_by(case((Account.status == "deregistered", 1), else_=0), Account.id.desc())
    ).all()
    if not rows:
        return {"official": False}
    row = rows[0]
    account = public_row(row)
    if row.status == "deregistered":
        deregistered_on = db.session.scalar(select(Notice.completed_at).where(
            Notice.account_id == row.id, Notice.kind == "deregister",
            Notice.completed_at.is_not(None)).order_by(Notice.id.desc()).limit(1))
        account["deregistered_on"] = (deregistered_on.date().isoformat()
                                      if deregistered_on else None)
        return {"official": False, "former": account}
    notice = running_notice(row.id, today)
    if row.status == "deregistering" and notice is None:
        notice = db.session.scalar(select(Notice).where(
            Notice.account_id == row.id, Notice.kind == "deregister",
            Notice.withdrawn_at.is_(None)).order_by(Notice.id.desc()).limit(1))
    if notice is not None:
        account["notice"] = notice_json(notice, today)
    return {"official": True, "account": account}


def public_account(account_id: int, today: date | None = None) -> dict:
    """An account's public page: sponsor, status, the history of its names, its notices."""
    from registry.models import Account, AccountEvent, Unit

    today = today or today_shanghai()
    row = db.session.execute(select(*_public_columns()).join(Unit, Unit.id == Account.unit_id)
                             .where(Account.id == account_id)).first()
    if row is None:
        raise NotFound("登记库中没有此账号 (not in the registry)")
    data = public_row(row)
    events = db.session.execute(select(AccountEvent.kind, AccountEvent.event_date,
                                       AccountEvent.changes)
                                .where(AccountEvent.account_id == account_id)
                                .order_by(AccountEvent.event_date, AccountEvent.id)).all()
    unit_ids = {uid for e in events for uid in ((e.changes or {}).get("unit_id") or [])
                if uid is not None}
    names = dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids)))
                 .all()) if unit_ids else {}
    history = []
    for e in events:
        entry = {"kind": e.kind, "date": e.event_date.isoformat()}
        changes = {}
        for field, pair in (e.changes or {}).items():
            if field in ("name", "handle"):
                changes[field] = list(pair)
            elif field == "unit_id":
                changes["unit_name"] = [names.get(pair[0]), names.get(pair[1])]
        if changes:
            entry["changes"] = changes
        history.append(entry)
    data["history"] = history
    data["former_names"] = [h["changes"]["name"][0] for h in history
                            if "name" in h.get("changes", {})]
    notices = db.session.scalars(select(Notice).where(Notice.account_id == account_id)
                                 .order_by(Notice.id.desc())).all()
    data["notices"] = [notice_json(n, today) for n in notices]
    return data


def open_data_rows():
    """The registry as open data (rule 15): no contacts, credentials, staff or internal notes."""
    from registry.models import Account, AccountEvent, Unit

    former = {}
    for account_id, changes in db.session.execute(
            select(AccountEvent.account_id, AccountEvent.changes)
            .where(AccountEvent.kind == "change").order_by(AccountEvent.id)):
        if changes and "name" in changes:
            former.setdefault(account_id, []).append(changes["name"][0])
    rows = db.session.execute(select(*_public_columns()).join(Unit, Unit.id == Account.unit_id)
                              .order_by(Account.id))
    for row in rows:
        item = public_row(row)
        item["former_names"] = former.get(row.id, [])
        yield item

