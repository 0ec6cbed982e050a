"""``flask addresses import FILE``: load the BAN's addresses of the metropolis."""

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.addresses import importing
from app.addresses.models import Address
from app.extensions import db

addresses_cli = AppGroup("addresses", help="The address register (Base Adresse Nationale).")


@addresses_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--if-empty", is_flag=True, help="Do nothing when addresses already exist")
def import_addresses(path: Path, if_empty: bool):
    """Create or update addresses from a BAN CSV file (adresses-21.csv; idempotent)."""
    if if_empty and db.session.scalar(select(Address.id).limit(1)) is not None:
        click.echo("addresses: kept (already loaded)")
        return
    try:
        with path.open(encoding="utf-8-sig", newline="") as lines:
            report = importing.import_file(db.session, lines)
    except (importing.AddressFileError, UnicodeDecodeError) as exc:
        db.session.rollback()
        raise click.ClickException(f"{path}: {exc}") from exc
    click.echo(
        f"addresses: {report.read} read, {report.inserted} inserted, {report.updated} updated, "
        f"{report.malformed} malformed (skipped), {report.outside} outside the communes"
    )
    for error in report.errors:
        click.echo(f"  {error}", err=True)
