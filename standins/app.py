"""The stand-in as a Flask app, and a way to serve it on a thread of the calling process."""
from __future__ import annotations

import threading

from flask import Flask, request
from werkzeug.serving import WSGIRequestHandler, make_server

from standins import activity, control, douyin, wechat, wechat_inbox, weibo, weibo_comments
from standins.store import DEFAULT_CONFIG, DEFAULT_WECHAT_APPS, DEFAULT_WEIBO_TOKENS, Store


def make_app(wechat_apps: dict | None = None, weibo_tokens: dict | None = None,
             config: dict | None = None, state_path: str | None = None) -> Flask:
    """The stand-in as a Flask app. Defaults: one WeChat app (DEFAULT_WECHAT_APPS) and one
    Weibo token (DEFAULT_WEIBO_TOKENS). `state_path`: a file that keeps what was published
    across restarts (read at start, written after every change)."""
    app = Flask("standins")
    store = Store(DEFAULT_WECHAT_APPS if wechat_apps is None else wechat_apps,
                  DEFAULT_WEIBO_TOKENS if weibo_tokens is None else weibo_tokens,
                  {**DEFAULT_CONFIG, **(config or {})})
    app.extensions["standin"] = store
    for blueprint in (control.bp, wechat.bp, wechat_inbox.bp, weibo.bp, weibo_comments.bp,
                      douyin.bp, activity.bp):
        app.register_blueprint(blueprint)
    if state_path:
        store.load(state_path)

        @app.after_request
        def _keep(response):
            if request.method != "GET" and not request.path.startswith("/_standin"):
                store.save(state_path)
            return response
    return app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # the tests and the embedded run stay readable
        pass


def serve_in_thread(host: str = "127.0.0.1", port: int = 0, app: Flask | None = None):
    """Start the stand-in on a daemon thread; port 0 picks a free one. Returns (server, url);
    `server.shutdown()` stops it and `server.app` is the Flask app."""
    app = app or make_app()
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    server.app = app
    thread = threading.Thread(target=server.serve_forever, name="govmedia-standin", daemon=True)
    thread.start()
    return server, f"http://{host}:{server.server_port}"
