"""Public notices (rule 6): a lifecycle event with its notice, amending, withdrawing, and
completing deregistrations. The public lookup is notices/lookup.py, the take-down checklist
notices/takedown.py."""
import logging
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from flask_babel import gettext as _
from sqlalchemy import select

from govmedia import audit
from govmedia.auth import get_in_unit, require_roles, require_unit_access, visible_unit_ids
from govmedia.errors import Invalid, RuleConflict
from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.profiles import profile_for
from govmedia.types import today_shanghai, utcnow
from govmedia.workdays import WorkCalendar
from registry.changes import account_changed
from registry.checks import check_one_per_platform
from registry.labels import PLATFORM_NAMES_ZH
from registry.models import Account, Filing
from registry.services import record_account_event

from .models import Notice, NoticeAmendment, TakedownItem
from .takedown import completion_blocked, iso, require_checklist_platform

log = logging.getLogger(__name__)

REASON_TEXT = {"unit_abolished": "主办单位已撤销", "merged": "主办单位机构合并",
               "cannot_maintain": "主办单位无力维护"}
MAX_TEXT = 5000


# --- the notice period and the one-month warning ---------------------------------------------

def notice_period(starts_on: date, calendar=None, unit_id: int | None = None) -> tuple[date, bool]:
    """Rule 6: from the day it appears through the 15th working day after it (the number of
    the rule profile in force for the account's unit on that day)."""
    return (calendar or load_calendar()).add_workdays(
        starts_on, profile_for(unit_id, starts_on).notice_workdays)


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
            "message": _("The deregistration completes on %(done)s, later than one month after "
                         "the decision (%(limit)s)", done=done.isoformat(),
                         limit=limit.isoformat())}


# --- opening ---------------------------------------------------------------------------------

def draft_text(kind: str, account, before: dict, reason: str, starts_on: date, ends_on: date,
               details=None) -> str:
    """The product's draft; the sponsor may amend it (every amendment is kept)."""
    platform = PLATFORM_NAMES_ZH.get(account.platform, account.platform)
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
    ends_on, provisional = notice_period(starts_on, unit_id=account.unit_id)
    db.session.flush()
    db.session.refresh(account, ["unit"])
    takedown = list(getattr(details, "takedown", None) or [])
    if takedown:
        require_checklist_platform(account, "takedown")
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


def opens_notice(data, changes: dict) -> bool:
    """Rule 6: a deregistration and a change open a notice; a closing does unless opted out."""
    return (data.kind == "deregister" or (data.kind == "change" and bool(changes))
            or (data.kind == "close" and getattr(data, "publish_notice", True)))


def record_event_with_notice(actor, account, data):
    """A lifecycle event (registry), its filing and, where rule 6 asks, its public notice:
    (event, filing, notice or None). What the API and the account page call."""
    recorded = record_account_event(actor, account, data)
    notice = None
    if opens_notice(data, recorded.changes):
        notice = open_notice(account, recorded.event, recorded.before, details=data, actor=actor)
        db.session.flush()
    return recorded.event, recorded.filing, notice


def recompute_notice_deadlines(year: int, calendar: WorkCalendar) -> int:
    """After an admin enters a year's schedule: the notice periods it can move. Registered
    with govmedia.holidays in notices.init_app."""
    # Fifteen working days never span more than two months.
    changed = 0
    for notice in db.session.scalars(select(Notice).where(
            Notice.starts_on >= date(year - 1, 11, 1), Notice.starts_on <= date(year, 12, 31))):
        ends, provisional = notice_period(notice.starts_on, calendar,
                                          unit_id=notice.account.unit_id)
        if (ends, provisional) != (notice.ends_on, notice.provisional):
            notice.ends_on, notice.provisional = ends, provisional
            changed += 1
    return changed


def account_notices(account_id: int) -> list[Notice]:
    """An account's notices, newest first (the registry's account page shows them)."""
    return db.session.scalars(select(Notice).where(Notice.account_id == account_id)
                              .order_by(Notice.id.desc())).all()


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


# --- sponsors amend, supervisors withdraw ------------------------------------------------------

def notices_query(actor):
    query = select(Notice)
    units = visible_unit_ids(actor)
    if units is not None:
        query = query.join(Account, Account.id == Notice.account_id).where(
            Account.unit_id.in_(units))
    return query


def get_notice(actor, notice_id: int) -> Notice:
    return get_in_unit(actor, Notice, notice_id, _("Notice not found"),
                       unit_of=lambda notice: notice.account.unit_id)


def amend_notice(actor, notice: Notice, text: str, note: str | None = None,
                 today: date | None = None) -> NoticeAmendment:
    require_roles(actor, "sponsor")
    require_unit_access(actor, notice.account.unit_id)
    today = today or today_shanghai()
    if notice.withdrawn_at is not None:
        raise RuleConflict(_("The notice was withdrawn"), code="notice_withdrawn")
    if today > notice.ends_on:
        raise RuleConflict(_("The notice period has ended"), code="notice_ended")
    text = (text or "").strip()
    if not text or len(text) > MAX_TEXT:
        raise Invalid(_("The notice text must be 1 to %(max)s characters", max=MAX_TEXT),
                      fields={"text": f"1 to {MAX_TEXT} characters"})
    if text == notice.text:
        raise Invalid(_("The text is unchanged"), fields={"text": "unchanged"})
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
    require_roles(actor, "supervisor")
    require_unit_access(actor, notice.account.unit_id)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise Invalid(_("A reason is required"), fields={"reason": "required"})
    if notice.withdrawn_at is not None:
        raise RuleConflict(_("The notice was already withdrawn"), code="notice_withdrawn")
    if notice.completed_at is not None:
        raise RuleConflict(_("The deregistration is already complete"),
                           code="already_completed")
    account = notice.account
    before = {"withdrawn_at": None, "account_status": account.status}
    if notice.kind == "deregister" and account.status == "deregistering":
        restored = notice.prior_status or "active"
        check_one_per_platform(account.unit_id, account.platform, exclude_id=account.id)
        account.status = restored
        account_changed(account, {"status": "deregistering"})  # supervision's figures follow
    notice.withdrawn_at = utcnow()
    notice.withdrawn_reason = reason
    notice.withdrawn_by_id = actor.id
    db.session.flush()
    audit.record("notice.withdraw", "notice", notice.id, before=before,
                 after={"withdrawn_at": notice.withdrawn_at, "reason": reason,
                        "account_status": account.status}, unit_id=account.unit_id, user=actor)
    return notice


# --- the scheduled completion ------------------------------------------------------------------

def complete_deregistrations(today: date | None = None) -> dict:
    """Deregistering accounts whose notice has ended become deregistered (idempotent).

    The deregistration's filing is the one its event created: nothing new is filed. Apps and mini
    programs wait until every item of their take-down checklist is ticked.
    """
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
        account_changed(account, {"status": "deregistering"})  # supervision's figures follow
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
