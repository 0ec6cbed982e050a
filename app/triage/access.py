"""Who may touch which report, and when: the caller's reach (an agent's desks, a crew's
tickets, a resident's own or supported report), the report's time limits as of the action,
and the device times a caller may claim for it."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import i18n
from app.auth.identity import ALL_DESKS_ROLES, Identity
from app.errors import Forbidden, Unprocessable
from app.organisation.models import Crew
from app.reports.models import Report, ReportSupporter
from app.triage import messages, queries
from app.users.models import Role

# How far ahead of the server's clock a device's ``client_at`` may be (its clock drifts).
CLIENT_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Timing:
    """What a time limit (app.triage.transitions.Window) is measured with, for one report:
    the instant of the action, and when the report entered a state (``since(status)``, asked
    only for a row with a window: app.triage.queries.window_start)."""

    now: datetime
    since: Callable[[str], datetime]


def check_reach(session: Session, actor: Identity, report: Report) -> None:
    """403 unless the report is within the caller's reach: an agent's desks, a crew's
    tickets, a resident's own or supported report, any report for supervisors and admins;
    none for other roles."""
    if actor.role == Role.AGENT:
        if report.desk is None or report.desk.code not in actor.desks:
            raise Forbidden(
                "not_your_desk",
                desk=report.desk.code if report.desk else "-",
                desks=", ".join(actor.desks) or "-",
            )
    elif actor.role == Role.CREW:
        crew_id = session.scalar(select(Crew.id).where(Crew.code == actor.crew))
        if crew_id is None or report.crew_id != crew_id:
            raise Forbidden("not_your_crew_ticket", crew=actor.crew or "-")
    elif actor.role == Role.RESIDENT:
        supporter = session.scalar(
            select(ReportSupporter.uid).where(
                ReportSupporter.report_id == report.id, ReportSupporter.uid == actor.uid
            )
        )
        if report.reporter_uid != actor.uid and supporter is None:
            raise Forbidden("not_reporter_or_supporter")
    elif actor.role not in ALL_DESKS_ROLES:
        # A role that works no report (the privacy officer, any role added later).
        raise Forbidden(
            "forbidden_role",
            role=actor.role.value,
            allowed=", ".join(r.value for r in (*ALL_DESKS_ROLES, Role.AGENT, Role.CREW)),
        )


def timing(session: Session, report: Report, now: datetime) -> Timing:
    """The report's time limits as of ``now``. A limit after a state counts from the
    report's last entry into it (the resolution the open data publish); a report whose
    history never says so (imported) counts from its last state change, else its creation:
    a note written since extends nothing. Read once, and only for a row with a limit."""

    @cache
    def since(status: str) -> datetime:
        found = session.execute(queries.window_start(report.id, status)).one()
        return found.entered or found.changed or report.created_at

    return Timing(now=now, since=since)


def check_client_at(
    session: Session, actor: Identity, report: Report, client_at: datetime, now: datetime
) -> None:
    """The device's time for the action goes into the official history: it must be one at
    which the caller could act. Not before the ticket was given to the crew (for a crew; the
    report's creation for others), not after the server's time plus CLIENT_CLOCK_SKEW."""
    earliest, since = report.created_at, messages.SINCE_CREATED
    if actor.role == Role.CREW:
        given_at = session.scalar(queries.given_to_crew(report.id, actor.crew))
        earliest, since = max(earliest, given_at or earliest), messages.SINCE_GIVEN_TO_CREW
    latest = now + CLIENT_CLOCK_SKEW
    if earliest <= client_at <= latest:
        return
    earliest_text = earliest.isoformat(timespec="seconds")
    raise Unprocessable(
        "client_at_out_of_range",
        client_at=client_at.isoformat(timespec="seconds"),
        earliest=earliest_text,
        since=i18n.Localized(zip(i18n.SUPPORTED, since, strict=True)),
        now=now.isoformat(timespec="seconds"),
        skew=int(CLIENT_CLOCK_SKEW.total_seconds() // 60),
        errors={
            "json": {
                "client_at": [
                    f"must be between {earliest_text} and the server's time "
                    f"plus {CLIENT_CLOCK_SKEW.total_seconds() / 60:g} minutes"
                ]
            }
        },
        extra={"earliest": earliest.isoformat(), "server_time": now.isoformat()},
    )
