"""Public notices of deregistrations, closings and changes, the public registry lookup and feeds."""
from govmedia.holidays import register_deadline_recompute
from govmedia.periodic import register_periodic

from . import models  # noqa: F401  (the metadata must see the tables)
from . import public_annual  # noqa: F401  (the issued annual reports, on the public pages)
from .api import bp as api_bp
from .jobs import complete_deregistrations
from .public import api as public_api_bp
from .public import pages as public_pages_bp
from .services import account_notices, recompute_notice_deadlines
from .views import bp as views_bp
from .views import events as events_bp


def init_app(app) -> None:
    """Register the public pages and API (no login), the sponsors' and supervisors' notices pages
    and API, the event form of the account page, the recomputation of notice periods when a
    year's holidays are entered, and the daily job that completes deregistrations whose notice
    has ended."""
    for blueprint in (public_api_bp, public_pages_bp, api_bp, views_bp, events_bp):
        app.register_blueprint(blueprint)
    app.add_template_global(account_notices)  # the registry's account page lists them
    register_deadline_recompute(app, recompute_notice_deadlines)
    register_periodic(app, "complete_deregistrations", complete_deregistrations,
                      daily_at="00:10")
