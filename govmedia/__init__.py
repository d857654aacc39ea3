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


def register_request_state(app: Flask) -> None:
    # First of all before-request hooks, so CSRF refusals already see fresh state.
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_state)


def register_blueprints(app: Flask) -> None:
    import notices
    import publisher
    import registry

    for package in (registry, notices, publisher):
        package.init_app(app)


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
