"""The stand-in's in-memory state, its defaults, and the way a route reaches it."""
from __future__ import annotations

import copy
import itertools
import threading
from collections import Counter

from flask import current_app

DEFAULT_WECHAT_APPS = {"wx5a7e1d0c0standin": "standin-app-secret-0123456789abcdef"}
DEFAULT_WEIBO_TOKENS = {
    "2.00standin_weibo_token": {"uid": 7000000001, "screen_name": "某县发布（模拟）",
                                "state": "valid"},
}
# The demo WeChat account's server configuration (服务器配置): Token and EncodingAESKey.
DEFAULT_WECHAT_CALLBACK = {"token": "standinToken2026",
                           "encoding_aes_key": "StandinEncodingAesKey0123456789abcdefghijkl"}
DEFAULT_CONFIG = {
    # A publish job answers publish_status 1 for this many polls, or until this many seconds
    # have passed, then settles with the outcome (0 success; 2–6 the documented failures).
    "wechat_publish_polls": 1,
    "wechat_publish_seconds": 1.0,
    "wechat_publish_outcome": 0,
    "token_expires_in": 7200,
    # Empty: any http(s) link satisfies the share API's "link in a safe domain" rule.
    "weibo_safe_domains": [],
}


class Store:
    """Everything both platforms remember; `reset()` goes back to the defaults."""

    def __init__(self, wechat_apps: dict, weibo_tokens: dict, config: dict):
        self.defaults = (dict(wechat_apps), copy.deepcopy(weibo_tokens), dict(config))
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            apps, tokens, config = self.defaults
            self.wechat_apps = dict(apps)
            self.weibo_tokens = copy.deepcopy(tokens)
            self.config = dict(config)
            self.tokens: dict[str, dict] = {}        # WeChat access tokens issued
            self.current: dict[tuple, str] = {}      # (appid, kind) -> latest token
            self.materials: dict[str, dict] = {}
            self.images: dict[str, bytes] = {}
            self.drafts: dict[str, dict] = {}
            self.publishes: dict[str, dict] = {}
            self.articles: dict[str, dict] = {}
            self.mass: dict[str, dict] = {}
            self.clientmsgids: dict[tuple, str] = {}
            self.statuses: list[dict] = []           # Weibo, oldest first
            # WeChat inbox: (appid, openid) -> when the follower last wrote; the custom
            # (customer-service) messages sent back, oldest first.
            self.followers_last_message: dict[tuple, float] = {}
            self.custom_messages: list[dict] = []
            self.comments: list[dict] = []           # Weibo comments, oldest first
            self.faults: list[dict] = []
            self.calls: Counter = Counter()
            self.token_requests: list[dict] = []
            self.seq = itertools.count(1)

    def next_id(self) -> int:
        return next(self.seq)


def current_store() -> Store:
    """The store of the app handling this request (make_app puts it in app.extensions)."""
    return current_app.extensions["standin"]
