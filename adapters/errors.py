"""Typed adapter errors: the class decides whether a delivery is retried, refreshed or failed.

Every error carries its words as a message to say later (govmedia.wording): an English msgid
and its parameters, put into the reader's language when a page shows it, not in the worker's."""
from __future__ import annotations

from govmedia.wording import in_english, is_message, message, say


class AdapterError(Exception):
    """Base class. `msgid` (marked N_) and `params` say what happened, for the editor;
    `platform_code` is the platform's own code (WeChat errcode, Weibo error_code, an HTTP
    status) when there was one, `platform_message` its own words."""

    retryable: bool = False

    def __init__(self, msgid: str | dict, platform_code: str | int | None = None, *,
                 params: dict | None = None, platform_message: str | None = None):
        # A message made already (govmedia.wording.message) is taken as it is.
        self.message = msgid if is_message(msgid) else message(msgid, **(params or {}))
        self.platform_code = platform_code
        self.platform_message = platform_message
        english = in_english(self.message)
        super().__init__(english if platform_code is None else f"{english} ({platform_code})")

    def text(self) -> str:
        """The editor's words, in the reader's language (a job's: the default, Chinese)."""
        return say(self.message)

    def __str__(self) -> str:
        # In the current language, as logs and tracebacks read it (English outside the app).
        text = self.text()
        return text if self.platform_code is None else f"{text} ({self.platform_code})"


class RetryableError(AdapterError):
    """The platform proved it did not take the request (connection refused, busy, quota, rate
    limit, HTTP 5xx before any body): send again later. `retry_after` (seconds) is a hint for
    limits that reset slowly (daily quota), None when the job's own backoff is right."""

    retryable = True

    def __init__(self, msgid: str | dict, platform_code: str | int | None = None, *,
                 params: dict | None = None, platform_message: str | None = None,
                 retry_after: float | None = None):
        super().__init__(msgid, platform_code, params=params, platform_message=platform_message)
        self.retry_after = retry_after


class AuthError(AdapterError):
    """The platform refused the credentials. WeChat: raised only after the adapter fetched a new
    token once and the call still failed. Weibo: `token_expired=True`, the sponsor must
    authorize the application again; the product cannot cure it."""

    def __init__(self, msgid: str | dict, platform_code: str | int | None = None, *,
                 params: dict | None = None, platform_message: str | None = None,
                 retryable: bool = False, token_expired: bool = False):
        super().__init__(msgid, platform_code, params=params, platform_message=platform_message)
        self.retryable = retryable
        self.token_expired = token_expired


class PermanentError(AdapterError):
    """Content, permission or configuration error: never retried, shown to the editor."""


class UnconfirmedError(AdapterError):
    """The request left and no answer came back: the platform may have taken it. The caller
    must ask `find_existing()` before it ever sends again."""


class Pending(AdapterError):
    """The platform took the post and is still processing it (a WeChat publish answers
    "publishing" for seconds to minutes): nothing is sent again; the caller saves `state` and
    asks again after `check_after` seconds, by a scheduled follow-up, never by sleeping.
    `note`: the message is the delivery's status text while it waits (WeChat's 群发保护: an
    administrator must confirm), not only a line in the log."""

    def __init__(self, msgid: str | dict, platform_code: str | int | None = None, *,
                 params: dict | None = None, check_after: float = 2.0, note: bool = False):
        super().__init__(msgid, platform_code, params=params)
        self.check_after = check_after
        self.note = note
