"""New messages from the public are told to the people who answer them (issue 12).

A job every minute reads the messages nobody was told of yet (a partial index keeps the read
to those) and tells each account's repliers once per account and run: how many came and the
first one's words, linking to the account's inbox. Not in the platform's callback: a burst of
messages makes one notification per account a minute, and the callback stays as fast as it was.
"""
from collections import defaultdict

from sqlalchemy import select, update

from govmedia.extensions import db
from govmedia.notify import notify
from govmedia.queue import job
from govmedia.types import utcnow
from registry.models import Account

from .assign import assignable_users
from .models import Message

BATCH = 2000          # messages told of per run; a larger backlog goes on in the next runs
EXCERPT = 40          # characters of the first message quoted


@job()
def tell_new_messages() -> int:
    """Tell the repliers of each account with messages nobody was told of; returns how many
    messages were told of."""
    rows = db.session.execute(
        select(Message.id, Message.account_id, Message.unit_id, Message.text)
        .where(Message.told_at.is_(None)).order_by(Message.id).limit(BATCH)).all()
    if not rows:
        db.session.rollback()
        return 0
    by_account = defaultdict(list)
    for row in rows:
        by_account[row.account_id].append(row)
    names = dict(db.session.execute(select(Account.id, Account.name)
                                    .where(Account.id.in_(list(by_account)))).all())
    repliers = {}   # per unit, read once however many of its accounts had messages
    for account_id, messages in by_account.items():
        unit_id = messages[0].unit_id
        if unit_id not in repliers:
            repliers[unit_id] = [u.id for u in assignable_users(unit_id)]
        notify(repliers[unit_id], "message_received",
               f"/inbox?account_id={account_id}",
               {"account": names.get(account_id, ""), "count": len(messages),
                "text": (messages[0].text or "")[:EXCERPT]},
               key=f"message_received:{account_id}:{messages[-1].id}", unit_id=unit_id)
    db.session.execute(update(Message).where(Message.id.in_([r.id for r in rows]))
                       .values(told_at=utcnow()))
    db.session.commit()
    return len(rows)
