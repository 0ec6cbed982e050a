"""``flask categories import|export``: the category catalogue as a JSON file."""

from pathlib import Path

import click
from flask.cli import AppGroup

from app.categories import service as categories
from app.cli_support import export_json
from app.extensions import db

categories_cli = AppGroup("categories", help="The category catalogue, as a JSON file.")


@categories_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_categories(path: Path):
    """Create or update the categories listed in a JSON file (by code; idempotent)."""
    try:
        counts = categories.import_catalogue_file(db.session, path)
    except categories.CatalogueFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"categories: {counts['created']} created, {counts['updated']} updated")


@categories_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
def export_categories(path: Path | None):
    """Write every category as JSON (to PATH, or standard output)."""
    export_json(categories.export_catalogue(db.session), path, indent=1)
