"""``flask users set|remove|dev-token``: staff accounts, and Auth-emulator tokens for
development."""

import click
from flask import current_app
from flask.cli import AppGroup

from app.auth.tokens import emulator_mode, mint_emulator_token
from app.cli_support import problems_as_errors
from app.extensions import db
from app.users import service as users_service
from app.users.models import ACCOUNT_ROLES, Role

users = AppGroup("users", help="Staff accounts and development tokens.")


@users.command("set")
@click.argument("uid")
@click.option("--role", type=click.Choice([r.value for r in ACCOUNT_ROLES]), required=True)
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
    with problems_as_errors():
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
    with problems_as_errors():
        return users_service.put_user(
            db.session,
            actor=None,
            uid=uid,
            role=Role(role),
            desks=list(desks),
            crew=crew,
            **details,
        )
