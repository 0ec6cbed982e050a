"""Flask CLI commands: reference data and staff accounts (``flask --app wsgi ...``)."""

import contextlib
import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app import i18n
from app.assets.importing import FORMATS
from app.assets.models import KINDS
from app.auth.tokens import emulator_mode, mint_emulator_token
from app.categories import service as categories
from app.errors import Problem
from app.extensions import db
from app.geo import service as geo
from app.organisation import service as organisation
from app.users import service as users_service
from app.users.models import STAFF_ROLES, Role

reference = AppGroup("reference", help="Reference data: communes and the control centre's desks.")
users = AppGroup("users", help="Staff accounts and development tokens.")
reports_cli = AppGroup("reports", help="Report data.")
routing_cli = AppGroup("routing", help="Routing rules and the demo organisation.")
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
    text = json.dumps(organisation.export_rules(db.session), ensure_ascii=False, indent=1)
    if path:
        path.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


@routing_cli.command("seed")
def seed_routing():
    """Load the demo routing rules and crews, each only if none exist yet."""
    from app.organisation import demo

    rules = demo.seed_rules(db.session)
    crews = demo.seed_crews(db.session)
    click.echo(f"routing rules: {rules or 'kept as edited'}; crews: {crews or 'kept as edited'}")


@reports_cli.command("generate")
@click.argument("count", type=click.IntRange(1, 10_000_000))
@click.option("--seed", default=1, show_default=True)
def generate_reports(count: int, seed: int):
    """Insert COUNT realistic reports inside the service area (benchmarks, demos)."""
    from app.reports.generate import generate

    with click.progressbar(length=count, label="reports") as bar:
        previous = 0
        for done in generate(db.session, count, seed=seed):
            bar.update(done - previous)
            previous = done


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

    text = json.dumps(export_collection(db.session), ensure_ascii=False)
    if path:
        path.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


@assets_cli.command("generate")
@click.option("--seed", type=click.IntRange(1, 100_000), default=1, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when assets already exist")
def generate_assets(seed: int, if_empty: bool):
    """Insert the demo equipment of Dijon Métropole (deterministic, idempotent)."""
    from app.assets.generate import TOTAL, generate
    from app.assets.models import Asset

    if if_empty and db.session.scalar(select(Asset.id).limit(1)) is not None:
        click.echo("assets: kept (already loaded)")
        return
    with click.progressbar(length=TOTAL, label="assets") as bar:
        previous = 0
        for done in generate(db.session, seed=seed):
            bar.update(done - previous)
            previous = done
    count = db.session.scalar(select(func.count()).select_from(Asset))
    click.echo(f"assets: {count} in the register")


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
    text = json.dumps(categories.export_catalogue(db.session), ensure_ascii=False, indent=1)
    if path:
        path.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


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
    with _problems_as_errors():
        crew, created = organisation.name_crew(db.session, code=code, name=name, desk=desk)
    click.echo(f"crew {crew.code} {'created' if created else 'updated'} (desk {desk})")


@users.command("set")
@click.argument("uid")
@click.option("--role", type=click.Choice([r.value for r in STAFF_ROLES]), required=True)
@click.option("--desk", "desks", multiple=True, help="Desk code; repeat for several")
@click.option("--crew", default=None, help="Crew code (crew role)")
@click.option("--name", "display_name", default=None)
@click.option("--email", default=None)
def set_user(uid, role, desks, crew, display_name, email):
    """Create or replace a staff account keyed by Firebase uid."""
    user, created = _put_staff(uid, role, desks, crew, display_name=display_name, email=email)
    click.echo(f"{user.firebase_uid}: {user.role.value} {'created' if created else 'updated'}")


@users.command("remove")
@click.argument("uid")
def remove_user(uid):
    """Remove a staff account (the person becomes a resident)."""
    with _problems_as_errors():
        users_service.remove_user(db.session, actor=None, uid=uid)
    click.echo(f"{uid}: removed")


@users.command("dev-token")
@click.argument("uid")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default="resident",
    show_default=True,
    help="Also create/replace the staff account with this role",
)
@click.option("--desk", "desks", multiple=True, help="Desk code (agent, supervisor)")
@click.option("--crew", default=None, help="Crew code (crew role)")
@click.option("--anonymous", is_flag=True, help="As Firebase anonymous sign-in")
@click.option("--email", default=None)
@click.option("--expires-in", default=3600, show_default=True, help="Lifetime in seconds")
def dev_token(uid, role, desks, crew, anonymous, email, expires_in):
    """Print an Auth-emulator ID token for UID (development and tests only)."""
    if not emulator_mode():
        raise click.ClickException(
            "dev tokens are emulator tokens: set FIREBASE_AUTH_EMULATOR_HOST (development only)"
        )
    if role != Role.RESIDENT.value:
        _put_staff(uid, role, desks, crew, email=email)
    click.echo(
        mint_emulator_token(
            current_app.config["FIREBASE_PROJECT_ID"],
            uid,
            anonymous=anonymous,
            email=email,
            lifetime_seconds=expires_in,
        )
    )


def _put_staff(uid, role, desks, crew, **details):
    with _problems_as_errors():
        return users_service.put_user(
            db.session,
            actor=None,
            uid=uid,
            role=Role(role),
            desks=list(desks),
            crew=crew,
            **details,
        )


@contextlib.contextmanager
def _problems_as_errors():
    """Turn a domain Problem into a CLI error with the English message; nothing is kept."""
    try:
        yield
    except Problem as exc:
        db.session.rollback()
        detail = i18n.message(exc.code, "en", **exc.params)
        if exc.errors:
            detail += f" {exc.errors}"
        raise click.ClickException(detail) from exc
