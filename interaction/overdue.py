"""Overdue messages from the public, for supervision: per account, the daily reminders, and
the messages unanswered past their deadline at an instant (the inspection moment).

The reply deadline is the rule profile's (govmedia.profiles: the unit's profile on the day the
message came in, default 5 working days on the filings' calendar; the seeds set none for new-media messages), stored per
message as `reply_due_on`: a message is overdue from the day after it while unanswered.
"""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import DateTime, and_, case, cast, func, or_, select

from govmedia.auth import in_units
from govmedia.extensions import db
from govmedia.wording import N_, message
from govmedia.types import SHANGHAI, shanghai_date
from registry.models import Account

from .models import Message
from .services import unanswered_on

TIME_ZONE = "Asia/Shanghai"


def overdue_by_account(as_of: date, units, limit: int = 20) -> list[dict]:
    """Accounts with messages overdue as of `as_of` (units None: all), most first."""
    n = func.count().label("n")
    query = (select(Message.account_id, Message.unit_id, Account.name, Account.platform, n)
             .join(Account, Account.id == Message.account_id)
             .where(unanswered_on(as_of, "overdue"))
             .group_by(Message.account_id, Message.unit_id, Account.name, Account.platform)
             .order_by(n.desc(), Message.account_id).limit(limit))
    if units is not None:
        query = query.where(in_units(Message.unit_id, units))
    return [{"account_id": a, "unit_id": u, "name": name, "platform": platform,
             "overdue_messages": count}
            for a, u, name, platform, count in db.session.execute(query)]


def overdue_reminders(today: date, since: date | None = None) -> list[tuple]:
    """(unit_id, key, kind, words, link) per message overdue today, for the daily reminders of
    the account's unit: one key per message, so each is told once however often they run.
    `since`: only messages whose deadline day is `since` or later (those that became overdue
    after it), read through the index on the deadline, so a daily run reads a day or two of
    messages and not every overdue one (the caller keeps the day of its last run)."""
    query = (select(Message, Account.name).join(Account, Account.id == Message.account_id)
             .where(unanswered_on(today, "overdue")).order_by(Message.id))
    if since is not None:
        query = query.where(Message.reply_due_on >= since)
    out = []
    for row, name in db.session.execute(query):
        received = row.received_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        out.append((row.unit_id, f"message_overdue:{row.id}", "message_overdue",
                    message(N_("A message to “%(name)s” received %(received)s is unanswered "
                               "past its deadline (%(due_on)s)"), name=name, received=received,
                            due_on=row.reply_due_on.isoformat()),
                    f"/inbox?status=overdue&account_id={row.account_id}"
                    f"#message-{row.id}"))
    return out


def unanswered_clause(moment: datetime):
    """Received by `moment`, not answered by then, its reply deadline (a Beijing day) ended
    before it."""
    return and_(Message.received_at <= moment, Message.reply_due_on < shanghai_date(moment),
                or_(Message.replied_at.is_(None), Message.replied_at > moment))


def unanswered_at(moment: datetime, account_ids) -> dict[int, dict]:
    """account id -> {"count", "oldest"}: messages received by `moment` and not answered by
    then whose reply deadline (a Beijing day) ended before it."""
    ids = list(account_ids)
    if not ids:
        return {}
    query = (select(Message.account_id, func.count(), func.min(Message.received_at))
             .where(Message.account_id.in_(ids), unanswered_clause(moment))
             .group_by(Message.account_id))
    return {a: {"count": n, "oldest": oldest} for a, n, oldest in db.session.execute(query)}


def unanswered_messages_at(moment: datetime, account_ids, per_account: int = 20
                           ) -> dict[int, list[dict]]:
    """account id -> the messages `unanswered_at` counts, oldest first, at most `per_account`
    of each account: {"id", "received_at", "reply_due_on"} (the evidence of the count)."""
    ids = list(account_ids)
    if not ids:
        return {}
    rank = func.row_number().over(partition_by=Message.account_id,
                                  order_by=(Message.received_at, Message.id)).label("rank")
    ranked = (select(Message.account_id, Message.id, Message.received_at, Message.reply_due_on,
                     rank)
              .where(Message.account_id.in_(ids), unanswered_clause(moment))
              .subquery())
    out: dict[int, list[dict]] = {}
    for account_id, message_id, received_at, due_on in db.session.execute(
            select(ranked.c.account_id, ranked.c.id, ranked.c.received_at, ranked.c.reply_due_on)
            .where(ranked.c.rank <= per_account)
            .order_by(ranked.c.account_id, ranked.c.rank)):
        out.setdefault(account_id, []).append(
            {"id": message_id, "received_at": received_at, "reply_due_on": due_on})
    return out


def overdue_in_period(start: date, end: date) -> dict[int, dict]:
    """For the quarterly report: account id -> {"overdue", "unanswered"}. `overdue`: messages
    past their reply deadline at some time from the start of `start` to the end of `end` (the
    deadline day ended before the end of `end`, and the reply, if any, came after the deadline
    day and after `start` began); `unanswered`: those of them still unanswered at the end of
    `end` (overdue as of `end`, as the inbox counts)."""
    deadline_passed = func.timezone(TIME_ZONE, cast(Message.reply_due_on + 1, DateTime))
    begins = datetime.combine(start, time.min, SHANGHAI)
    late = or_(Message.replied_at.is_(None),
               and_(Message.replied_at >= deadline_passed, Message.replied_at > begins))
    still = unanswered_on(end, "overdue")
    query = (select(Message.account_id, func.count(), func.count(case((still, 1))))
             .where(Message.reply_due_on < end, late)
             .group_by(Message.account_id))
    return {a: {"overdue": n, "unanswered": u} for a, n, u in db.session.execute(query)}
