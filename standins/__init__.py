"""Stand-in WeChat and Weibo platforms: a local HTTP server with the real paths, fields, codes."""
from standins.app import make_app, serve_in_thread
from standins.store import DEFAULT_WECHAT_APPS, DEFAULT_WECHAT_CALLBACK, DEFAULT_WEIBO_TOKENS

__all__ = ["DEFAULT_WECHAT_APPS", "DEFAULT_WECHAT_CALLBACK", "DEFAULT_WEIBO_TOKENS", "make_app",
           "serve_in_thread"]
