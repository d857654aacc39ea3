"""`flask --app wsgi registry …`: registry maintenance from the command line."""
from pathlib import Path

import click
from flask.cli import AppGroup

from govmedia.users import system_admin

from .run import import_inventory

registry_cli = AppGroup("registry", help="Registry maintenance: inventory import.")


@registry_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--create-units", is_flag=True, help="Create units named in the file that do not exist.")
def registry_import(file, create_units):
    """Import an account inventory (CSV or XLSX), all or nothing."""
    actor = system_admin()
    if actor is None:
        raise click.ClickException("create an admin first (flask --app wsgi users create ...)")
    result = import_inventory(actor, file.name, file.read_bytes(), create_units=create_units,
                              progress=lambda done, total: None)
    if result.errors:
        for error in result.errors[:50]:
            click.echo(f"row {error['row']} {error['column']}: {error['message']}", err=True)
        raise click.ClickException(f"problems found: {len(result.errors)}; nothing was imported")
    click.echo(f"imported {result.created} accounts")
