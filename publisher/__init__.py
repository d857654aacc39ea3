"""Articles through the three reviews (rule 8), with automated content checks (rule 9)."""
import threading


def init_app(app) -> None:
    """Import the models (so metadata and migrations see them) and register the blueprints."""
    from govmedia.queue import register_periodic

    from . import models  # noqa: F401
    from .api import bp as api_bp
    from .views import bp as views_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(views_bp)
    # Deliveries left queued (Redis down at sign-off), due or interrupted: docs/FANOUT.md.
    register_periodic(app, "delivery_sweep", "publisher.jobs.sweep",
                      every_seconds=int(app.config.get("DELIVERY_SWEEP_SECONDS") or 30))
    if app.config.get("STANDIN_PLATFORMS") and not app.testing:
        _standin_on_first_request(app)


def _standin_on_first_request(app) -> None:
    """The embedded run sends to the stand-in platforms (adapters/standin.py), started in this
    process on a free loopback port at the first request (CLI commands start nothing)."""
    lock = threading.Lock()

    @app.before_request
    def _start_standin():
        if app.extensions.get("govmedia_standin"):
            return
        with lock:
            if app.extensions.get("govmedia_standin"):
                return
            from adapters.standin import serve_in_thread

            server, url = serve_in_thread("127.0.0.1", 0)
            app.config["WECHAT_API_BASE_URL"] = url
            app.config["WEIBO_API_BASE_URL"] = url
            app.extensions["govmedia_standin"] = {"server": server, "url": url}
            app.logger.warning("posts go to the stand-in platforms at %s, not to WeChat or "
                               "Weibo (STANDIN_PLATFORMS)", url)
