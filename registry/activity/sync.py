"""The activity sync (issue 14): what accounts with API credentials really published, read
from their platforms and recorded as posts through registry.posts, idempotent by the
platform's own id.

One account at a time: its listing steps (reading.py) are read, then their posts and the
account's cursor are written in one transaction, so a run that stops half-way reads the
unfinished accounts again and never records a post twice. A quota or rate limit defers that
account (what it read before the limit is kept), not the run; credentials the platform
refuses are marked as needing authorisation again and the unit's sponsors are told once
(reauthorize.py).
"""
import logging
from collections import Counter
from datetime import timedelta

from cryptography.fernet import InvalidToken
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from adapters import AdapterError, AuthError, RetryableError, get_adapter
from govmedia.extensions import db
from govmedia.secrets import decrypt
from govmedia.types import utcnow
from registry.models import COUNTED_STATUSES, Account, AccountCredential
from registry.posts import record_posts

from .models import SyncCursor
from .reading import STEPS, Cursor
from .reauthorize import credentials_refused

log = logging.getLogger(__name__)
SOURCE = "sync"
LOAD_CHUNK = 500


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
                    SyncCursor.deferred_until.is_(None) | (SyncCursor.deferred_until <= now))
             .order_by(Account.id))
    return list(db.session.scalars(query))


def _load(account_ids) -> dict:
    """What a pass needs of each account, in one query: platform, credentials, cursor."""
    rows = db.session.execute(
        select(Account.id, Account.platform, AccountCredential.ciphertext,
               AccountCredential.token_expired, SyncCursor.since_id, SyncCursor.publish_time,
               SyncCursor.datacube_day)
        .join(AccountCredential, AccountCredential.account_id == Account.id)
        .outerjoin(SyncCursor, SyncCursor.account_id == Account.id)
        .where(Account.id.in_(list(account_ids)))).all()
    db.session.rollback()   # no transaction held open across the platform calls
    return {row.id: row for row in rows}


def sync_accounts(account_ids) -> Counter:
    """Sync these accounts one after another; returns the outcomes and posts recorded."""
    totals = Counter()
    ids = list(account_ids)
    for start in range(0, len(ids), LOAD_CHUNK):
        rows = _load(ids[start:start + LOAD_CHUNK])
        for account_id in ids[start:start + LOAD_CHUNK]:
            try:
                outcome, posts = _sync(rows.get(account_id))
            except Exception:  # noqa: BLE001 - one account's surprise must not stop the run
                log.exception("activity sync of account %s failed", account_id)
                db.session.rollback()
                outcome, posts = "failed", 0
            totals[outcome] += 1
            totals["posts"] += posts
    return totals


def sync_account(account_id: int) -> tuple[str, int]:
    """One account's pass: (outcome, posts recorded). Outcomes: done, deferred, reauthorize,
    failed, skipped."""
    return _sync(_load([account_id]).get(account_id))


def _sync(row) -> tuple[str, int]:
    if row is None or row.token_expired or row.platform not in STEPS:
        return "skipped", 0
    config, steps = current_app.config, []
    cursor = Cursor(row.since_id, row.publish_time, row.datacube_day)
    try:
        credentials = decrypt(row.ciphertext)
    except InvalidToken:
        return "failed", _save(row.id, [], error=_(
            "The account's credentials cannot be decrypted (was the key changed?); the "
            "sponsor unit must set them again"))
    try:
        adapter = get_adapter(row.platform, credentials, config)
        for step in STEPS[row.platform](adapter, cursor,
                                        max_pages=config["ACTIVITY_SYNC_MAX_PAGES"],
                                        datacube_days=config["ACTIVITY_SYNC_DATACUBE_DAYS"]):
            steps.append(step)
    except RetryableError as exc:
        # A quota or rate limit: this account waits (the platform's hint when it gave one).
        seconds = exc.retry_after or config["ACTIVITY_SYNC_DEFER_SECONDS"]
        recorded = _save(row.id, steps, error=_error_text(exc),
                         deferred_until=utcnow() + timedelta(seconds=float(seconds)))
        log.info("activity sync of account %s deferred: %s", row.id, _error_text(exc))
        return "deferred", recorded
    except AuthError as exc:
        recorded = _save(row.id, steps, error=_error_text(exc))
        credentials_refused(row.id, exc)
        return "reauthorize", recorded
    except AdapterError as exc:
        return "failed", _save(row.id, steps, error=_error_text(exc))
    return "done", _save(row.id, steps, error=None)


def _save(account_id: int, steps, *, error: str | None, deferred_until=None) -> int:
    """The steps' posts and the cursor they leave, in one transaction."""
    posts = [{"published_at": p.published_at, "title": p.title, "url": p.url,
              "platform_post_id": p.platform_id} for step in steps for p in step.posts]
    # Not waiting for the disk: a commit lost in a crash loses its cursor with its posts,
    # and the next pass reads them again (the platform's ids keep that harmless).
    db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    recorded = len(record_posts(account_id, posts, SOURCE, origin="platform"))
    fields = {"deferred_until": deferred_until, "last_error": error, "synced_at": utcnow()}
    for step in steps:
        fields.update(step.cursor)
    table = SyncCursor.__table__
    db.session.execute(insert(table).values(account_id=account_id, posts_found=recorded,
                                            **fields)
                       .on_conflict_do_update(index_elements=["account_id"], set_={
                           **fields, "posts_found": table.c.posts_found + recorded}))
    db.session.commit()
    return recorded


def _error_text(exc: AdapterError) -> str:
    code = exc.platform_code
    return exc.message_zh if code in (None, "") else f"{exc.message_zh} ({code})"
