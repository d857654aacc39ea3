"""A path served by a Flask app of its own, without what the pages need on every request.

The platforms' callbacks are machine traffic, at volume and against a deadline (WeChat waits
5 s): they need no session, no CSRF check, no language choice, no request-body limits of the
pages. They keep the security headers every answer carries (built once, govmedia/headers.py).
`serve_apart` builds a lean Flask app that shares the main app's configuration and extensions
(the database's engines, Redis, the processes' caches), registers the blueprint on it, and
sends the requests under the blueprint's prefix to it before the main app sees them (and
before the proxy fix: a callback's answer does not depend on the client's address). The blueprint stays registered on the main app too, for
`url_for` and the OpenAPI document; requests never reach that copy.
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


def serve_apart(app: Flask, blueprint: Blueprint) -> Flask:
    """Serve `blueprint` (which must have a url_prefix) from a lean app beside `app`."""
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
    app.wsgi_app = PrefixDispatcher(app.wsgi_app, prefix, lean.wsgi_app)
    return lean
