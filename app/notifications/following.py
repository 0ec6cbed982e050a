"""Following a report: who is told of its public events besides its reporter."""

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.reports.models import Report, ReportFollower


def follow(session: Session, *, uid: str, report_id: int) -> dict:
    """Follow a report (again: no change). Its reporter is told anyway: a no-op for them."""
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report_not_found", id=report_id)
    if report.reporter_uid != uid:
        session.execute(
            insert(ReportFollower)
            .values(report_id=report_id, uid=uid, reason="follow")
            .on_conflict_do_nothing()
        )
    session.commit()
    return {"report_id": report_id, "following": True}


def unfollow(session: Session, *, uid: str, report_id: int) -> None:
    """Stop following a report, whether followed or supported (the support still counts).
    Not following it: no change. Its reporter is always told (preferences mute pushes)."""
    if session.get(Report, report_id) is None:
        raise NotFound("report_not_found", id=report_id)
    session.execute(
        delete(ReportFollower).where(
            ReportFollower.report_id == report_id, ReportFollower.uid == uid
        )
    )
    session.commit()
