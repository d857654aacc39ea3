"""Public responses cached per registry version: correct ETags, conditional GET, and an in-process
cache of rendered bodies that a registry change invalidates.

The key is (registry version, today in Asia/Shanghai, locale, path and query); the day is part of
it because notices start and end by date. The registry version is (newest audit entry id, number
of audit entries): every change to what the public sees is audited in its own transaction and the
trail is append-only, so the pair moves with every committed change, including two transactions
committing out of id order (the count still moves). It is read at most once per
PUBLIC_VERSION_TTL seconds per process (default 1 s, well inside the max-age clients may cache
for), and at once when this process has recorded an audit entry since the last read
(`govmedia.audit.written_here`), so the cached path does not touch the database and a write is
seen by the same process's next request. A version is always read before the data it labels, so a body is never older than the
version it is stored under.
"""
import hashlib
import threading
import time
from collections import OrderedDict
from functools import wraps

from flask import current_app, make_response, request
from flask_babel import get_locale
from sqlalchemy import func, select

from govmedia.audit import written_here
from govmedia.extensions import db
from govmedia.models import AuditEntry
from govmedia.types import today_shanghai

MAX_ENTRIES = 2000
MAX_BODY = 32 * 1024 * 1024


class ResponseCache:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self.entries: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)


class VersionClock:
    """The registry version, re-read at most every `ttl` seconds, and after this process
    recorded an audit entry."""

    def __init__(self, ttl: float):
        self.ttl = ttl
        self.value: str | None = None
        self.checked = 0.0
        self.lock = threading.Lock()
        self.writes = written_here()

    def read(self) -> str:
        now = time.monotonic()
        value, writes = self.value, written_here()
        if value is not None and now - self.checked < self.ttl and writes == self.writes:
            return value
        # The count of local writes is taken before the database's version: a write recorded
        # meanwhile makes the next read look again.
        newest, count = db.session.execute(select(func.max(AuditEntry.id),
                                                  func.count(AuditEntry.id))).one()
        value = f"{newest or 0}.{count}"
        with self.lock:
            self.value, self.checked, self.writes = value, now, writes
        return value


def version_clock(app=None) -> VersionClock:
    app = app or current_app
    clock = app.extensions.get("notices_version_clock")
    if clock is None:
        clock = app.extensions.setdefault(
            "notices_version_clock", VersionClock(float(app.config["PUBLIC_VERSION_TTL"])))
    return clock


def registry_version() -> str:
    return version_clock().read()


def response_cache(app=None) -> ResponseCache:
    app = app or current_app
    return app.extensions.setdefault("notices_response_cache", ResponseCache())


KEPT_HEADERS = ("Content-Type", "Content-Disposition")


def public_cached(max_age: int = 60, localized: bool = True):
    """Decorator for public GET views (no login; the body must not depend on who asks)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            locale = ""
            if localized:
                locale = str(get_locale())
            key = "|".join((str(registry_version()), today_shanghai().isoformat(), locale,
                            request.full_path))
            etag = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
            headers = {"Cache-Control": f"public, max-age={max_age}",
                       "Vary": "Cookie, Accept-Encoding" if localized else "Accept-Encoding"}
            if request.if_none_match.contains(etag):
                response = make_response("", 304)
            else:
                cache = None if current_app.config["PUBLIC_CACHE_DISABLED"] else (
                    response_cache())
                hit = cache.get(key) if cache is not None else None
                if hit is None:
                    fresh = make_response(view(*args, **kwargs))
                    if fresh.status_code != 200:
                        return fresh
                    body = fresh.get_data()
                    hit = (body, [(h, fresh.headers[h]) for h in KEPT_HEADERS if h in fresh.headers])
                    if cache is not None and len(body) <= MAX_BODY:
                        cache.put(key, hit)
                response = current_app.response_class(hit[0], 200, hit[1])
            response.set_etag(etag)
            response.headers.update(headers)
            return response

        return wrapper

    return decorator
