"""The registry: units, accounts, lifecycle events and their filings."""
from govmedia.holidays import register_deadline_recompute
from govmedia.views import bp as web_bp

from .api import bp as api_bp
from .cli import registry_cli
from .filings import recompute_filing_deadlines
from .import_views import bp as imports_bp
from .views import bp as views_bp


def init_app(app) -> None:
    """The registry's pages, API and import, its command group, and the recomputation of
    filing deadlines when an admin enters a year's holidays."""
    for blueprint in (web_bp, api_bp, views_bp, imports_bp):
        app.register_blueprint(blueprint)
    app.cli.add_command(registry_cli)
    register_deadline_recompute(app, recompute_filing_deadlines)
