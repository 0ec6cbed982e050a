"""What the domains' Flask CLI commands share."""

import contextlib
import json
from pathlib import Path

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


def export_json(document, path: Path | None, *, indent: int | None = None) -> None:
    """Write an export as JSON (UTF-8, not escaped) to ``path``, or to standard output."""
    text = json.dumps(document, ensure_ascii=False, indent=indent)
    if path:
        path.write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
