"""Weibo comments to the accounts (comments/to_me), pulled periodically into the inbox.

The cursor is the newest comment id stored for the account (ids grow), so a pull that stops
half-way resumes where it stopped and a comment pulled twice is stored once (MsgId unique).
"""
from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import Numeric, cast, func, select

from adapters import AdapterError, AuthError, get_adapter
from govmedia.extensions import db
from govmedia.queue import job
from govmedia.types import utcnow
from registry.models import Account, AccountCredential

from .jobs import account_credentials
from .models import Message
from .services import store_message
from .wechat_callback import Incoming

log = logging.getLogger(__name__)


def _received_at(raw) -> datetime:
    try:
        return min(datetime.strptime(raw, "%a %b %d %H:%M:%S %z %Y"), utcnow())
    except (TypeError, ValueError):
        return utcnow()


def as_incoming(comment: dict) -> Incoming | None:
    comment_id = str(comment.get("idstr") or comment.get("id") or "")
    user, status = comment.get("user") or {}, comment.get("status") or {}
    sender = str(user.get("idstr") or user.get("id") or "")
    thread = str(status.get("idstr") or status.get("id") or "")
    if not (comment_id.isdigit() and len(comment_id) <= 64 and sender and thread):
        return None
    return Incoming(msg_id=comment_id, sender=sender[:128], kind="comment",
                    text=str(comment.get("text") or ""), thread_id=thread[:64],
                    received_at=_received_at(comment.get("created_at")))


def since_id(account_id: int) -> str | None:
    newest = db.session.scalar(select(func.max(cast(Message.platform_msg_id, Numeric)))
                               .where(Message.account_id == account_id))
    return None if newest is None else str(int(newest))


def pull_account(account: Account) -> int:
    """Store the account's new comments; how many were new."""
    adapter = get_adapter("weibo", account_credentials(account.id), current_app.config)
    new = 0
    for comment in adapter.comments_to_me(since_id(account.id)):
        incoming = as_incoming(comment)
        if incoming is not None and store_message(account, incoming):
            new += 1
    db.session.commit()
    return new


@job("default")
def pull_weibo_comments() -> int:
    """Every active Weibo account with a valid token; one account's failure (quota, expired
    token) skips it until the next pull, it does not stop the others."""
    accounts = db.session.scalars(
        select(Account).join(AccountCredential, AccountCredential.account_id == Account.id)
        .where(Account.platform == "weibo", Account.status == "active",
               AccountCredential.token_expired.is_(False)).order_by(Account.id)).all()
    new = 0
    for account in accounts:
        try:
            new += pull_account(account)
        except (AuthError, AdapterError) as exc:
            db.session.rollback()
            log.warning("weibo comments of account %s not pulled: %s", account.id, exc)
    return new
