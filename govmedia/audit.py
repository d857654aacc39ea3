"""Append-only audit trail; each entry carries the hash of the one before it."""
import hashlib
import json
import threading
from itertools import chain, islice
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


class _Writes:
    """How many times this process recorded audit entries (committed or not)."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def add(self) -> None:
        with self.lock:
            self.count += 1


_WRITES = _Writes()


def written_here() -> int:
    """A number that moves whenever this process records an audit entry. Every change the
    public sees is audited, so a process-local cache of the registry (the public pages'
    version, notices/cache.py) compares it to see its own process's writes at once."""
    return _WRITES.count


def _default(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


# What json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
# default=_default) does, without building an encoder for every call (an import's 100,000).
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                            default=_default)


def _canonical(value) -> str:
    return _ENCODER.encode(value)


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
    """items: (action, object_type, object_id, before, after, unit_id) tuples, chained in order
    (any iterable: an import passes a generator, and its entries stream into COPY).

    Rows go in as one statement rather than ORM objects (COPY past COPY_FROM rows: an import's
    100,000 entries). `connection`: a Core connection inside the caller's transaction, instead
    of the session (the delivery job's own connection).
    """
    _lock_chain(connection)
    _WRITES.add()
    if connection is None:
        db.session.flush()
    rows = _entries(items, user, _last_hash(connection))
    head = list(islice(rows, COPY_FROM + 1))
    if len(head) > COPY_FROM:   # an import's thousands of entries
        return copy_rows(AuditEntry.__table__, chain(head, rows), connection,
                         as_text=("before", "after"))
    for row in head:
        row["before"], row["after"] = _loaded(row["before"]), _loaded(row["after"])
    if head:
        (connection if connection is not None else db.session).execute(insert(AuditEntry), head)
    return len(head)


def _entries(items, user, prev: str):
    """The rows of the entries, each chained to the one before."""
    user_id, username = _actor(user)
    # Each before/after is serialised once: that canonical text is what is hashed (inside the
    # entry's list, exactly as entry_hash writes it) and what is stored in the json column.
    # A hash (hex) and a timestamp's isoformat() need no escaping: their JSON is "text".
    who, link, scalars = _canonical(username), _canonical(prev), {}
    for action, obj_type, obj_id, before, after, unit_id in items:
        at = utcnow()
        before, after = _canonical_text(before), _canonical_text(after)
        for value in (action, obj_type):
            if value not in scalars:
                scalars[value] = _canonical(value)
        key = obj_id if obj_id.__class__ is int else _canonical(obj_id)
        payload = (f'[{link},"{at.isoformat()}",{who},{scalars[action]},{scalars[obj_type]},'
                   f'{key},{before or "null"},{after or "null"}]')
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        yield {"at": at, "user_id": user_id, "username": username, "action": action,
               "object_type": obj_type, "object_id": obj_id, "unit_id": unit_id,
               "before": before, "after": after, "prev_hash": prev, "hash": digest}
        prev, link = digest, f'"{digest}"'


def _canonical_text(value) -> str | None:
    """The canonical JSON of plain(value), None for None: one json.dumps where the value is
    already plain (string keys), which the canonical text of a plain value is."""
    if value is None:
        return None
    return _canonical(value if _string_keys(value) else plain(value))


_SCALARS = {str, int, float, bool, type(None), date, datetime}


def _string_keys(value) -> bool:
    """Every dict inside has only string keys (JSON turns 1 into "1", which sorts differently:
    such a value is made plain before it is serialised for the hash). False when unsure."""
    stack = [value]
    while stack:
        value = stack.pop()
        kind = value.__class__
        if kind is dict:
            for key in value:
                if key.__class__ is not str:
                    return False
            values = value.values()
        elif kind is list or kind is tuple:
            values = value
        elif isinstance(value, (dict, list, tuple)):
            return False
        else:
            continue
        for item in values:
            if item.__class__ not in _SCALARS:
                stack.append(item)
    return True


def _loaded(text_: str | None):
    return json.loads(text_) if text_ is not None else None


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
