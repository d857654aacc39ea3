"""Douyin open platform (open.douyin.com): the HTTP calls, the tokens, the error codes.

The endpoints, fields and codes used are listed in docs/ADAPTERS.md ("Douyin"). Answers
carry `data.error_code` (0 on success) and often `extra.error_code`; the newer `/api/douyin/`
endpoints answer `err_no` / `extra.error_code` with eight-digit codes (28001003, ...).
"""
from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

import requests

from . import messages
from .base import transport_error
from .errors import AuthError, PermanentError, RetryableError, UnconfirmedError
from .messages import (ANSWERED_ERROR, DOUYIN, MAY_HAVE_PUBLISHED, N_, REFUSED, UNAVAILABLE,
                       about, step)

# The scopes video publishing needs (asked for on the authorise page).
SCOPES = ("user_info", "video.create", "video.delete", "video.data", "video.list")

# The words of every code are in adapters/messages.py (DOUYIN).
# The access token is refused: refresh once, then the sponsor must authorise again.
TOKEN_REFUSED = {2190002, 2190008, 28001003, 28001008}
# The refresh token is gone: only a new authorisation cures it.
AUTHORISATION_LAPSED = {10010, 10020, 2190016}
RETRYABLE = {2100004, 28001005, 2100007}
UNKNOWN_ITEM = 2100005  # a deleted or foreign item_id is a parameter error at /video/delete/


class MultipartFile:
    """A multipart/form-data body with one file field, read from disk as the request is
    sent: `len()` gives requests the Content-Length, `read(n)` streams the bytes."""

    def __init__(self, path: str, field: str, filename: str, offset: int = 0,
                 length: int | None = None, mime: str = "video/mp4"):
        self.boundary = uuid.uuid4().hex
        self.head = (f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                     f"filename=\"{filename}\"\r\nContent-Type: {mime}\r\n\r\n").encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.length = os.path.getsize(path) - offset if length is None else length
        self.file = open(path, "rb")  # noqa: SIM115 - closed by close() after the request
        self.file.seek(offset)
        self.left = self.length
        self.pending = self.head

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self.head) + self.length + len(self.tail)

    def read(self, size: int = -1) -> bytes:
        size = 64 * 1024 if size is None or size < 0 else size
        if not self.pending and self.left > 0:
            self.pending = self.file.read(min(size, self.left))
            self.left -= len(self.pending)
            if self.left == 0 or not self.pending:
                self.pending += self.tail
                self.tail, self.left = b"", 0
        elif not self.pending and self.tail:
            self.pending, self.tail = self.tail, b""
        out, self.pending = self.pending[:size], self.pending[size:]
        return out

    def close(self) -> None:
        self.file.close()


