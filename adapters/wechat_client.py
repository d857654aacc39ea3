"""The WeChat API client: wechatpy's, pointed at a base URL, with one shared access token.

wechatpy 1.8.18 sends its token fetch to the real host whatever API_BASE_URL says, and retries
40001 without limit. `WechatClient` keeps wechatpy's request, JSON and error code paths, sets
`API_BASE_URL` per instance, fetches the token from `{base}/cgi-bin/stable_token` itself, and
refreshes a rejected token at most once per call (docs/ADAPTERS.md).
"""
from __future__ import annotations

import hashlib
import threading
import time
from contextlib import contextmanager

import requests
from redis.exceptions import LockError
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.redisstorage import RedisStorage

from .base import transport_error
from .errors import AuthError, RetryableError
from .messages import N_, WECHAT, message
from .wechat_codes import RETRYABLE, TOKEN_ERRORS, TOKEN_FETCH

TOKEN_WAIT = N_("Timed out waiting for the access token; retried later")
FETCHING_TOKEN = N_("fetching the access token")


class _MemoryStorage(SessionStorage):
    """Process-wide token storage with expiry, for the embedded mode without Redis."""

    def __init__(self):
        self._data: dict[str, tuple[object, float | None]] = {}
        self._lock = threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return default
            value, expires = item
            if expires is not None and expires <= time.monotonic():
                del self._data[key]
                return default
            return value

    def set(self, key, value, ttl=None):
        if value is None:
            return
        with self._lock:
            self._data[key] = (value, time.monotonic() + ttl if ttl else None)

    def delete(self, key):
        with self._lock:
            self._data.pop(key, None)

    def clear(self):
        with self._lock:
            self._data.clear()


_MEMORY = _MemoryStorage()
_LOCAL_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


def clear_local_tokens() -> None:
    """Forget the tokens cached in this process (tests; a stand-in that was reset)."""
    _MEMORY.clear()


def _local_lock(name: str) -> threading.Lock:
    with _LOCAL_LOCKS_GUARD:
        return _LOCAL_LOCKS.setdefault(name, threading.Lock())


class WechatClient(WeChatClient):
    """wechatpy's client with our base URL, token endpoint, shared storage and one refresh."""

    def __init__(self, appid: str, secret: str, *, base_url: str, redis, timeout: float):
        scope = hashlib.sha1(base_url.encode()).hexdigest()[:10]
        prefix = f"govmedia:wechat:{scope}"
        # Redis: every worker sees the same token. An adapter used on its own, without Redis,
        # keeps it process-wide, with the same key scheme so different base URLs stay apart.
        storage = (RedisStorage(redis, prefix=prefix) if redis is not None
                   else _PrefixedStorage(_MEMORY, prefix + ":"))
        super().__init__(appid, secret, session=storage, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = f"{base_url}/cgi-bin/"
        self.base_url = base_url
        self.redis = redis
        self.lock_name = f"{prefix}:{appid}:token-lock"

    @contextmanager
    def _token_lock(self):
        """One token fetch at a time for this account across every worker: a fetch by one
        worker can invalidate another's token, and the daily quota is small."""
        wait = self.timeout * 2 + 5
        if self.redis is not None:
            lock = self.redis.lock(self.lock_name, timeout=wait, blocking_timeout=wait)
            try:
                acquired = lock.acquire()
            except LockError as exc:  # pragma: no cover - redis-py raises only on misuse
                raise RetryableError(TOKEN_WAIT, "lock") from exc
            if not acquired:
                raise RetryableError(TOKEN_WAIT, "lock")
            try:
                yield
            finally:
                try:
                    lock.release()
                except LockError:
                    pass  # expired while we held it: the next holder proceeds, nothing to undo
        else:
            lock = _local_lock(self.lock_name)
            if not lock.acquire(timeout=wait):
                raise RetryableError(TOKEN_WAIT, "lock")
            try:
                yield
            finally:
                lock.release()

    @property
    def access_token(self):
        token = self.session.get(self.access_token_key)
        if token:
            return token
        with self._token_lock():
            token = self.session.get(self.access_token_key)
            if token:  # another worker fetched it while we waited
                return token
            return self._fetch_stable(force_refresh=False)

    def fetch_access_token(self):
        """wechatpy's hook; ours goes to {base}/cgi-bin/stable_token with a timeout."""
        return self._fetch_stable(force_refresh=False)

    def _fetch_stable(self, *, force_refresh: bool) -> str:
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
                "force_refresh": force_refresh}
        try:
            res = self._http.post(f"{self.base_url}/cgi-bin/stable_token", json=body,
                                  timeout=self.timeout)
        except requests.RequestException as exc:
            raise transport_error(exc, commits=False, what=FETCHING_TOKEN) from exc
        if res.status_code >= 500 or res.status_code == 429:
            raise RetryableError(N_("WeChat answered HTTP %(status)s when asked for the access "
                                    "token"), res.status_code, params={"status": res.status_code})
        try:
            result = res.json()
        except ValueError as exc:
            raise RetryableError(N_("WeChat answered something unreadable when asked for the "
                                    "access token"), res.status_code) from exc
        code = int(result.get("errcode") or 0)
        if code:
            errmsg = result.get("errmsg")
            if code in RETRYABLE:
                raise RetryableError(WECHAT[code], code, platform_message=errmsg,
                                     retry_after=RETRYABLE[code])
            if code in TOKEN_FETCH:
                raise AuthError(N_("Fetching the access token failed: %(reason)s"), code,
                                params={"reason": message(TOKEN_FETCH[code])},
                                platform_message=errmsg)
            raise AuthError(N_("Fetching the access token failed: WeChat answered “%(said)s”"),
                            code, params={"said": errmsg or str(code)}, platform_message=errmsg)
        token = result["access_token"]
        expires_in = int(result.get("expires_in") or 7200)
        # Stored a little shorter than its life so every worker renews before WeChat refuses it.
        self.session.set(self.access_token_key, token, max(60, expires_in - 300))
        return token

    def refresh_after_rejection(self, rejected: str) -> str:
        with self._token_lock():
            current = self.session.get(self.access_token_key)
            if current and current != rejected:  # another worker already renewed it
                return current
            self.session.delete(self.access_token_key)
            token = self._fetch_stable(force_refresh=False)
            if token == rejected:
                # WeChat still hands out the token it refuses: force a new one (limited per day).
                token = self._fetch_stable(force_refresh=True)
            return token

    def _request(self, method, url_or_endpoint, **kwargs):
        params = dict(kwargs.pop("params", None) or {})
        for attempt in (0, 1):
            call = dict(kwargs)
            call["params"] = dict(params)
            if attempt:  # the refreshed token, not the one a helper put in the query
                call["params"].pop("access_token", None)
            sent = call["params"].get("access_token") or self.access_token
            call["params"]["access_token"] = sent
            try:
                return super()._request(method, url_or_endpoint, **call)
            except WeChatClientException as exc:
                if exc.errcode is not None and int(exc.errcode) in TOKEN_ERRORS and attempt == 0:
                    self.refresh_after_rejection(sent)
                    continue
                raise


class _PrefixedStorage(SessionStorage):
    def __init__(self, inner: SessionStorage, prefix: str):
        self.inner, self.prefix = inner, prefix

    def get(self, key, default=None):
        return self.inner.get(self.prefix + key, default)

    def set(self, key, value, ttl=None):
        self.inner.set(self.prefix + key, value, ttl)

    def delete(self, key):
        self.inner.delete(self.prefix + key)
