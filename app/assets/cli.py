"""``flask assets import|export``: the equipment register as GeoJSON or CSV files."""

from pathlib import Path

import click
from flask.cli import AppGroup

from app.assets.importing import FORMATS
from app.assets.models import KINDS
from app.cli_support import export_json
from app.extensions import db

assets_cli = AppGroup("assets", help="Equipment: street lights, signals, cameras, drains...")


@assets_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), default=None, help="For rows without a kind")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default=None, help="Default: from the name"
)
def import_assets(path: Path, kind: str | None, fmt: str | None):
    """Create or update assets from a GeoJSON or CSV file (by reference; idempotent)."""
    from app.assets import importing

    data = path.read_bytes()
    fmt = fmt or importing.guess_format(path.name, data)
    report = importing.ImportReport()
    try:
        rows = importing.parse(data, fmt, kind, report)
    except importing.AssetFileError as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    with click.progressbar(length=len(rows), label="assets") as bar:
        previous = 0
        for done in importing.upsert(db.session, rows, report):
            bar.update(done - previous)
            previous = done
    db.session.commit()
    click.echo(
        f"assets: {report.total} read, {report.inserted} inserted, {report.updated} updated, "
        f"{report.skipped} skipped, {report.outside} outside the communes"
    )
    for error in report.errors:
        click.echo(f"  {error['where']}: {error['error']}", err=True)


@assets_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
def export_assets(path: Path | None):
    """Write every asset as a GeoJSON FeatureCollection (to PATH, or standard output)."""
    from app.assets.service import export_collection

    export_json(export_collection(db.session), path)
