"""The inbox's rules, once: storing a message, its deadline and status, the reply window, replies.

Views, the API, the callback and the reply job all call these.
"""
from __future__ import annotations

import functools
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import String, and_, case, func, literal, or_, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert

from govmedia import audit
from govmedia.auth import get_in_unit, in_units, require_roles, require_unit_access, scope_query
from govmedia.errors import Invalid, RuleConflict
from govmedia.extensions import db
from govmedia.holidays import load_calendar
from govmedia.models import User
from govmedia.profiles import profile_for
from govmedia.queue import enqueue
from govmedia.types import SHANGHAI, shanghai_date, utcnow
from registry.models import Account

from .jobs import send_reply
from .models import Message, MessageReply
from .wechat_callback import Incoming

# WeChat accepts a customer-service message within 48 hours of the follower's last message.
REPLY_WINDOW = timedelta(hours=48)
# Accounts a platform callback is taken for: closed and deregistered ones get 404.
RECEIVING_STATUSES = ("active", "deregistering")
# WeChat's text limit is 2,048 bytes (600 CJK characters stay under it); a Weibo comment 140.
REPLY_MAX_CHARS = {"wechat": 600, "weibo": 140}


# --- receiving ---------------------------------------------------------------------------

def receiving_account(account_id: int, platform: str) -> Account | None:
    account = db.session.get(Account, account_id)
    if account is None or account.platform != platform or account.status not in RECEIVING_STATUSES:
        return None
    return account


def reply_due(received_at: datetime, unit_id: int, calendar=None) -> tuple[date, bool]:
    """The reply deadline: the rule profile's working days for the account's unit, in force
    on the day the message came in."""
    day = shanghai_date(received_at)
    return (calendar or load_calendar()).add_workdays(
        day, profile_for(unit_id, day).message_reply_workdays)


def _message_row(account: Account, incoming: Incoming, due: tuple[date, bool] | None = None
                 ) -> dict:
    due, provisional = due or reply_due(incoming.received_at, account.unit_id)
    return dict(unit_id=account.unit_id, account_id=account.id, platform=account.platform,
                platform_msg_id=incoming.msg_id, sender=incoming.sender, kind=incoming.kind,
                text=incoming.text, received_at=incoming.received_at, reply_due_on=due,
                thread_id=incoming.thread_id, due_provisional=provisional,
                created_at=utcnow())


def store_message(account: Account, incoming: Incoming) -> bool:
    """Store a message once per (account, MsgId); True when it is new. One statement, so two
    deliveries of the same message racing each other still store one."""
    statement = insert(Message).values(**_message_row(account, incoming)).on_conflict_do_nothing(
        constraint="uq_messages_platform_msg").returning(Message.id)
    return db.session.execute(statement).scalar() is not None


def store_messages(arrived: list[tuple[Account, Incoming]]) -> int:
    """Store many messages in one statement, each once per (account, MsgId), as
    `store_message` does one; returns how many were new. `account`: anything with its id,
    unit_id and platform. The callback's queue drains through this (interaction.intake)."""
    rows, seen, deadlines = [], set(), {}
    for account, incoming in arrived:
        if (account.id, incoming.msg_id) in seen:
            continue
        seen.add((account.id, incoming.msg_id))
        day = (account.unit_id, shanghai_date(incoming.received_at))
        if day not in deadlines:
            deadlines[day] = reply_due(incoming.received_at, account.unit_id)
        rows.append(_message_row(account, incoming, deadlines[day]))
    if not rows:
        return 0
    return len(db.session.execute(_insert_unnest(tuple(rows[0])),
                                  {name: [row[name] for row in rows] for name in rows[0]}).all())


@functools.cache
def _insert_unnest(names: tuple[str, ...]):
    """INSERT … SELECT FROM unnest(one array a column) … ON CONFLICT DO NOTHING: one short
    statement whatever the batch's size, so neither SQLAlchemy nor psycopg parses a 500-row
    VALUES list again for every batch (that cost more than the rest of the drain together).
    Columns and types come from the model; strings are cast without their length, so a value
    too long is refused by the column as in any insert, not cut short by the cast."""
    table, dialect = Message.__table__, postgresql.dialect()

    def array_of(column) -> str:
        if isinstance(column.type, String):
            return "VARCHAR[]"
        return f"{column.type.compile(dialect=dialect)}[]"

    arrays = ", ".join(f"CAST(:{name} AS {array_of(table.c[name])})" for name in names)
    return text(f"INSERT INTO {table.name} ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
                "ON CONFLICT ON CONSTRAINT uq_messages_platform_msg DO NOTHING RETURNING id")


# --- status and listing --------------------------------------------------------------------

