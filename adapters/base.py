"""The adapter base class, the content it sends and what it returns."""
from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from .errors import PermanentError, RetryableError, UnconfirmedError
from .messages import N_, step

_TOKEN_IN_URL = re.compile(r"((?:access_token|secret|appsecret|app_secret)=)[^&\s'\"]+",
                           re.IGNORECASE)


def redact_tokens(text: str | None) -> str:
    """Tokens travel in query strings; an exception text may quote the URL. Never keep them."""
    return _TOKEN_IN_URL.sub(r"\1***", text or "")


class RedactTokens(logging.Filter):
    """urllib3 logs every request line at DEBUG with its query string, where WeChat and Weibo
    take their access tokens (a Weibo token is the stored credential): keep the line, not it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_URL.sub(r"\1***", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_URL.sub(r"\1***", arg) if isinstance(arg, str) else arg
                                for arg in record.args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(RedactTokens())


@dataclass
class Content:
    """One approved revision, as the delivery job passes it."""

    article_id: int
    revision: str  # content hash of the approved revision
    title: str
    body_html: str
    digest: str
    author: str
    source_url: str | None
    cover_image: bytes | None
    cover_filename: str | None
    weibo_text: str  # <= 140 characters including the portal link; the publisher computes it
    # Bytes of the images the body refers to, keyed by the exact `src` in body_html. Images not
    # listed here are downloaded from their absolute http(s) URL.
    images: dict[str, bytes] = field(default_factory=dict)
    # The article's video, a file on this machine's disk (streamed, never read whole), its
    # SHA-256 (what the approval binds to) and size in bytes; None for text-and-picture items.
    video_path: str | None = None
    video_sha256: str | None = None
    video_size: int | None = None


@dataclass
class PublishResult:
    post_id: str
    post_url: str | None


@dataclass
class ListedPost:
    """A post as the platform lists it (the activity sync): its own id, when, what, where."""

    platform_id: str
    published_at: datetime
    title: str
    url: str | None


SaveState = Callable[[dict], None]


class Adapter(ABC):
    """One platform. Subclasses set `platform` and `credential_fields` and implement the three
    methods; every HTTP call honours `base_url` and `timeout`."""

    platform: ClassVar[str]
    credential_fields: ClassVar[tuple[str, ...]]

    def __init__(self, credentials: dict, *, base_url: str, redis=None, timeout: float = 10.0,
                 poll_interval: float = 2.0, poll_attempts: int = 30,
                 account_options: dict | None = None):
        missing = [f for f in self.credential_fields if not (credentials or {}).get(f)]
        if missing:
            raise PermanentError(N_("The account's credentials are incomplete; missing: "
                                    "%(fields)s"), params={"fields": ", ".join(missing)})
        self.credentials = dict(credentials)
        self.base_url = base_url.rstrip("/")
        self.redis = redis
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.poll_attempts = poll_attempts
        self.account_options = dict(account_options or {})

    @staticmethod
    def listed_id(state: dict, post_id: str) -> str | None:
        """The id the platform's own listing shows for a post this adapter published (the
        activity sync meets the publisher's post on it); None when no listing shows it."""
        return str(post_id) if post_id else None

    @abstractmethod
    def publish(self, content: Content, state: dict, save_state: SaveState) -> PublishResult:
        """Send `content`, resuming from `state`; call save_state after each platform step
        that another step follows (it commits the ids before the next call). The last step's
        ids are left in `state`: the caller stores them with the outcome."""

    @abstractmethod
    def find_existing(self, content: Content, state: dict) -> PublishResult | None:
        """After an unconfirmed send: the post if the platform has it, else None."""

    @abstractmethod
    def withdraw(self, state: dict, post_id: str) -> None:
        """Remove a published post (撤稿)."""


_NOT_CONNECTED = (NewConnectionError, NameResolutionError, ConnectTimeoutError)


def _connect_failed(exc: requests.ConnectionError) -> bool:
    """True when the connection was never made (refused, DNS, connect timeout): nothing was sent.
    Other ConnectionErrors (reset or closed while waiting for the answer) come after sending.
    requests wraps urllib3's error (MaxRetryError.reason) in args; walk args, reasons, causes."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _NOT_CONNECTED):
            return True
        stack.extend(x for x in (getattr(current, "reason", None), current.__cause__,
                                 current.__context__, *current.args)
                     if isinstance(x, BaseException))
    return False


def transport_error(exc: requests.RequestException, *, commits: bool, what: str | dict):
    """Map a requests exception to our classes. `commits` says whether the call can create a
    post: only then does an answer lost after sending make the outcome unknown. `what`: the
    step, a msgid (or a message with parameters)."""
    params, name, said = {"step": step(what)}, type(exc).__name__, str(exc)
    if isinstance(exc, requests.ConnectTimeout) or (
            isinstance(exc, requests.ConnectionError) and _connect_failed(exc)):
        return RetryableError(N_("Could not connect to the platform (%(step)s); retried later"),
                              name, params=params, platform_message=said)
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        if commits:
            return UnconfirmedError(N_("The platform did not answer in time (%(step)s); it may "
                                       "have published: checked with the platform first"),
                                    name, params=params, platform_message=said)
        return RetryableError(N_("The platform did not answer in time (%(step)s); retried "
                                 "later"), name, params=params, platform_message=said)
    return RetryableError(N_("The request to the platform failed (%(step)s)"), name,
                          params=params, platform_message=said)
