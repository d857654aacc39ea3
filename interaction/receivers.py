"""Which account takes a platform callback, and its callback credentials, kept by each process
for a few seconds: a WeChat callback then costs no database statement (interaction.intake).

What may be stale and for how long:
- A refused signature is never taken from the cache: the view reads the account again and
  checks once more, so a new token or EncodingAESKey holds at once in every process.
- A closed account is dropped from this process's cache by any change a person makes through
  it (every successful POST, PUT, PATCH or DELETE outside /callbacks/ empties it); another
  process keeps answering for it until its entry is `WECHAT_CALLBACK_CACHE_SECONDS` old, and
  what it takes meanwhile is stored (a message the platform delivered is not thrown away).
- Unknown and closed accounts are not cached: they are read each time (404).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from flask import current_app, request

from govmedia.extensions import db

from . import services
from .jobs import account_credentials

_CACHE = "interaction_receivers"


@dataclass(frozen=True)
class Receiver:
    """What the callback needs of an account: who it is and the credentials it signs with."""

    account_id: int
    unit_id: int
    platform: str
    credentials: dict = field(repr=False)
    cached: bool = False
    expires: float = 0.0


def _cache(app=None) -> dict:
    return (app or current_app).extensions.setdefault(_CACHE, {})


def cached(account_id: int, platform: str, app=None) -> Receiver | None:
    """The account as this process last read it, while that is recent enough (`app`: outside
    an app context, the callback's WSGI path)."""
    hit = _cache(app).get((account_id, platform))
    if hit is not None and hit.expires > time.monotonic():
        return hit
    return None


def load(account_id: int, platform: str) -> Receiver | None:
    """Read the account and its credentials (None: unknown, another platform, or closed),
    keep it for the next callbacks, and end the read's transaction: the callback holds no
    database connection while it works."""
    key = (account_id, platform)
    account = services.receiving_account(account_id, platform)
    if account is None:
        _cache().pop(key, None)
        db.session.rollback()
        return None
    ttl = float(current_app.config["WECHAT_CALLBACK_CACHE_SECONDS"])
    found = Receiver(account.id, account.unit_id, account.platform,
                     account_credentials(account.id))
    db.session.rollback()
    if ttl > 0:
        _cache()[key] = Receiver(found.account_id, found.unit_id, found.platform,
                                 found.credentials, cached=True,
                                 expires=time.monotonic() + ttl)
    return found


def forget(app=None) -> None:
    _cache(app).clear()


def forget_after_change(response):
    """After-request hook: a change made through this process (closing an account, new
    credentials, a transfer) is seen by its next callback."""
    if (request.method not in ("GET", "HEAD", "OPTIONS") and response.status_code < 400
            and not request.path.startswith("/callbacks/")):
        forget()
    return response
