"""The stand-in's in-memory state, its defaults, and the way a route reaches it."""
from __future__ import annotations

import copy
import itertools
import os
import pickle
import tempfile
import threading
from collections import Counter

from flask import current_app

DEFAULT_WECHAT_APPS = {"wx5a7e1d0c0standin": "standin-app-secret-0123456789abcdef"}
DEFAULT_WEIBO_TOKENS = {
    "2.00standin_weibo_token": {"uid": 7000000001, "screen_name": "某县发布（模拟）",
                                "state": "valid"},
}
# The Douyin open platform application (client_key -> client_secret) the product uses.
DEFAULT_DOUYIN_APPS = {"awstandin0douyin": "standin-douyin-secret-0123456789"}
# The demo WeChat account's server configuration (服务器配置): Token and EncodingAESKey.
DEFAULT_WECHAT_CALLBACK = {"token": "standinToken2026",
                           "encoding_aes_key": "StandinEncodingAesKey0123456789abcdefghijkl"}
DEFAULT_CONFIG = {
    # A publish job answers publish_status 1 for this many polls, or until this many seconds
    # have passed, then settles with the outcome (0 success; 2–6 the documented failures).
    "wechat_publish_polls": 1,
    "wechat_publish_seconds": 1.0,
    "wechat_publish_outcome": 0,
    # 群发保护 (风险操作保护): a mass send to all followers waits for an administrator's
    # confirmation (POST /_standin/wechat/mass_confirm); sendall answers 89503 meanwhile.
    "wechat_mass_protect": False,
    "token_expires_in": 7200,
    # Empty: any http(s) link satisfies the share API's "link in a safe domain" rule.
    "weibo_safe_domains": [],
    # Douyin: tokens' lifetimes (seconds), how many video_data queries answer "under review"
    # (video_status 4) before the review settles with the outcome (5 public, 2 not public),
    # and the smallest part but the last (the platform's is 5 MB).
    "douyin_token_expires_in": 1296000,
    "douyin_refresh_expires_in": 2592000,
    "douyin_review_queries": 1,
    "douyin_review_outcome": 5,
    "douyin_min_part_bytes": 5 * 1024 * 1024,
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
            # 群发保护: (appid, clientmsgid) -> the send waiting for the administrator, and
            # the ones refused (the next sendall with that clientmsgid answers 89507).
            self.mass_pending: dict[tuple, dict] = {}
            self.mass_refused: set[tuple] = set()
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
            self.douyin_apps = dict(DEFAULT_DOUYIN_APPS)
            self.douyin_codes: dict[str, dict] = {}     # code -> {open_id, scope}
            self.douyin_tokens: dict[str, dict] = {}    # access_token -> {open_id, expires_at}
            self.douyin_refresh: dict[str, dict] = {}   # refresh_token -> {open_id, expires_at}
            self.douyin_uploads: dict[str, dict] = {}   # upload_id -> {open_id, parts}
            self.douyin_images: dict[str, dict] = {}    # image_id -> {open_id, size, item_id}
            self.douyin_videos: dict[str, dict] = {}    # video_id -> {open_id, size, parts}
            self.douyin_items: dict[str, dict] = {}     # item_id -> the post

    def next_id(self) -> int:
        return next(self.seq)

    # What was published survives a restart of the embedded run (`make run`), so the
    # product's "view on the platform" links keep working; tokens and faults do not.
    KEPT = ("materials", "images", "drafts", "publishes", "articles", "mass", "clientmsgids",
            "statuses")

    def save(self, path: str) -> None:
        """Write the published state to `path` (atomically: a crash leaves the old file)."""
        with self.lock:
            state = {name: getattr(self, name) for name in self.KEPT}
            state["next_id"] = next(self.seq)
            self.seq = itertools.count(state["next_id"])
            data = pickle.dumps(state)
        folder = os.path.dirname(os.path.abspath(path))
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)

    def load(self, path: str) -> bool:
        """Read what `save` wrote (a file the stand-in itself wrote in the instance folder)."""
        if not os.path.exists(path):
            return False
        with open(path, "rb") as handle:
            state = pickle.load(handle)  # noqa: S301 - our own file, never one uploaded
        with self.lock:
            for name in self.KEPT:
                setattr(self, name, state.get(name, getattr(self, name)))
            self.seq = itertools.count(state.get("next_id", 1))
        return True


def current_store() -> Store:
    """The store of the app handling this request (make_app puts it in app.extensions)."""
    return current_app.extensions["standin"]
