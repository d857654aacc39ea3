"""A path served by a Flask app of its own, without what the pages need on every request.

The platforms' callbacks are machine traffic, at volume and against a deadline (WeChat waits
5 s): they need no session, no CSRF check, no language choice, no request-body limits of the
pages. They keep the security headers every answer carries (built once, govmedia/headers.py).
`serve_apart` builds a lean Flask app that shares the main app's configuration and extensions
(the database's engines, Redis, the processes' caches), registers the blueprint on it, and
sends the requests under the blueprint's prefix to it before the main app sees them (and
before the proxy fix: a callback's answer does not depend on the client's address). The blueprint stays registered on the main app too, for
`url_for` and the OpenAPI document; requests never reach that copy.

`fast`, when given, sees each request first at the WSGI level, before any of Flask's request
machinery (context, session, routing, response object): it answers the common case itself
(a status and a plain-text body, sent with the same headers a Flask answer carries) or
returns None, and the lean app answers as it would have (interaction.callback_wsgi).
"""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from .extensions import db
from .headers import security_headers

log = logging.getLogger(__name__)


class PrefixDispatcher:
    """WSGI: requests whose path starts with `prefix` go to `apart`, the rest to `main`."""

    def __init__(self, main, prefix: str, apart):
        self.main, self.prefix, self.apart = main, prefix, apart

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(self.prefix):
            return self.apart(environ, start_response)
        return self.main(environ, start_response)


def _unavailable(exc) -> Response:
    # The platform retries what is not answered 200: nothing is lost by saying so.
    log.error("%s: a service is unavailable: %s", type(exc).__name__, exc)
    return Response("service unavailable, try again later", status=503, mimetype="text/plain")


class FastPath:
    """WSGI: `fast(environ)` answers (status, text) or None; None goes to `lean`. A text
    answer carries what Flask's Response(text, mimetype="text/plain") and the lean app's
    after-request hook would: its type, its length and the security headers."""

    def __init__(self, fast, lean, headers: dict[str, str]):
        self.fast, self.lean, self.headers = fast, lean, list(headers.items())

    def __call__(self, environ, start_response):
        answer = self.fast(environ)
        if answer is None:
            return self.lean(environ, start_response)
        status, text = answer
        body = text.encode()
        start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                                ("Content-Length", str(len(body))), *self.headers])
        return [body]


def serve_apart(app: Flask, blueprint: Blueprint, fast=None) -> Flask:
    """Serve `blueprint` (which must have a url_prefix) from a lean app beside `app`;
    `fast(environ)`, if given, first (FastPath)."""
    prefix = blueprint.url_prefix.rstrip("/") + "/"
    lean = Flask(f"{app.import_name}.apart.{blueprint.name}")
    lean.config = app.config                 # one settings object: the same values
    lean.extensions = app.extensions         # the same engines, Redis, caches
    lean.url_map.converters.update(app.url_map.converters)
    lean.register_blueprint(blueprint)
    # Flask-SQLAlchemy keeps each app's engines in `_app_engines`: the lean app is given the
    # main app's (one pool per process), and the session's removal after each request.
    db._app_engines[lean] = db._app_engines[app]
    for teardown in app.teardown_appcontext_funcs:
        lean.teardown_appcontext(teardown)
    headers = security_headers(app.config)

    @lean.after_request
    def _headers(response):
        response.headers.update(headers)
        return response

    lean.register_error_handler(OperationalError, _unavailable)
    lean.register_error_handler(RedisError, _unavailable)
    apart = lean.wsgi_app if fast is None else FastPath(fast, lean.wsgi_app, headers)
    app.wsgi_app = PrefixDispatcher(app.wsgi_app, prefix, apart)
    return lean
