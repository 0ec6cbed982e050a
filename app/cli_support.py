"""What the domains' Flask CLI commands share."""

import contextlib

import click

from app import i18n
from app.errors import Problem
from app.extensions import db


@contextlib.contextmanager
def problems_as_errors():
    """Turn a domain Problem into a CLI error with the English message; nothing is kept."""
    try:
        yield
    except Problem as exc:
        db.session.rollback()
        detail = i18n.message(exc.code, "en", **exc.params)
        if exc.errors:
            detail += f" {exc.errors}"
        raise click.ClickException(detail) from exc
