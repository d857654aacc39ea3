"""Append-only audit trail; each entry carries the hash of the one before it."""
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import insert, select, text

from .bulk import COPY_FROM, copy_rows
from .extensions import db
from .models import AuditEntry
from .types import utcnow

GENESIS = "0" * 64


def _default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=_default)


def plain(value):
    """JSON-safe copy (dates as ISO strings) so what is hashed is exactly what is stored."""
    return json.loads(_canonical(value)) if value is not None else None


def entry_hash(prev_hash: str, at: datetime, username, action, object_type, object_id, before,
               after) -> str:
    payload = _canonical([prev_hash, at.isoformat(), username, action, object_type, object_id,
                          before, after])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _lock_chain(connection=None) -> None:
    # Two writers reading the same last hash would fork the chain: a transaction-scoped
    # advisory lock serialises them (the unique prev_hash constraint backs it up).
    (connection if connection is not None else db.session).execute(
        text("SELECT pg_advisory_xact_lock(7260001)"))


def _last_hash(connection=None) -> str:
    last = (connection if connection is not None else db.session).execute(
        select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).scalar()
    return last or GENESIS


def _actor(user):
    if user is None and has_request_context():
        user = current_user if getattr(current_user, "is_authenticated", False) else None
    return (user.id, user.username) if user is not None else (None, None)


def record(action: str, obj_type: str, obj_id, *, before=None, after=None, unit_id=None,
           user=None) -> None:
    """Add one entry to the current transaction; it commits or rolls back with the change."""
    record_many([(action, obj_type, obj_id, before, after, unit_id)], user=user)


def record_many(items, user=None, connection=None) -> int:
    """items: (action, object_type, object_id, before, after, unit_id) tuples, chained in order.

    Rows go in as one executemany rather than ORM objects: an import of 10,000 accounts
    spent most of its write time building and flushing AuditEntry objects. `connection`: a
    Core connection inside the caller's transaction, instead of the session (the delivery
    job's own connection).
    """
    _lock_chain(connection)
    if connection is None:
        db.session.flush()
    user_id, username = _actor(user)
    prev = _last_hash(connection)
    rows = []
    for action, obj_type, obj_id, before, after, unit_id in items:
        at = utcnow()
        before, after = plain(before), plain(after)
        digest = entry_hash(prev, at, username, action, obj_type, obj_id, before, after)
        rows.append({"at": at, "user_id": user_id, "username": username, "action": action,
                     "object_type": obj_type, "object_id": obj_id, "unit_id": unit_id,
                     "before": before, "after": after, "prev_hash": prev, "hash": digest})
        prev = digest
    if len(rows) > COPY_FROM:   # an import's thousands of entries
        copy_rows(AuditEntry.__table__, rows, connection)
    elif rows:
        (connection if connection is not None else db.session).execute(insert(AuditEntry), rows)
    return len(rows)


def entries_query(object_type: str | None = None, object_id: int | None = None,
                  unit_ids: list[int] | None = None):
    """The trail newest first, optionally of one kind of object or one object; `unit_ids`
    keeps the entries of those units (a supervisor's reach; None: all)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if unit_ids is not None:
        query = query.where(AuditEntry.unit_id.in_(unit_ids))
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == object_id)
    return query


def object_types() -> list[str]:
    return db.session.scalars(select(AuditEntry.object_type).distinct()
                              .order_by(AuditEntry.object_type)).all()


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    problem: str | None = None


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in id order; report the first entry whose link or content was altered."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = db.session.execute(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).scalars().all()
        if not rows:
            return VerifyResult(True, checked)
        for entry in rows:
            if entry.prev_hash != prev:
                return VerifyResult(False, checked, entry.id,
                                    "link broken: an entry before it was removed or changed")
            expected = entry_hash(prev, entry.at, entry.username, entry.action,
                                  entry.object_type, entry.object_id, entry.before, entry.after)
            if expected != entry.hash:
                return VerifyResult(False, checked, entry.id, "content altered")
            prev = entry.hash
            checked += 1
            last_id = entry.id
        db.session.expunge_all()
