"""Supervision (rule 3, 5, 7): dormant and duplicate accounts, dashboard, reports, orders, reminders."""
import click
from flask.cli import AppGroup

from govmedia.extensions import db
from govmedia.periodic import register_periodic

from . import models  # noqa: F401  (tables known to migrations and create_all)
from . import annual_views  # noqa: F401  (the annual report's pages, on views.bp)
from . import inspection_views  # noqa: F401  (the inspection moment's page, on views.bp)
from . import spotcheck_views  # noqa: F401  (the spot check's pages, on views.bp)
from . import spotcheck_api  # noqa: F401  (its API, on api.bp)
from . import inspection_api  # noqa: F401  (the inspection moment's API, on api.bp)
from . import annual_api  # noqa: F401  (the annual report's API, on api.bp)
from . import profile_api  # noqa: F401  (rule profiles per node, on api.bp)
from . import profile_views  # noqa: F401  (their page, on views.bp)
from .list_api import bp as api_bp
from .jobs import apply_pending_figures, send_daily_reminders
from .names import refresh_name_index
from .pending import rebuild_all
from .list_views import bp as views_bp


def init_app(app) -> None:
    app.register_blueprint(api_bp)
    app.register_blueprint(views_bp)
    register_periodic(app, "daily_reminders", send_daily_reminders, daily_at="07:00")
    register_periodic(app, "supervision_figures", apply_pending_figures,
                      every_seconds=app.config["SUPERVISION_APPLY_SECONDS"])
    app.cli.add_command(cli)


cli = AppGroup("supervision", help="Supervision figures, reminders and reports.")


@cli.command("rebuild")
def rebuild():
    """Recompute the derived update gaps, daily counts and name index from the data."""
    n = rebuild_all()
    refresh_name_index()
    db.session.commit()
    click.echo(f"rebuilt: {n}")


@cli.command("remind")
@click.option("--date", "day", default=None, help="YYYY-MM-DD (default: today in Asia/Shanghai)")
def remind(day):
    """Run the daily reminders now."""
    click.echo(send_daily_reminders(day))
