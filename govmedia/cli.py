"""Command-line entry points of the core: users, worker, audit and holidays."""
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from pydantic import ValidationError

from .audit import verify
from .errors import DomainError
from .extensions import db
from .holidays import enter_schedule, load_calendar
from .models import ROLES, User
from .schemas import UserIn
from .serve import serve_command
from .users import create_user, system_admin
from .worker import run_worker
from .workdays import ScheduleError, library_knows, parse_schedule, statutory_holidays

users_cli = AppGroup("users", help="Manage user accounts.")
audit_cli = AppGroup("audit", help="Check the audit trail.")
holidays_cli = AppGroup("holidays", help="Enter the official holiday schedule of a year.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="A role; repeat for several.")
@click.option("--unit-id", type=int, default=None, help="The unit the roles are scoped to.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(username, roles, unit_id, password_stdin):
    """Create a user (the password is read from stdin; a trailing newline is not part of it)."""
    if password_stdin:
        password = sys.stdin.read()
        if password.endswith("\n"):
            password = password[:-1]
            if password.endswith("\r"):
                password = password[:-1]
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    actor = system_admin()
    try:
        data = UserIn(username=username, password=password, roles=list(roles), unit_id=unit_id)
        if actor is None:
            # Bootstrap: nobody exists yet to act as; a stand-in admin records the creation.
            actor = User(id=None, username="cli", roles=["admin"])
        user = create_user(actor, data)
        db.session.commit()
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(f"{err.message} {err.fields or ''}".strip()) from None
    except ValidationError as err:
        db.session.rollback()
        raise click.ClickException(str(err)) from None
    click.echo(f"created user {user.username} (id {user.id}) with roles {', '.join(user.roles)}")


@audit_cli.command("verify")
def audit_verify():
    """Recompute the hash chain; exit 1 naming the first entry that was altered or removed."""
    result = verify()
    if result.ok:
        click.echo(f"audit chain intact: {result.checked} entries")
        return
    click.echo(f"audit chain BROKEN at entry {result.broken_id}: {result.problem} "
               f"({result.checked} entries before it are intact)", err=True)
    sys.exit(1)


@holidays_cli.command("import")
@click.argument("year", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--confirm/--no-confirm", default=True,
              help="The file is the year's complete official schedule (dates stop being provisional).")
def holidays_import(year, file, confirm):
    """Import a year's schedule: lines `YYYY-MM-DD,holiday|workday,name` (ranges with ~)."""
    actor = system_admin()
    if actor is None:
        raise click.ClickException("create an admin first (flask --app wsgi users create ...)")
    try:
        entries = parse_schedule(file.read_text(encoding="utf-8-sig"))
        result = enter_schedule(actor, year, entries, confirm=confirm)
        db.session.commit()
    except ScheduleError as err:
        raise click.ClickException(err.message) from None
    except DomainError as err:
        db.session.rollback()
        raise click.ClickException(err.message) from None
    click.echo(f"{year}: {result['entries']} days entered, confirmed={confirm}, "
               f"{result['deadlines_changed']} deadlines recomputed")


@holidays_cli.command("show")
@click.argument("year", type=int)
def holidays_show(year):
    """Print how the product counts a year: library, or provisional fallback plus entries."""
    calendar = load_calendar()
    source = "chinese-calendar" if library_knows(year) else "statutory fallback (provisional)"
    if calendar.is_provisional_year(year) is False and not library_knows(year):
        source = "admin-entered official schedule"
    click.echo(f"{year}: {source}")
    for day, name in statutory_holidays(year).items():
        click.echo(f"  {day.isoformat()} {name} workday={calendar.is_workday(day)}")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--queue", "queues", multiple=True, help="Queue names (default: all).")
@with_appcontext
def worker_command(burst, queues):
    """Run an RQ worker with its scheduler for REDIS_URL; each job runs in an app context."""
    run_worker(current_app._get_current_object(), queues or None, burst=burst)


def register(app) -> None:
    for group in (users_cli, audit_cli, holidays_cli):
        app.cli.add_command(group)
    app.cli.add_command(worker_command)
    app.cli.add_command(serve_command)
