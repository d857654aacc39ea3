"""Demo data for the quick start (`flask --app wsgi demo`): units, people, accounts."""
import click
from flask.cli import with_appcontext

from .data import load_demo
from .messages import push_demo_messages


def init_app(app) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(demo_messages_command)


@click.command("demo")
@click.option("--password", default=None, help="Admin password (default: generated).")
@with_appcontext
def demo_command(password):
    """Load demo units, users and accounts once (later runs print the logins again)."""
    for line in load_demo(password):
        click.echo(line)


@click.command("demo-messages")
@click.option("--standin", "standin_url", required=True, help="The stand-in platforms' URL.")
@click.option("--base", "base_url", required=True, help="govmedia's URL, for the callback.")
@with_appcontext
def demo_messages_command(standin_url, base_url):
    """Have the stand-in WeChat push follower messages into the demo accounts' callback."""
    for line in push_demo_messages(standin_url.rstrip("/"), base_url.rstrip("/")):
        click.echo(line)
