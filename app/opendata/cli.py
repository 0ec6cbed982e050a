"""``flask opendata export``: produce the open data files now, here (as the worker does)."""

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.opendata import service
from app.opendata.formats import FORMATS
from app.photos.service import storage

opendata_cli = AppGroup("opendata", help="Open data exports of the reports.")


@opendata_cli.command("export")
@click.option(
    "--format", "formats", type=click.Choice(FORMATS), multiple=True, help="Default: every one"
)
@click.option("--no-daily", is_flag=True, help="The full files only")
def export(formats, no_daily):
    """Write the full and daily files and publish those whose content changed."""
    summary = service.export_reports(
        db.session,
        storage(),
        formats=tuple(formats) or FORMATS,
        daily=not no_daily,
        **service.settings(current_app.config),
    )
    click.echo(", ".join(f"{k}: {v}" for k, v in summary.items()))
