"""Articles through the three reviews (rule 8), with automated content checks (rule 9)."""
from govmedia.periodic import register_periodic

from . import models  # noqa: F401  (the tables, for metadata and migrations)
from .api import bp as api_bp
from .fanout.sweep import sweep
from .platform_auth import refresh_douyin_tokens
from .views import bp as views_bp


def init_app(app) -> None:
    """Register the blueprints and the delivery sweep."""
    app.register_blueprint(api_bp)
    app.register_blueprint(views_bp)
    # Deliveries left queued (Redis down at sign-off), due or interrupted: docs/FANOUT.md.
    register_periodic(app, "delivery_sweep", sweep,
                      every_seconds=app.config["DELIVERY_SWEEP_SECONDS"])
    # Douyin tokens refreshed before they end, refresh tokens renewed in their last week.
    register_periodic(app, "douyin_tokens", refresh_douyin_tokens, every_seconds=3600)
