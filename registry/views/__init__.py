"""Registry pages: thin views that parse forms, call the registry's services and render.

One blueprint ("registry"), its routes in a module per page group. `init_app` wires the whole
registry into the app: these pages, the registry's API, the inventory import and its command.
"""
from govmedia.holidays import register_deadline_recompute
from govmedia.views import bp as web_bp
from registry.api import bp as api_bp
from registry.filings import recompute_filing_deadlines
from registry.importer.cli import registry_cli
from registry.importer.views import bp as imports_bp

from . import accounts, admin, filings, holidays, units  # noqa: F401  (their routes)
from .common import bp

__all__ = ["bp", "init_app"]


def init_app(app) -> None:
    """The registry's pages, API and import, its command group, and the recomputation of
    filing deadlines when an admin enters a year's holidays."""
    for blueprint in (web_bp, api_bp, bp, imports_bp):
        app.register_blueprint(blueprint)
    app.cli.add_command(registry_cli)
    register_deadline_recompute(app, recompute_filing_deadlines)
