"""Real activity (issue 14): the periodic sync of what accounts publish on their platforms,
and staff's evidence of updates on platforms without an API."""
import click
from flask.cli import AppGroup

from govmedia.periodic import register_periodic

from . import models  # noqa: F401  (tables known to migrations and create_all)
from .api import bp as api_bp
from .views import bp as views_bp
from .jobs import sync_activity
from .sync import due_accounts, sync_accounts


def init_app(app) -> None:
    app.register_blueprint(api_bp)
    app.register_blueprint(views_bp)
    if app.config["ACTIVITY_SYNC_SECONDS"] > 0:   # 0: no periodic sync (flask activity sync)
        register_periodic(app, "activity_sync", sync_activity,
                          every_seconds=app.config["ACTIVITY_SYNC_SECONDS"])
    app.cli.add_command(cli)


cli = AppGroup("activity", help="The activity sync and evidence of updates.")


@cli.command("sync")
def sync_command():
    """Sync every due account now, in this process."""
    totals = sync_accounts(due_accounts())
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(totals.items())) or "nothing due")