class DouyinClient:
    """The calls, with the account's tokens; a token near its end is refreshed first and the
    new one handed to `on_credentials` (the caller stores it encrypted)."""

    def __init__(self, credentials: dict, *, base_url: str, timeout: float, client_key: str,
                 client_secret: str, refresh_before: float,
                 on_credentials: Callable[[dict], None] | None = None):
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.client_key = client_key
        self.client_secret = client_secret
        self.refresh_before = refresh_before
        self.on_credentials = on_credentials
        self.http = requests.Session()

    # ------------------------------------------------------------------ the tokens
    def refresh(self) -> None:
        """/oauth/refresh_token/: a new access token; the refresh token stays the same."""
        data = self.call("POST", "/oauth/refresh_token/", N_("refreshing the access token"),
                         auth=False, form={
            "client_key": self.client_key, "grant_type": "refresh_token",
            "refresh_token": self.credentials["refresh_token"]})
        self.credentials.update(token_fields(data, self.credentials))
        if self.on_credentials is not None:
            self.on_credentials(dict(self.credentials))

    def _fresh_token(self) -> str:
        expires_at = float(self.credentials.get("expires_at") or 0)
        if expires_at and expires_at - time.time() < self.refresh_before:
            self.refresh()
        return self.credentials["access_token"]

    # ------------------------------------------------------------------ one call
    def call(self, method: str, path: str, what: str, *, commits: bool = False,
             auth: bool = True, params: dict | None = None, json: dict | None = None,
             form: dict | None = None, upload: tuple | None = None,
             image: tuple | None = None) -> dict:
        """The answer's `data`; refreshes a refused access token once and tries again.
        `upload`: (path, offset, length) of a file slice sent as the multipart field `video`;
        `image`: (filename, bytes, mime) sent as the multipart field `image` (a picture is
        small: at most 100 MB by the platform's rules, a cover far less)."""
        for attempt in (1, 2):
            headers, query = {}, dict(params or {})
            if auth:
                headers["access-token"] = self._fresh_token()
                query.setdefault("open_id", self.credentials["open_id"])
            body = None
            if upload is not None:
                path_, offset, length = upload
                body = MultipartFile(path_, "video", "video.mp4", offset, length)
                headers["Content-Type"] = body.content_type
            try:
                return self._send(method, path, what, commits, headers, query, json, form,
                                  body, {"image": image} if image is not None else None)
            except AuthError as exc:
                if attempt == 2 or not auth or exc.platform_code not in TOKEN_REFUSED:
                    raise
                self.refresh()  # a lapsed refresh token raises token_expired from here
            finally:
                if body is not None:
                    body.close()
        raise AssertionError("unreachable")

    def _send(self, method, path, what, commits, headers, query, json, form, body,
              files=None) -> dict:
        try:
            res = self.http.request(method, self.base_url + path, params=query, json=json,
                                    data=body if body is not None else form, files=files,
                                    headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            raise transport_error(exc, commits=commits, what=what) from exc
        try:
            answer = res.json()
        except ValueError:
            answer = None
        code, message = error_of(answer)
        if code:
            raise map_error(code, message, what, commits)
        if res.status_code >= 500 or res.status_code == 429:
            if res.status_code == 504 and commits:
                raise UnconfirmedError(MAY_HAVE_PUBLISHED, res.status_code,
                                       params=about("douyin", what))
            raise RetryableError(UNAVAILABLE, res.status_code,
                                 params=about("douyin", what, status=res.status_code))
        if res.status_code >= 400 or not isinstance(answer, dict):
            if commits and res.status_code < 400:
                raise UnconfirmedError(MAY_HAVE_PUBLISHED, params=about("douyin", what))
            raise PermanentError(REFUSED, res.status_code, params=about(
                "douyin", what, status=res.status_code, setting="DOUYIN_API_BASE_URL"))
        data = answer.get("data")
        return data if isinstance(data, dict) else {}


def error_of(answer) -> tuple[int, str | None]:
    """(code, message) of an answer; (0, None) when it succeeded."""
    if not isinstance(answer, dict):
        return 0, None
    for holder in (answer.get("data"), answer.get("extra"), answer):
        if isinstance(holder, dict):
            code = holder.get("error_code", holder.get("err_no"))
            if code not in (None, 0, "0"):
                return int(code), holder.get("description") or holder.get("err_msg")
    return 0, None


def map_error(code: int, message: str | None, what: str, commits: bool):
    if code in AUTHORISATION_LAPSED or code in TOKEN_REFUSED:
        return AuthError(DOUYIN[code], code, platform_message=message, token_expired=True)
    if code in RETRYABLE:
        if commits:
            return UnconfirmedError(MAY_HAVE_PUBLISHED, code, platform_message=message,
                                    params=about("douyin", what))
        return RetryableError(DOUYIN[code], code, platform_message=message)
    if code in DOUYIN:
        return PermanentError(N_("%(reason)s (%(step)s)"), code, platform_message=message,
                              params={"reason": messages.message(DOUYIN[code]),
                                      "step": step(what)})
    return PermanentError(ANSWERED_ERROR, code, platform_message=message,
                          params=about("douyin", said=message or str(code)))


def token_fields(data: dict, previous: dict | None = None) -> dict:
    """The stored credential fields from a token answer (access_token or refresh_token)."""
    now = time.time()
    fields = {"access_token": data["access_token"],
              "expires_at": now + float(data.get("expires_in") or 0)}
    if data.get("open_id"):
        fields["open_id"] = data["open_id"]
    if data.get("refresh_token"):
        fields["refresh_token"] = data["refresh_token"]
    if data.get("refresh_expires_in"):
        fields["refresh_expires_at"] = now + float(data["refresh_expires_in"])
    elif previous and previous.get("refresh_expires_at"):
        fields["refresh_expires_at"] = previous["refresh_expires_at"]
    if data.get("scope"):
        fields["scope"] = data["scope"]
    return fields


# ---------------------------------------------------------------------- the authorisation
def authorize_url(base_url: str, client_key: str, redirect_uri: str, state: str) -> str:
    """Where the sponsor's browser goes: /platform/oauth/connect/ with the publishing scopes."""
    query = urlencode({"client_key": client_key, "response_type": "code",
                       "scope": ",".join(SCOPES), "redirect_uri": redirect_uri,
                       "state": state})
    return f"{base_url.rstrip('/')}/platform/oauth/connect/?{query}"


def exchange_code(base_url: str, client_key: str, client_secret: str, code: str, *,
                  timeout: float) -> dict:
    """/oauth/access_token/: the credential fields (open_id, tokens, their ends) for a code."""
    client = DouyinClient({}, base_url=base_url, timeout=timeout, client_key=client_key,
                          client_secret=client_secret, refresh_before=0)
    data = client.call("POST", "/oauth/access_token/", N_("exchanging the code for a token"),
                       auth=False, form={
        "client_key": client_key, "client_secret": client_secret, "code": code,
        "grant_type": "authorization_code"})
    return token_fields(data)


def renew_refresh_token(credentials: dict, *, base_url: str, client_key: str,
                        timeout: float) -> dict:
    """/oauth/renew_refresh_token/: a new refresh token (30 days; five renewals at most).
    The old one stops working at once, so the caller stores the answer before anything else."""
    client = DouyinClient(credentials, base_url=base_url, timeout=timeout,
                          client_key=client_key, client_secret="", refresh_before=0)
    data = client.call("POST", "/oauth/renew_refresh_token/", N_("renewing the refresh token"),
                       auth=False,
                       form={"client_key": client_key,
                             "refresh_token": credentials["refresh_token"]})
    return {**credentials, "refresh_token": data["refresh_token"],
            "refresh_expires_at": time.time() + float(data.get("expires_in") or 0)}
