"""Staff reads of a reporter's contact details: allowed to those who work the report's desk,
and each one audited in the same transaction (who, when, which report, which request)."""

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.identity import Identity, works_desk
from app.errors import Forbidden
from app.reports.service import get_report


def read_contact(
    session: Session, *, viewer: Identity, report_id: int, request_id: str | None
) -> dict:
    """The reporter's contact details for ``viewer`` (an agent of the report's desk, a
    supervisor or an admin); the read is recorded even when the reporter left none."""
    report = get_report(session, report_id)
    desk = report.desk.code if report.desk else None
    if not works_desk(viewer, desk):
        raise Forbidden("not_your_desk", desk=desk or "-", desks=", ".join(viewer.desks) or "-")
    contact = report.contact
    view = {
        "report_id": report.id,
        "reference": report.reference,
        "contact": None
        if contact is None
        else {
            "name": contact.name,
            "email": contact.email,
            "phone": contact.phone,
            "by_push": contact.by_push,
            "by_email": contact.by_email,
        },
    }
    audit.record(
        session,
        actor=viewer,
        action=audit.REPORT_CONTACT_READ,
        subject_type="report",
        subject_id=report.id,
        request_id=request_id,
        reference=report.reference,
        desk=desk,
    )
    session.commit()
    return view
