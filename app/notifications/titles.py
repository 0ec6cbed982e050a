"""Titles of notifications, per kind: the shipped ones, or as supervisors edited them."""

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.auth.identity import Identity
from app.errors import Unprocessable
from app.notifications.kinds import KINDS, kind_of
from app.notifications.models import NotificationTitle
from app.templating import render, template_errors


def title_texts(session: Session, kind: str) -> dict[str, str]:
    """The title template of ``kind`` per language: the edited one, else the shipped one."""
    edited = session.get(NotificationTitle, kind)
    if edited is not None:
        return {"fr": edited.text_fr, "en": edited.text_en}
    fr, en = kind_of(kind).title
    return {"fr": fr, "en": en}


def list_titles(session: Session) -> list[dict]:
    """Every kind's title, edited or shipped (``edited`` false, no author)."""
    edited = {row.kind: row for row in session.scalars(select(NotificationTitle))}
    return [_present(kind, edited.get(kind)) for kind in KINDS]


def put_title(session: Session, *, actor: Identity, kind: str, text_fr: str, text_en: str) -> dict:
    """Replace the title of a kind of notification (both languages)."""
    errors = {
        field: found
        for field, text in (("text_fr", text_fr), ("text_en", text_en))
        if (found := title_errors(kind, text))
    }
    if errors:
        raise Unprocessable(
            "invalid_title",
            kind=kind,
            placeholders=", ".join("{" + p + "}" for p in placeholders(kind)),
            errors={"json": errors},
        )
    values = {"text_fr": text_fr, "text_en": text_en, "updated_by": actor.uid}
    session.execute(
        insert(NotificationTitle)
        .values(kind=kind, **values)
        .on_conflict_do_update(index_elements=["kind"], set_={**values, "updated_at": func.now()})
    )
    session.commit()
    return _present(kind, session.get(NotificationTitle, kind, populate_existing=True))


def _present(kind: str, edited: NotificationTitle | None) -> dict:
    fr, en = KINDS[kind].title
    return {
        "kind": kind,
        "text_fr": edited.text_fr if edited else fr,
        "text_en": edited.text_en if edited else en,
        "placeholders": list(placeholders(kind)),
        "edited": edited is not None,
        "updated_by": edited.updated_by if edited else None,
        "updated_at": edited.updated_at if edited else None,
    }


def placeholders(kind: str) -> tuple[str, ...]:
    return kind_of(kind).subject.placeholders


def title_errors(kind: str, text: str) -> list[str]:
    """What is wrong with a title of ``kind``: unknown placeholders, formats, stray braces."""
    return template_errors(text, placeholders(kind))


def render_title(kind: str, text: str, values: dict[str, str]) -> str:
    return render(text, values, placeholders(kind))
