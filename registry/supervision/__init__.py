"""Supervision (rule 3, 5, 7): dormant and duplicate accounts, dashboard, reports, orders, reminders."""
import os

import click
from flask.cli import AppGroup

SMTP_SETTINGS = {"SMTP_HOST": str, "SMTP_PORT": int, "SMTP_USERNAME": str, "SMTP_PASSWORD": str,
                 "SMTP_FROM": str, "SMTP_STARTTLS": bool, "SMTP_SSL": bool, "PUBLIC_BASE_URL": str}


def _env(name: str, kind):
    value = os.environ.get(name)
    if value in (None, ""):
        return None
    if kind is bool:
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return kind(value)


def init_app(app) -> None:
    from govmedia.queue import register_periodic

    from . import models  # noqa: F401  (tables known to migrations and create_all)
    from .api import bp as api_bp
    from .services import DEFAULTS
    from .views import bp as views_bp

    for name, kind in SMTP_SETTINGS.items():
        app.config.setdefault(name, _env(name, kind))
    for name, default in DEFAULTS.items():
        app.config.setdefault(name, _env(name, int) if os.environ.get(name) else default)
    app.register_blueprint(api_bp)
    app.register_blueprint(views_bp)
    register_periodic(app, "daily_reminders", "registry.supervision.jobs.send_daily_reminders",
                      daily_at="07:00")
    register_periodic(app, "supervision_posts", "registry.supervision.jobs.apply_new_posts",
                      every_seconds=int(os.environ.get("SUPERVISION_APPLY_SECONDS") or 15))
    app.cli.add_command(cli)


cli = AppGroup("supervision", help="Supervision figures, reminders and reports.")


@cli.command("rebuild")
def rebuild():
    """Recompute the derived update gaps and daily counts from the posts."""
    from govmedia.extensions import db

    from .services import rebuild_all, refresh_name_index

    n = rebuild_all()
    refresh_name_index()
    db.session.commit()
    click.echo(f"rebuilt: {n}")


@cli.command("remind")
@click.option("--date", "day", default=None, help="YYYY-MM-DD (default: today in Asia/Shanghai)")
def remind(day):
    """Run the daily reminders now."""
    from .jobs import send_daily_reminders

    click.echo(send_daily_reminders(day))
