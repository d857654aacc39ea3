"""Demo data for the quick start (`flask --app wsgi demo`): units, people, accounts."""
import click
from flask.cli import with_appcontext

from .data import load_demo


def init_app(app) -> None:
    app.cli.add_command(demo_command)


@click.command("demo")
@click.option("--password", default=None, help="Admin password (default: generated).")
@with_appcontext
def demo_command(password):
    """Load demo units, users and accounts once (later runs print the logins again)."""
    for line in load_demo(password):
        click.echo(line)
