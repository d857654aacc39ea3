"""Platform adapters: an explicit registry of one class per platform, and how to build one."""
from __future__ import annotations

import threading

from redis import Redis

from govmedia.settings import Settings

from .base import Adapter, Content, ListedPost, PublishResult, redact_tokens
from .douyin import DouyinAdapter, UnderReview
from .errors import (AdapterError, AuthError, Pending, PermanentError, RetryableError,
                     UnconfirmedError)
from .messages import N_
from .wechat import WechatAdapter
from .weibo import WeiboAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    "wechat": WechatAdapter,
    "weibo": WeiboAdapter,
    "douyin": DouyinAdapter,
}

_BASE_URL_SETTING = {"wechat": "WECHAT_API_BASE_URL", "weibo": "WEIBO_API_BASE_URL",
                     "douyin": "DOUYIN_API_BASE_URL"}

_REDIS_CLIENTS: dict[str, object] = {}
_REDIS_GUARD = threading.Lock()


def _shared_redis(url: str):
    """One client (connection pool) per URL, made on first use, never at import."""
    with _REDIS_GUARD:
        client = _REDIS_CLIENTS.get(url)
        if client is None:
            client = _REDIS_CLIENTS[url] = Redis.from_url(url)
        return client


def get_adapter(platform: str, credentials: dict, app_config, redis=None, *,
                account_options: dict | None = None) -> Adapter:
    """Build the adapter for `platform` from the app config (a Flask config or a dict).

    Reads WECHAT_API_BASE_URL / WEIBO_API_BASE_URL / DOUYIN_API_BASE_URL (and the settings
    an adapter class lists in `extra_settings`, passed by lower-case name), ADAPTER_TIMEOUT,
    WECHAT_POLL_INTERVAL and WECHAT_POLL_ATTEMPTS; a plain dict without them gets the defaults
    of govmedia/settings.py.
    Without `redis`, REDIS_URL (when set) gives the shared client through which every worker
    shares the WeChat access token."""
    cls = ADAPTERS.get(platform)
    if cls is None:
        raise PermanentError(N_("Publishing to this platform is not supported: %(platform)s"),
                             params={"platform": platform})

    def setting(name: str):
        value = app_config.get(name)
        return Settings.names()[name].default if value in (None, "") else value

    if redis is None and app_config.get("REDIS_URL"):
        redis = _shared_redis(app_config["REDIS_URL"])
    extra = {name.lower(): setting(name) for name in getattr(cls, "extra_settings", ())}
    return cls(credentials, base_url=setting(_BASE_URL_SETTING[platform]), redis=redis,
               timeout=float(setting("ADAPTER_TIMEOUT")),
               poll_interval=float(setting("WECHAT_POLL_INTERVAL")),
               poll_attempts=int(setting("WECHAT_POLL_ATTEMPTS")),
               account_options=account_options, **extra)


def listed_id(platform: str, state: dict, post_id: str) -> str | None:
    """The id the platform's listing shows for a post we published (Adapter.listed_id)."""
    cls = ADAPTERS.get(platform)
    return cls.listed_id(state or {}, post_id) if cls is not None else None


__all__ = ["ADAPTERS", "Adapter", "AdapterError", "AuthError", "Content", "DouyinAdapter",
           "ListedPost", "Pending", "PermanentError", "PublishResult", "RetryableError",
           "UnconfirmedError", "UnderReview", "WechatAdapter", "WeiboAdapter", "get_adapter",
           "listed_id", "redact_tokens"]
