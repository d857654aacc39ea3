"""The reply job: one customer-service message to the sender, its outcome on the reply row.

Why a job and not the request: the platform call can take the adapter's whole timeout, a
busy platform (-1, quota 45009) is retried with backoff instead of making the person type the
reply again, and the row says what happened (the inbox shows it). The rule a person must hear
at once, WeChat's 48-hour window, is checked before the reply is queued (409); WeChat's own
refusal at the edge of the window (45015) fails the reply and leaves the message open.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from cryptography.fernet import InvalidToken
from flask import current_app
from sqlalchemy import select, update

from adapters import AdapterError, RetryableError, UnconfirmedError, get_adapter
from govmedia.extensions import db
from govmedia.queue import enqueue, enqueue_in, job
from govmedia.secrets import decrypt
from govmedia.types import utcnow
from registry.models import AccountCredential

from .models import Message, MessageReply

# Seconds before each automatic retry of a reply the platform was too busy to take.
REPLY_BACKOFF = (10, 60, 300)
# A queued reply this long past its due time lost its job: the sweep enqueues it again.
LOST_AFTER = timedelta(minutes=2)


def account_credentials(account_id: int) -> dict:
    """The account's credentials; none when they cannot be decrypted (the key changed): the
    callback then refuses (403) and a reply fails naming the missing credentials, not a 500."""
    row = db.session.get(AccountCredential, account_id)
    if row is None:
        return {}
    try:
        return decrypt(row.ciphertext)
    except InvalidToken:
        current_app.logger.error("credentials of account %s cannot be decrypted", account_id)
        return {}


def mark_answered(reply: MessageReply, when: datetime) -> None:
    """A reply that reached the sender answers every earlier unanswered message of theirs."""
    message = reply.message
    for row in db.session.scalars(select(Message).where(
            Message.account_id == message.account_id, Message.sender == message.sender,
            Message.replied_at.is_(None), Message.received_at <= reply.created_at)):
        row.replied_at = when
    if message.replied_at is None:
        message.replied_at = when


def _claim(reply_id: int) -> MessageReply | None:
    """Take a queued reply (one statement: two jobs for one reply never both send)."""
    claimed = db.session.execute(
        update(MessageReply).where(MessageReply.id == reply_id,
                                   MessageReply.status == "queued")
        .values(status="sending", attempts=MessageReply.attempts + 1)
        .returning(MessageReply.id)).scalar()
    db.session.commit()
    return db.session.get(MessageReply, reply_id) if claimed else None


def _settle_error(reply: MessageReply, exc: AdapterError) -> None:
    reply.error, reply.error_said = exc.text(), exc.message
    reply.error_code = None if exc.platform_code is None else str(exc.platform_code)[:40]
    if isinstance(exc, RetryableError) and reply.attempts <= len(REPLY_BACKOFF):
        reply.status = "queued"
        delay = max(REPLY_BACKOFF[reply.attempts - 1], exc.retry_after or 0)
        reply.next_attempt_at = utcnow() + timedelta(seconds=delay)
        enqueue_in(delay, send_reply, reply.id)
    elif isinstance(exc, UnconfirmedError):
        reply.status = "unconfirmed"   # never resent: the sender may have it already
    else:
        reply.status = "failed"


@job("default")
def send_reply(reply_id: int) -> str:
    reply = _claim(reply_id)
    if reply is None:
        return "not queued"
    message = reply.message
    try:
        adapter = get_adapter(message.platform, account_credentials(message.account_id),
                              current_app.config)
        if message.platform == "weibo":
            adapter.reply_comment(message.platform_msg_id, message.thread_id or "", reply.text)
        else:
            adapter.send_text(message.sender, reply.text)
    except AdapterError as exc:
        _settle_error(reply, exc)
        db.session.commit()
        return reply.status
    reply.status, reply.sent_at, reply.error, reply.error_code = "sent", utcnow(), None, None
    reply.error_said = None
    mark_answered(reply, reply.sent_at)
    db.session.commit()
    return "sent"


@job("default")
def sweep_replies() -> int:
    """Enqueue again the queued replies whose job was lost. A second job for a reply that is
    still queued is harmless: `_claim` lets one of them send."""
    ids = db.session.scalars(select(MessageReply.id).where(
        MessageReply.status == "queued",
        MessageReply.next_attempt_at < utcnow() - LOST_AFTER)).all()
    for reply_id in ids:
        enqueue(send_reply, reply_id)
    db.session.commit()
    return len(ids)
