"""The activity sync (issue 14): what accounts with API credentials really published, read
from their platforms and recorded as posts through registry.posts.record_post, idempotent by
the platform's own id.

One account at a time, each listing step committed with its cursor (reading.py), so a run
that stops half-way resumes where it stopped and never records a post twice. A quota or rate
limit defers that account, not the run; credentials the platform refuses are marked as
needing authorisation again and the unit's sponsors are told once (reauthorize.py).
"""
import logging
from collections import Counter
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select

from adapters import AdapterError, AuthError, RetryableError, get_adapter
from govmedia.extensions import db
from govmedia.secrets import decrypt
from govmedia.types import utcnow
from registry.models import COUNTED_STATUSES, Account, AccountCredential
from registry.posts import record_post

from .models import SyncCursor
from .reading import STEPS
from .reauthorize import credentials_refused

log = logging.getLogger(__name__)
SOURCE = "sync"


def due_accounts(now=None) -> list[int]:
    """Accounts the sync reads now: on a platform it can list, with credentials that are not
    known to be refused, still on the platform, and not deferred."""
    now = now or utcnow()
    query = (select(Account.id)
             .join(AccountCredential, AccountCredential.account_id == Account.id)
             .outerjoin(SyncCursor, SyncCursor.account_id == Account.id)
             .where(Account.platform.in_(sorted(STEPS)),
                    Account.status.in_(COUNTED_STATUSES),
                    ~AccountCredential.token_expired,
                    or_(SyncCursor.deferred_until.is_(None), SyncCursor.deferred_until <= now))
             .order_by(Account.id))
    return list(db.session.scalars(query))


def sync_accounts(account_ids) -> Counter:
    """Sync these accounts one after another; returns the outcomes and posts recorded."""
    totals = Counter()
    for account_id in account_ids:
        outcome, posts = sync_account(account_id)
        totals[outcome] += 1
        totals["posts"] += posts
    return totals


def sync_account(account_id: int) -> tuple[str, int]:
    """One account's pass: (outcome, posts recorded). Outcomes: done, deferred, reauthorize,
    failed, skipped."""
    account = db.session.get(Account, account_id)
    row = db.session.get(AccountCredential, account_id)
    if account is None or row is None or row.token_expired or account.platform not in STEPS:
        return "skipped", 0
    cursor = _cursor(account_id)
    recorded = 0
    try:
        adapter = get_adapter(account.platform, decrypt(row.ciphertext), current_app.config)
        config = current_app.config
        for step in STEPS[account.platform](
                adapter, cursor, max_pages=config["ACTIVITY_SYNC_MAX_PAGES"],
                datacube_days=config["ACTIVITY_SYNC_DATACUBE_DAYS"]):
            recorded += _record_step(account_id, cursor, step)
    except RetryableError as exc:
        _defer(cursor, exc)
        return "deferred", recorded
    except AuthError as exc:
        db.session.rollback()
        credentials_refused(account_id, exc)
        _finish(_cursor(account_id), _error_text(exc))
        return "reauthorize", recorded
    except AdapterError as exc:
        db.session.rollback()
        _finish(_cursor(account_id), _error_text(exc))
        return "failed", recorded
    _finish(cursor, None)
    return "done", recorded


def _cursor(account_id: int) -> SyncCursor:
    cursor = db.session.get(SyncCursor, account_id)
    if cursor is None:
        cursor = SyncCursor(account_id=account_id, posts_found=0)
        db.session.add(cursor)
    return cursor


def _record_step(account_id: int, cursor: SyncCursor, step) -> int:
    """The step's posts and its cursor fields, in one transaction."""
    recorded = 0
    for post in step.posts:
        if record_post(account_id, post.published_at, post.title, post.url, SOURCE,
                       platform_post_id=post.platform_id, origin="platform") is not None:
            recorded += 1
    for name, value in step.cursor.items():
        setattr(cursor, name, value)
    cursor.posts_found = (cursor.posts_found or 0) + recorded
    db.session.commit()
    return recorded


def _defer(cursor: SyncCursor, exc: RetryableError) -> None:
    """A quota or rate limit: this account waits (the platform's hint when it gave one)."""
    db.session.rollback()
    seconds = exc.retry_after or current_app.config["ACTIVITY_SYNC_DEFER_SECONDS"]
    cursor = _cursor(cursor.account_id)
    cursor.deferred_until = utcnow() + timedelta(seconds=float(seconds))
    cursor.last_error = _error_text(exc)
    db.session.commit()
    log.info("activity sync of account %s deferred: %s", cursor.account_id, cursor.last_error)


def _finish(cursor: SyncCursor, error: str | None) -> None:
    cursor.synced_at = utcnow()
    cursor.deferred_until = None
    cursor.last_error = error
    db.session.commit()


def _error_text(exc: AdapterError) -> str:
    code = exc.platform_code
    return exc.message_zh if code in (None, "") else f"{exc.message_zh} ({code})"
