"""Supervision figures read many times between two changes, kept in Redis until one comes.

A province's supervisors open the dashboard many times a day, and its figures change only
when something is written. A result (the dashboard's summary, trend, level and overdue
messages; the lists behind the supervision API) is kept under a key that holds the
database's WAL insert position (`pg_current_wal_insert_lsn()`): any write to any table, by
any process, committed or not, moves it, so a key is only ever read again while nothing at
all was written. No list of the tables a figure depends on can go stale, and no writer has to
say that it wrote. The key also holds everything else a result depends on: the function and
its arguments, the reader's reach (roles and unit: the tree itself is in the database), and
the settings. A figure is read only after the outboxes were applied (`apply_pending`), and the
position is read after that, before the figure: a figure is never older than its key says.

Redis unreachable: the figure is computed, as without the cache. Entries expire after
`SUPERVISION_FIGURE_CACHE_SECONDS` (0: no cache).
"""
from __future__ import annotations

import hashlib
import logging
import pickle
from functools import wraps

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import func, select

from govmedia.auth import reaches_all_units
from govmedia.extensions import db
from govmedia.queue import redis_connection

from .pending import apply_pending

log = logging.getLogger(__name__)
PREFIX = "govmedia:figures:"


def database_position() -> str:
    """Where the database's write-ahead log is: it moves with every write."""
    return db.session.scalar(select(func.pg_current_wal_insert_lsn().cast(db.String)))


def _settings_fingerprint() -> str:
    # Settings change only with a restart; the figures' defaults (windows, deadlines) are
    # among them, so a key made under other settings is never read.
    app = current_app._get_current_object()
    known = app.extensions.get("figure_cache_settings")
    if known is None:
        settings = app.extensions["settings"]
        known = hashlib.sha256(repr(sorted(vars(settings).items())).encode()).hexdigest()[:16]
        app.extensions["figure_cache_settings"] = known
    return known


def reach_of(actor) -> tuple:
    """What decides which units `actor` sees (govmedia.auth.visible_unit_ids): every unit, or
    the subtree of its unit; the roles too, for the figures that check them."""
    return (type(actor).__name__, "all" if reaches_all_units(actor) else actor.unit_id,
            tuple(sorted(getattr(actor, "roles", None) or ())))


def cached_figure(compute):
    """`compute(actor, *args, **kwargs)`, answered from Redis while the database is unchanged."""
    name = f"{compute.__module__}.{compute.__qualname__}"

    @wraps(compute)
    def figure(actor, *args, **kwargs):
        seconds = int(current_app.config["SUPERVISION_FIGURE_CACHE_SECONDS"])
        if seconds <= 0:
            return compute(actor, *args, **kwargs)
        if apply_pending():
            # The outboxes' rows just applied commit with the caller, and that commit moves
            # the position again: a key made now would never be read. The next reader keeps it.
            return compute(actor, *args, **kwargs)
        key = PREFIX + hashlib.sha256(repr((
            name, database_position(), _settings_fingerprint(), reach_of(actor), args,
            sorted(kwargs.items()))).encode()).hexdigest()
        try:
            kept = redis_connection().get(key)
        except RedisError as exc:
            log.warning("figure cache unreachable, computing %s: %s", name, exc)
            return compute(actor, *args, **kwargs)
        if kept is not None:
            return pickle.loads(kept)
        value = compute(actor, *args, **kwargs)
        try:
            redis_connection().set(key, pickle.dumps(value), ex=seconds)
        except RedisError as exc:
            log.warning("figure cache unreachable, %s not kept: %s", name, exc)
        return value

    return figure
