"""Titles of notifications, per kind: the shipped ones, or as supervisors edited them."""

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.auth.identity import Identity
from app.errors import Unprocessable
from app.notifications import messages
from app.notifications.messages import KINDS
from app.notifications.models import NotificationTitle


def title_texts(session: Session, kind: str) -> dict[str, str]:
    """The title template of ``kind`` per language: the edited one, else the shipped one."""
    edited = session.get(NotificationTitle, kind)
    if edited is not None:
        return {"fr": edited.text_fr, "en": edited.text_en}
    fr, en = messages.TITLES.get(kind, messages.TITLES["update"])
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
        if (found := messages.title_errors(kind, text))
    }
    if errors:
        raise Unprocessable(
            "invalid_title",
            kind=kind,
            placeholders=", ".join("{" + p + "}" for p in messages.placeholders(kind)),
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
    fr, en = messages.TITLES[kind]
    return {
        "kind": kind,
        "text_fr": edited.text_fr if edited else fr,
        "text_en": edited.text_en if edited else en,
        "placeholders": list(messages.placeholders(kind)),
        "edited": edited is not None,
        "updated_by": edited.updated_by if edited else None,
        "updated_at": edited.updated_at if edited else None,
    }
