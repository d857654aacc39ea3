"""Publisher pages: the article editor, previews, the reviews, people's queues, the check lists.

One blueprint ("publisher"), its routes in a module per page group. Thin views: forms are
validated with the API's pydantic models (publisher/schemas.py) and every decision is made
in the publisher's services; refusals are shown on the page. `init_app` wires the whole
publisher into the app: these pages, the API, the publishing tasks and the periodic jobs.
"""
from govmedia.holidays import register_deadline_recompute
from govmedia.periodic import register_periodic
from registry.supervision.outside_work import register_overdue_work

from ..covers import remove_unused_images_job
from ..editorial.api import bp as api_bp
from ..editorial.platform_auth import refresh_douyin_tokens
from ..fanout.sweep import sweep
from ..tasks import models as task_models  # noqa: F401  (the tasks' table)
from ..tasks.api import bp as tasks_api_bp
from ..tasks.queries import overdue_counts, overdue_reminders
from ..tasks.services import recompute_task_deadlines
from ..tasks.views import bp as tasks_views_bp
# (imported for their routes)
from . import articles, check_lists, deliveries, douyin, live, reviews, videos  # noqa: F401
from .common import bp

__all__ = ["bp", "init_app"]


def init_app(app) -> None:
    """Register the blueprints, the delivery sweep and the publishing tasks' deadlines."""
    app.register_blueprint(api_bp)
    app.register_blueprint(bp)
    app.register_blueprint(tasks_api_bp)
    app.register_blueprint(tasks_views_bp)
    # Deliveries left queued (Redis down at sign-off), due or interrupted: docs/FANOUT.md.
    register_periodic(app, "delivery_sweep", sweep,
                      every_seconds=app.config["DELIVERY_SWEEP_SECONDS"])
    # Publishing tasks count working days, and their overdue ones reach supervision.
    register_deadline_recompute(app, recompute_task_deadlines)
    register_overdue_work(app, "tasks", overdue_counts, overdue_reminders)
    # Douyin tokens refreshed before they end, refresh tokens renewed in their last week.
    register_periodic(app, "douyin_tokens", refresh_douyin_tokens, every_seconds=3600)
    # Uploaded images no article shows any more (a cover kept after a form error and never
    # attached, a picture deleted from the body) go after UNUSED_IMAGE_DAYS.
    register_periodic(app, "unused_images", remove_unused_images_job, daily_at="03:30")
