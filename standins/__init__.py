"""Stand-in WeChat, Weibo and Douyin platforms: a local HTTP server, real paths, fields, codes."""
from standins.app import make_app, serve_in_thread
from standins.store import (DEFAULT_DOUYIN_APPS, DEFAULT_WECHAT_APPS, DEFAULT_WECHAT_CALLBACK,
                            DEFAULT_WEIBO_TOKENS)

__all__ = ["DEFAULT_DOUYIN_APPS", "DEFAULT_WECHAT_APPS", "DEFAULT_WECHAT_CALLBACK",
           "DEFAULT_WEIBO_TOKENS", "make_app",
           "serve_in_thread"]
