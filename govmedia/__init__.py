"""govmedia: the app factory and what every package shares."""
import logging
import os
from importlib import import_module

from flask import Flask, g, has_request_context, request, session
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import models  # noqa: F401  (the core's tables in the metadata)
from . import queue
from .api import register_api_error_handlers
from .cli import register as register_cli
from .engines import start_embedded
from .errors import Invalid
from .bodies import apply_body_limit
from .extensions import babel, csrf, db, login_manager, migrate
from .headers import security_headers
from .health import bp as health_bp
from .profile import api as profile_api_bp
from .profile import bp as profile_bp
from .settings import Settings
from .types import DB_INT_MAX


# The domain packages, lowest first, each named by the module that wires it in: a package
# whose pages sit in a subpackage above its services is wired by that subpackage, so no
# package imports its own subpackages' wiring. The core never imports them at module level:
# the factory loads each and calls its `init_app(app)`, as Flask loads extensions.
DOMAIN_PACKAGES = ("registry.views", "interaction", "registry.supervision", "registry.activity",
                   "notices", "publisher.views", "demo")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment; `config` overrides settings (tests use it)."""
    config = dict(config or {})
    if "SQLALCHEMY_DATABASE_URI" in config:  # the name Flask-SQLAlchemy users know
        config.setdefault("DATABASE_URL", config.pop("SQLALCHEMY_DATABASE_URI"))
    settings = Settings.load(overrides=config)
    app = Flask(__name__, instance_relative_config=True,
                instance_path=settings.instance_path or None,
                template_folder=os.path.join(ROOT, "templates"),
                static_folder=os.path.join(ROOT, "static"))
    os.makedirs(app.instance_path, exist_ok=True)
    if not settings.database_url or not settings.redis_url:
        embedded = start_embedded(app.instance_path, postgres=not settings.database_url,
                                  redis=not settings.redis_url)
        settings.database_url = settings.database_url or embedded.database_url
        settings.redis_url = settings.redis_url or embedded.redis_url
    app.extensions["settings"] = settings
    app.config.update(settings.flask_config())
    app.config.from_pyfile("config.py", silent=True)
    app.config.update({k: v for k, v in config.items() if k not in Settings.names()})
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.WARNING)
    app.logger.setLevel(logging.INFO)

    if app.config["TRUSTED_PROXIES"]:
        # Behind nginx: the client's address, scheme and host come from X-Forwarded-* (only
        # as many hops as configured, so a client cannot forge them past the proxy).
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,
                                x_port=hops, x_prefix=hops)

    register_extensions(app)
    register_request_state(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_security_headers(app)
    return app


LANGUAGES = ("zh", "en")


def select_locale():
    """Pages: the reader's switch (or ?lang=); the API: Accept-Language. Chinese by default."""
    if not has_request_context():  # jobs and commands speak the default language
        return "zh"
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if request.path.startswith("/api/"):
        # A script has no session: it asks with Accept-Language; no header means Chinese.
        return request.accept_languages.best_match(LANGUAGES, default="zh")
    # A signed-in reader's choice is stored on them (/lang/<code>). The session's copy can be
    # rewritten with the old choice by a response to a request that began before the switch
    # (a live page's poll carries the session it loaded), so the stored one decides. The user
    # is read only when this request already loaded it: an error page while the database is
    # down still renders.
    user = g.get("_login_user")
    if user is not None and getattr(user, "language", None) in LANGUAGES:
        return user.language
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "zh"


def colon() -> str:
    """The colon after a label: full-width in Chinese text, ": " in English."""
    return _(": ")


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = None
    csrf.init_app(app)
    # Each package keeps its own catalogue; Flask-Babel merges the directories.
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=";".join(_catalogues()))
    queue.init_app(app)
    app.jinja_env.globals["colon"] = colon


def _fresh_request_state():
    # Flask-Login and Flask-Babel cache the user and the locale on `g`, which lives on the
    # app context; where an app context outlives one request (the test suite holds one
    # open), the previous request's user or language would leak into the next request.
    g.pop("_login_user", None)
    g.pop("_flask_babel", None)


def _refuse_nul_characters():
    # PostgreSQL text cannot hold U+0000 (the query would fail: a 500) and no query, form or
    # file name needs one. JSON bodies are checked by their models (registry/schemas.py).
    values = [*request.args.items(multi=True)]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values += [*request.form.items(multi=True)]
        values += [(key, upload.filename or "") for key, upload in request.files.items(multi=True)]
    if any("\x00" in key or "\x00" in value for key, value in values):
        raise Invalid(_("The request contains a NUL character (U+0000)."))


def register_request_state(app: Flask) -> None:
    # First of all before-request hooks, so CSRF refusals already see fresh state.
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_state)
    # Then each view's own body limit, before the CSRF check reads the body (govmedia.bodies).
    app.before_request_funcs[None].insert(1, apply_body_limit)
    app.before_request(_refuse_nul_characters)


def _catalogues() -> list[str]:
    """The core's catalogue, then each domain package's, found at the wiring module or any
    package above it (`publisher.views` is wired in, `publisher/translations` is read)."""
    found = [os.path.join(ROOT, "translations")]
    for package in DOMAIN_PACKAGES:
        parts = package.split(".")
        for depth in range(len(parts), 0, -1):
            path = os.path.join(ROOT, *parts[:depth], "translations")
            if os.path.isdir(path) and path not in found:
                found.append(path)
    return found


def register_blueprints(app: Flask) -> None:
    class DatabaseInteger(IntegerConverter):
        """<int:id> up to the largest id a database holds: beyond it a 404, not an overflow."""

        def __init__(self, map, *args, **kwargs):
            kwargs.setdefault("max", DB_INT_MAX)
            super().__init__(map, *args, **kwargs)

    app.url_map.converters["int"] = DatabaseInteger  # before any rule is added
    app.register_blueprint(health_bp)
    app.register_blueprint(profile_bp)
    app.register_blueprint(profile_api_bp)
    for name in DOMAIN_PACKAGES:
        import_module(name).init_app(app)


def register_errorhandlers(app: Flask) -> None:
    register_api_error_handlers(app)


def register_commands(app: Flask) -> None:
    register_cli(app)


STATIC_MAX_AGE = 3600   # seconds a browser keeps the vendored icon, styles and scripts


def register_security_headers(app: Flask) -> None:
    headers = security_headers(app.config)

    @app.after_request
    def _headers(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            # Pages load without asking for them again; an upgrade's file arrives within the
            # hour. Only the static files: a video or an export stays uncached (send_file's
            # default would make every file public).
            response.cache_control.max_age = STATIC_MAX_AGE
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