def _end_of(day: date) -> datetime:
    """The first instant after `day` in Asia/Shanghai."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), SHANGHAI)


def status_clause(as_of: date):
    """open / overdue / answered as of the end of `as_of` (a reply later that day counts)."""
    answered = and_(Message.replied_at.is_not(None), Message.replied_at < _end_of(as_of))
    return case((answered, literal("answered")),
                (Message.reply_due_on < as_of, literal("overdue")), else_=literal("open"))


def message_status(message: Message, as_of: date) -> str:
    if message.replied_at is not None and message.replied_at < _end_of(as_of):
        return "answered"
    return "overdue" if message.reply_due_on < as_of else "open"


def messages_query(actor: User, *, as_of: date, account_id: int | None = None,
                   unit_id: int | None = None, status: str | None = None,
                   assignee_id: int | None = None):
    query = scope_query(select(Message), Message.unit_id, actor, unit_id)
    if account_id is not None:
        query = query.where(Message.account_id == account_id)
    if assignee_id is not None:
        query = query.where(Message.assignee_id == assignee_id)
    if status is not None:
        query = query.where(status_clause(as_of) == status)
    return query.order_by(Message.received_at.desc(), Message.id.desc())


def get_message(actor: User, message_id: int) -> Message:
    return get_in_unit(actor, Message, message_id, _("No such message"))


# --- the reply window ----------------------------------------------------------------------

def last_message_at(message: Message) -> datetime:
    """When the sender last wrote to the account: WeChat's 48 hours run from then."""
    return db.session.scalar(select(func.max(Message.received_at)).where(
        Message.account_id == message.account_id, Message.sender == message.sender))


def window_closes_at(message: Message) -> datetime | None:
    """WeChat's window; None where the platform has none (a Weibo comment can be answered
    while it exists)."""
    if message.platform != "wechat":
        return None
    return last_message_at(message) + REPLY_WINDOW


def window_open(message: Message, now: datetime | None = None) -> bool:
    closes_at = window_closes_at(message)
    return closes_at is None or (now or utcnow()) < closes_at


def window_closed_error(closes_at: datetime) -> RuleConflict:
    return RuleConflict(
        _("The reply window has closed: WeChat accepts a reply only within 48 hours of the "
          "sender's last message, and that window ended at %(closed)s. Answer the sender by "
          "another channel and record it.",
          closed=closes_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")),
        code="reply_window_closed", extra={"window_closed_at": closes_at.isoformat()})


# --- replying ------------------------------------------------------------------------------

def reply_to_message(actor: User, message: Message, text: str) -> MessageReply:
    """Queue a reply to the sender (sponsor, editor of the message's unit); the job sends it."""
    require_roles(actor, "sponsor", "editor")
    require_unit_access(actor, message.unit_id)
    text = (text or "").strip()
    limit = REPLY_MAX_CHARS.get(message.platform)
    if limit is None:
        raise RuleConflict(_("Replies are sent to WeChat messages and Weibo comments only"),
                           code="reply_not_supported")
    if not text or len(text) > limit:
        raise Invalid(_("The reply needs 1 to %(n)s characters", n=limit),
                      fields={"text": f"1 to {limit} characters"})
    closes_at = window_closes_at(message)
    if closes_at is not None and utcnow() >= closes_at:
        raise window_closed_error(closes_at)
    if message.assignee_id is None:
        message.assignee_id = actor.id
    reply = MessageReply(message_id=message.id, text=text, author_id=actor.id, status="queued")
    db.session.add(reply)
    db.session.flush()
    audit.record("message.reply", "message", message.id, after={"reply_id": reply.id},
                 unit_id=message.unit_id, user=actor)
    enqueue(send_reply, reply.id)   # held until the commit
    return reply


def unanswered_on(as_of: date, status: str):
    """Messages with `status` as of `as_of`; overdue ones through the (unit, deadline) index."""
    clause = status_clause(as_of) == status
    return and_(Message.reply_due_on < as_of, clause) if status == "overdue" else clause


def unanswered_count(unit_ids, as_of: date, status: str = "overdue") -> int:
    """For the supervision dashboard: messages overdue (or open) as of `as_of`."""
    query = select(func.count()).select_from(Message).where(unanswered_on(as_of, status))
    if unit_ids is not None:
        query = query.where(in_units(Message.unit_id, unit_ids))
    return db.session.scalar(query) or 0


def overdue_by_unit(unit_ids, as_of: date) -> dict[int, int]:
    """unit id -> messages overdue as of `as_of`, in these units (None: every unit)."""
    query = (select(Message.unit_id, func.count()).where(unanswered_on(as_of, "overdue"))
             .group_by(Message.unit_id))
    if unit_ids is not None:
        query = query.where(in_units(Message.unit_id, unit_ids))
    return dict(db.session.execute(query).all())


def recompute_reply_deadlines(year: int, calendar) -> int:
    """After a year's holidays are entered: unanswered messages received that year or the
    year before (whose deadlines may fall into it) get their deadline again."""
    changed = 0
    for message in db.session.scalars(select(Message).where(
            Message.replied_at.is_(None),
            or_(func.extract("year", Message.reply_due_on) == year,
                func.extract("year", Message.reply_due_on) == year + 1))):
        due, provisional = reply_due(message.received_at, message.unit_id, calendar)
        if (due, provisional) != (message.reply_due_on, message.due_provisional):
            message.reply_due_on, message.due_provisional = due, provisional
            changed += 1
    return changed
