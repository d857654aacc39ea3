"""Platform adapters: an explicit registry of one class per platform, and how to build one."""
from __future__ import annotations

import threading

from .base import Adapter, Content, PublishResult
from .errors import AdapterError, AuthError, PermanentError, RetryableError, UnconfirmedError
from .wechat import WechatAdapter
from .weibo import WeiboAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    "wechat": WechatAdapter,
    "weibo": WeiboAdapter,
}

_BASE_URL_SETTING = {"wechat": "WECHAT_API_BASE_URL", "weibo": "WEIBO_API_BASE_URL"}
_DEFAULT_BASE_URL = {"wechat": "https://api.weixin.qq.com", "weibo": "https://api.weibo.com"}

_REDIS_CLIENTS: dict[str, object] = {}
_REDIS_GUARD = threading.Lock()


def _shared_redis(url: str):
    """One client (connection pool) per URL, made on first use, never at import."""
    with _REDIS_GUARD:
        client = _REDIS_CLIENTS.get(url)
        if client is None:
            from redis import Redis

            client = _REDIS_CLIENTS[url] = Redis.from_url(url)
        return client


def get_adapter(platform: str, credentials: dict, app_config, redis=None, *,
                account_options: dict | None = None) -> Adapter:
    """Build the adapter for `platform` from the app config (a Flask config or a dict).

    Reads WECHAT_API_BASE_URL / WEIBO_API_BASE_URL, and optionally ADAPTER_TIMEOUT,
    WECHAT_POLL_INTERVAL, WECHAT_POLL_ATTEMPTS. Without `redis`, REDIS_URL (when set) gives
    the shared client through which every worker shares the WeChat access token."""
    cls = ADAPTERS.get(platform)
    if cls is None:
        raise PermanentError(f"不支持向该平台发布：{platform}")
    base_url = app_config.get(_BASE_URL_SETTING[platform]) or _DEFAULT_BASE_URL[platform]
    if redis is None and app_config.get("REDIS_URL"):
        redis = _shared_redis(app_config["REDIS_URL"])
    return cls(credentials, base_url=base_url, redis=redis,
               timeout=float(app_config.get("ADAPTER_TIMEOUT") or 10.0),
               poll_interval=float(app_config.get("WECHAT_POLL_INTERVAL") or 2.0),
               poll_attempts=int(app_config.get("WECHAT_POLL_ATTEMPTS") or 30),
               account_options=account_options)


__all__ = ["ADAPTERS", "Adapter", "AdapterError", "AuthError", "Content", "PermanentError",
           "PublishResult", "RetryableError", "UnconfirmedError", "WechatAdapter",
           "WeiboAdapter", "get_adapter"]
