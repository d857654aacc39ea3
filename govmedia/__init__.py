"""govmedia: the app factory and what every package shares."""
import logging
import os

from flask import Flask, request, session


def create_app(config: dict | None = None) -> Flask:
    """Build the app; `config` overrides settings read from the environment (tests use it)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    instance_path = (config or {}).get("INSTANCE_PATH") or os.environ.get("GOVMEDIA_INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path,
                template_folder=os.path.join(root, "templates"),
                static_folder=os.path.join(root, "static"))
    from .settings import from_environment

    app.config.from_mapping(from_environment(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    if config:
        app.config.update(config)
    os.makedirs(app.instance_path, exist_ok=True)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.WARNING)
    app.logger.setLevel(logging.INFO)

    if app.config.get("TRUSTED_PROXIES"):
        # Behind nginx: the client's address, scheme and host come from X-Forwarded-* (only
        # as many hops as configured, so a client cannot forge them past the proxy).
        from werkzeug.middleware.proxy_fix import ProxyFix

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


def select_locale():
    chosen = session.get("lang") or request.args.get("lang")
    if chosen in ("zh", "en"):
        return chosen
    return "zh"


def register_extensions(app: Flask) -> None:
    from . import queue
    from .extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    migrate.init_app(app, db, directory=os.path.join(root, "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.login_message = None
    csrf.init_app(app)
    # Each package keeps its own catalogue; Flask-Babel merges the directories.
    catalogues = [os.path.join(root, "translations")] + [
        os.path.join(root, package, "translations") for package in ("publisher", "notices")
        if os.path.isdir(os.path.join(root, package, "translations"))]
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=";".join(catalogues))
    queue.init_app(app)
    # Every model must be imported before migrations or create_all look at the metadata.
    from . import models  # noqa: F401
    from notices import models as _notices  # noqa: F401
    from registry import models as _registry  # noqa: F401



def _fresh_request_state():
    # Flask-Login and Flask-Babel cache the user and the locale on `g`, which lives on the
    # app context; where an app context outlives one request (the test suite holds one
    # open), the previous request's user or language would leak into the next request.
    from flask import g

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
        from .errors import Invalid

        raise Invalid("请求含有 NUL 字符 (a query, form field or file name contains U+0000)")


def register_request_state(app: Flask) -> None:
    # First of all before-request hooks, so CSRF refusals already see fresh state.
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_state)
    app.before_request(_refuse_nul_characters)


def register_blueprints(app: Flask) -> None:
    from werkzeug.routing import IntegerConverter

    import notices
    import publisher
    import registry

    from .types import DB_INT_MAX

    class DatabaseInteger(IntegerConverter):
        """<int:id> up to the largest id a database holds: beyond it a 404, not an overflow."""

        def __init__(self, map, *args, **kwargs):
            kwargs.setdefault("max", DB_INT_MAX)
            super().__init__(map, *args, **kwargs)

    app.url_map.converters["int"] = DatabaseInteger  # before any rule is added

    for package in (registry, notices, publisher):
        package.init_app(app)
    from .health import bp as health_bp

    app.register_blueprint(health_bp)


def register_errorhandlers(app: Flask) -> None:
    from .api import register_api_error_handlers

    register_api_error_handlers(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
        return response
