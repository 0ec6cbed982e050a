"""``flask reference load|crew``: the organisation's reference data (its communes, desks and
first category catalogue) and its field crews."""

from pathlib import Path

import click
from flask.cli import AppGroup

from app.categories import service as categories
from app.cli_support import problems_as_errors
from app.extensions import db
from app.geo import service as geo
from app.organisation import service as organisation

reference = AppGroup("reference", help="Reference data: communes and the control centre's desks.")


@reference.command("load")
@click.option(
    "--communes",
    "communes_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=geo.DEFAULT_COMMUNES_FILE,
    show_default=True,
)
def load_reference(communes_path: Path):
    """Load the communes and desks; seed the categories on first install (idempotent)."""
    try:
        counts = geo.load_communes(db.session, communes_path)
    except geo.ReferenceDataError as exc:
        raise click.ClickException(str(exc)) from exc
    created = organisation.seed_desks(db.session)
    try:
        seeded = categories.seed_catalogue(db.session)
    except categories.CatalogueFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"categories: {seeded} seeded" if seeded else "categories: kept as edited")
    click.echo(
        f"communes: {counts['created']} created, {counts['updated']} updated, "
        f"{counts['deleted']} deleted; desks: {created} created"
    )


@reference.command("crew")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--desk", required=True, help="Desk code, e.g. voirie")
def put_crew(code: str, name: str, desk: str):
    """Create a field crew, or change its name and desk (its other settings are kept)."""
    with problems_as_errors():
        crew, created = organisation.name_crew(db.session, code=code, name=name, desk=desk)
    click.echo(f"crew {crew.code} {'created' if created else 'updated'} (desk {desk})")
