"""``flask routing rules import|export``: the routing rules as a JSON file."""

from pathlib import Path

import click
from flask.cli import AppGroup

from app.cli_support import export_json
from app.extensions import db
from app.organisation import service as organisation

routing_cli = AppGroup("routing", help="The routing rules.")
rules_cli = AppGroup("rules", help="The routing rules, as a JSON file.")
routing_cli.add_command(rules_cli)


@rules_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_rules(path: Path):
    """Replace every routing rule with those of a JSON file (one transaction)."""
    try:
        count = organisation.import_rules_file(db.session, path)
    except organisation.RoutingFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"routing rules: {count} imported")


@rules_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
def export_rules(path: Path | None):
    """Write every routing rule as JSON (to PATH, or standard output)."""
    export_json(organisation.export_rules(db.session), path, indent=1)
