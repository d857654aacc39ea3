"""Public notices of deregistrations, closings and changes, the public registry lookup and feeds."""


def init_app(app) -> None:
    """Register the public pages and API (no login), the sponsors' and supervisors' notices pages
    and API, and the daily job that completes deregistrations whose notice has ended."""
    import os

    from govmedia.queue import register_periodic

    from . import models  # noqa: F401  (the metadata must see the tables)
    from .api import bp as api_bp
    from .public import api as public_api_bp
    from .public import pages as public_pages_bp
    from .views import bp as views_bp

    # The benchmark switches the public response cache off to measure the database path.
    app.config.setdefault("PUBLIC_CACHE_DISABLED", os.environ.get("PUBLIC_CACHE_DISABLED") == "1")
    app.register_blueprint(public_api_bp)
    app.register_blueprint(public_pages_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(views_bp)
    register_periodic(app, "complete_deregistrations", "notices.jobs.complete_deregistrations",
                      daily_at="00:10")
