"""What residents are told: whether an action's event is public and in which words (the
staff's own, else the message template of the category and the new state), and the
templates themselves (listed, replaced, removed; the defaults seeded)."""

from collections.abc import Callable

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import templating
from app.auth.identity import Identity
from app.categories.models import Category
from app.errors import NotFound, Unprocessable
from app.reports.models import Report
from app.triage import messages
from app.triage.models import MessageTemplate, ReportEvent


def publish(
    session: Session,
    report: Report,
    event: ReportEvent,
    params: dict,
    template_of: Callable[[int, str], tuple[str, str]] | None = None,
) -> None:
    """Decide whether residents see the event, and with which words: the agent's own, else
    the template of the category and the new state (else the state's default).
    ``template_of(category_id, status)``: where templates are read (by default
    :func:`template_for`; a bulk writer passes one that reads each template once)."""
    desk_moved = "desk" in event.details and event.details["desk"][0] != event.details["desk"][1]
    own = params.get("message")
    event.public = bool(
        own or event.from_status != event.to_status or desk_moved or event.action == "merge"
    )
    if not event.public:
        return
    if own:
        # Written in one language only: the agent's words beat a template saying otherwise.
        event.message_fr = own["fr"]
        event.message_en = own.get("en") or own["fr"]
        return
    if template_of is None:
        text_fr, text_en = template_for(session, report.category_id, event.to_status)
    else:
        text_fr, text_en = template_of(report.category_id, event.to_status)
    original = event.details.get("into", {}).get("reference") or (
        report.duplicate_of.reference if report.duplicate_of else None
    )
    reason = messages.REASONS.get(event.reason_code or "")
    desk = report.desk
    values = {
        "reference": report.reference,
        "original": original,
        "category": report.category.name_fr,
        "desk": desk.name_fr if desk else None,
        "reason": reason[0] if reason else None,
    }
    event.message_fr = templating.render(text_fr, values, messages.PLACEHOLDERS)
    values.update(
        category=report.category.name_en,
        desk=desk.name_en if desk else None,
        reason=reason[1] if reason else None,
    )
    event.message_en = templating.render(text_en, values, messages.PLACEHOLDERS)


def template_for(session: Session, category_id: int, status: str) -> tuple[str, str]:
    """The (French, English) template for a report of the category reaching ``status``."""
    found = session.execute(
        select(MessageTemplate.text_fr, MessageTemplate.text_en)
        .where(
            MessageTemplate.status == status,
            (MessageTemplate.category_id == category_id) | MessageTemplate.category_id.is_(None),
        )
        .order_by(MessageTemplate.category_id.is_(None))
        .limit(1)
    ).first()
    if found is not None:
        return found.text_fr, found.text_en
    return messages.DEFAULTS.get(status, ("", ""))


def seed_templates(session: Session) -> int:
    """Add the shipped default message of every state that has none; returns how many."""
    added = session.execute(
        insert(MessageTemplate)
        .values(
            [
                {"status": status, "text_fr": fr, "text_en": en}
                for status, (fr, en) in messages.DEFAULTS.items()
            ]
        )
        .on_conflict_do_nothing(index_elements=["status"], index_where=text("category_id IS NULL"))
        .returning(MessageTemplate.id)
    ).all()
    session.commit()
    return len(added)


def list_templates(session: Session) -> list[MessageTemplate]:
    return list(
        session.scalars(
            select(MessageTemplate)
            .outerjoin(MessageTemplate.category)
            .order_by(Category.code.is_not(None), Category.code, MessageTemplate.status)
        )
    )


def put_template(
    session: Session,
    *,
    actor: Identity,
    status: str,
    category_code: str | None,
    text_fr: str,
    text_en: str,
) -> MessageTemplate:
    """Create or replace the template of a state, for a category or the default."""
    errors = {
        field: found
        for field, text in (("text_fr", text_fr), ("text_en", text_en))
        if (found := templating.template_errors(text, messages.PLACEHOLDERS))
    }
    if errors:
        raise Unprocessable(
            "invalid_template",
            placeholders=", ".join("{" + p + "}" for p in messages.PLACEHOLDERS),
            errors={"json": errors},
        )
    category_id = _category_id(session, category_code)
    # Two supervisors creating the same template at once: the second waits for the first,
    # then replaces it (else both inserted, and the unique index made the loser's a 500).
    session.execute(
        select(
            func.pg_advisory_xact_lock(func.hashtext(f"message-template {category_id} {status}"))
        )
    )
    template = session.scalar(_template_query(category_id, status))
    if template is None:
        template = MessageTemplate(category_id=category_id, status=status)
        session.add(template)
    template.text_fr, template.text_en, template.updated_by = text_fr, text_en, actor.uid
    session.commit()
    return session.scalar(_template_query(category_id, status))


def delete_template(session: Session, *, category_code: str, status: str) -> None:
    """Remove a category's template: its reports get the state's default again."""
    template = session.scalar(_template_query(_category_id(session, category_code), status))
    if template is None:
        raise NotFound(
            "template_not_found", category=category_code, status=messages.status_words(status)
        )
    session.delete(template)
    session.commit()


def _category_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    category_id = session.scalar(select(Category.id).where(Category.code == code))
    if category_id is None:
        raise NotFound("category_not_found", code=code)
    return category_id


def _template_query(category_id: int | None, status: str):
    query = select(MessageTemplate).where(MessageTemplate.status == status)
    if category_id is None:
        return query.where(MessageTemplate.category_id.is_(None))
    return query.where(MessageTemplate.category_id == category_id)
