"""The activity sync (issue 14): what accounts with API credentials really published, read
from their platforms and recorded as posts through registry.posts, idempotent by the
platform's own id.

One account at a time: its listing steps (reading.py) are read; then, every SAVE_EVERY
accounts, their posts and cursors are written in one transaction, so a run that stops
half-way reads the accounts it had not written again and never records a post twice. A
quota or rate limit defers that account (what it read before the limit is kept), not the run;
credentials the platform refuses are marked as needing authorisation again and the unit's
sponsors are told once (reauthorize.py).
"""
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import InvalidToken
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert

from adapters import AdapterError, AuthError, RetryableError, get_adapter
from govmedia.extensions import db
from govmedia.secrets import decrypt
from govmedia.types import utcnow
from registry.models import COUNTED_STATUSES, Account, AccountCredential
from registry.posts import record_posts
from registry.services import credentials_saver

from .models import SyncCursor
from .reading import STEPS, Cursor
from .reauthorize import credentials_refused

log = logging.getLogger(__name__)
SOURCE = "sync"
LOAD_CHUNK = 500
# Accounts written per transaction: a commit per account cost as much as its platform calls;
# a crash loses at most this many accounts' reading (read again by the next pass).
SAVE_EVERY = 25


@dataclass
class Reading:
    """What one account's pass read, to be written: its steps, and how the pass ended."""

    account_id: int
    steps: list
    outcome: str
    error: str | None = None
    deferred_until: datetime | None = None


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
    totals, pending = Counter(), []
    ids = list(account_ids)
    for start in range(0, len(ids), LOAD_CHUNK):
        rows = _load(ids[start:start + LOAD_CHUNK])
        for account_id in ids[start:start + LOAD_CHUNK]:
            try:
                reading = _read(rows.get(account_id))
            except Exception:  # noqa: BLE001 - one account's surprise must not stop the run
                log.exception("activity sync of account %s failed", account_id)
                db.session.rollback()
                reading = None
            if reading is None:
                totals["failed"] += 1
            elif reading.outcome == "skipped":
                totals["skipped"] += 1
            else:
                pending.append(reading)
            if len(pending) >= SAVE_EVERY:
                totals += _save_all(pending)
                pending = []
    return totals + _save_all(pending)


def _read(row) -> Reading:
    if row is None or row.token_expired or row.platform not in STEPS:
        return Reading(getattr(row, "id", 0), [], "skipped")
    config, steps = current_app.config, []
    cursor = Cursor(row.since_id, row.publish_time, row.datacube_day)
    try:
        credentials = decrypt(row.ciphertext)
    except InvalidToken:
        return Reading(row.id, [], "failed", _(
            "The account's credentials cannot be decrypted (was the key changed?); the "
            "sponsor unit must set them again"))
    try:
        adapter = get_adapter(row.platform, credentials, config)
        if hasattr(adapter, "save_credentials"):   # Douyin: a refreshed token is kept at once
            adapter.save_credentials = credentials_saver(row.id, db.engine.begin)
        for step in STEPS[row.platform](adapter, cursor,
                                        max_pages=config["ACTIVITY_SYNC_MAX_PAGES"],
                                        datacube_days=config["ACTIVITY_SYNC_DATACUBE_DAYS"]):
            steps.append(step)
    except RetryableError as exc:
        # A quota or rate limit: this account waits (the platform's hint when it gave one);
        # what it read before the limit is kept.
        seconds = exc.retry_after or config["ACTIVITY_SYNC_DEFER_SECONDS"]
        # str(exc): its words and the platform's code (AdapterError.__str__)
        log.info("activity sync of account %s deferred: %s", row.id, exc)
        return Reading(row.id, steps, "deferred", str(exc),
                       utcnow() + timedelta(seconds=float(seconds)))
    except AuthError as exc:
        credentials_refused(row.id, exc)
        return Reading(row.id, steps, "reauthorize", str(exc))
    except AdapterError as exc:
        return Reading(row.id, steps, "failed", str(exc))
    return Reading(row.id, steps, "done")


def _save_all(readings: list[Reading]) -> Counter:
    """The readings' posts and the cursors they leave, in one transaction; if that fails, each
    account in a transaction of its own, so one bad account loses no other's reading."""
    if not readings:
        return Counter()
    try:
        return _save(readings)
    except Exception:  # noqa: BLE001 - find the account that fails, keep the others
        db.session.rollback()
        if len(readings) == 1:
            log.exception("activity sync of account %s failed", readings[0].account_id)
            return Counter(failed=1)
        return sum((_save_all([reading]) for reading in readings), Counter())


def _save(readings: list[Reading]) -> Counter:
    # Not waiting for the disk: a commit lost in a crash loses its cursors with their posts,
    # and the next pass reads them again (the platform's ids keep that harmless).
    db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    made = record_posts({r.account_id: [
        {"published_at": p.published_at, "title": p.title, "url": p.url,
         "platform_post_id": p.platform_id} for step in r.steps for p in step.posts]
        for r in readings}, SOURCE, origin="platform")
    now, table, cursors = utcnow(), SyncCursor.__table__, []
    for reading in readings:
        fields = {"since_id": None, "publish_time": None, "datacube_day": None}
        for step in reading.steps:
            fields.update(step.cursor)
        cursors.append({"account_id": reading.account_id, **fields, "synced_at": now,
                        "posts_found": len(made.get(reading.account_id, ())),
                        "deferred_until": reading.deferred_until,
                        "last_error": reading.error})
    excluded = insert(table).excluded
    db.session.execute(insert(table).on_conflict_do_update(
        index_elements=["account_id"], set_={
            # A pass that read no step of a kind leaves that kind's cursor where it was.
            **{name: func.coalesce(excluded[name], table.c[name])
               for name in ("since_id", "publish_time", "datacube_day")},
            "synced_at": excluded.synced_at, "deferred_until": excluded.deferred_until,
            "last_error": excluded.last_error,
            "posts_found": table.c.posts_found + excluded.posts_found}), cursors)
    db.session.commit()
    totals = Counter(reading.outcome for reading in readings)
    totals["posts"] = sum(map(len, made.values()))
    return totals
