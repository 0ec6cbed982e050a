"""Triage actions on a report, one transaction each: the pipeline every action goes
through, optimistic concurrency (If-Match) and crews' offline replays.

Every action follows the same steps: the role may do it at all (403), the report exists
(404), it is within the caller's reach (403: an agent's desks, a crew's tickets, a resident's
own or supported report), the client saw the current version (428 without If-Match, 412 when
stale), the transition table allows it from the current state, within the row's time limit
if it has one (409); then the device's time is possible and the action's own checks pass
(422); then the version claim in the database, the change (the action's handler) and its
event, what residents are told of it and their notifications.

"Now" is the database's clock, which stamps the events, unless the caller passes ``now``.
"""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app import clock, i18n
from app.auth.identity import Identity
from app.errors import Conflict, Forbidden, NotFound, Problem
from app.idempotency import service as idempotency
from app.notifications import outbox as notifications
from app.reports.models import Report
from app.triage import access, messages, templates, transitions
from app.triage.models import ReportEvent
from app.users.models import Role

_REPORTS = Report.__table__


def etag(report: Report) -> str:
    """The report's ETag: its version, as a strong entity tag."""
    return f'"{report.version}"'


def perform(
    session: Session,
    *,
    actor: Identity,
    report_id: int,
    action: str,
    versions: list[int] | None,
    params: dict,
    render: Callable[[Report], dict] | None = None,
    now: datetime | None = None,
) -> Report:
    """Do ``action`` on the report as ``actor``, if one of ``versions`` (from If-Match) is
    its current version; commits the change with its event. ``render`` shapes the current
    report carried by a 412."""
    try:
        report = _perform(session, actor, report_id, action, versions, params, render, now)
    except Problem:
        session.rollback()
        raise
    session.commit()
    return report


def perform_many(
    session: Session,
    *,
    actor: Identity,
    action: str,
    items: list[dict],
    params: dict,
    now: datetime | None = None,
) -> list[dict]:
    """Do ``action`` on each report of ``items`` ({id, version}), each in its own
    transaction: one item's refusal does not undo the others. One result per item."""
    results = []
    for item in items:
        try:
            report = perform(
                session,
                actor=actor,
                report_id=item["id"],
                action=action,
                versions=[item["version"]],
                params=params,
                now=now,
            )
        except Problem as problem:
            results.append(
                {
                    "id": item["id"],
                    "ok": False,
                    "http_status": problem.status,
                    "code": problem.code,
                    "detail": i18n.message(problem.code, **problem.params),
                    **{
                        key: problem.extra[key]
                        for key in ("current_status", "current_version", "allowed_actions")
                        if key in problem.extra
                    },
                }
            )
        else:
            results.append(
                {
                    "id": report.id,
                    "ok": True,
                    "http_status": 200,
                    "status": report.status,
                    "version": report.version,
                }
            )
    return results


def perform_once(
    session: Session,
    *,
    claim: dict,
    actor: Identity,
    report_id: int,
    action: str,
    versions: list[int] | None,
    params: dict,
    render: Callable[[Report], dict],
    now: datetime | None = None,
) -> idempotency.Outcome:
    """:func:`perform` under an Idempotency-Key (``claim``: owner, scope, key, request
    fingerprint): a retry, or a replayed offline batch sent twice, gets the first answer
    back and changes nothing."""
    try:
        replay = idempotency.begin(session, **claim)
        if replay is not None:
            session.rollback()
            return replay
        report = _perform(session, actor, report_id, action, versions, params, render, now)
        outcome = idempotency.complete(session, **claim, status_code=200, body=render(report))
    except Problem:
        session.rollback()
        raise
    session.commit()
    return outcome


def available(session: Session, actor: Identity, report_id: int, now: datetime | None = None):
    """The report and the actions ``actor`` may do on it now (the transition table's rows for
    its role and the report's state, time limits applied): what a screen offers. 404 for no
    such report, 403 when it is out of the caller's reach, as the actions themselves answer."""
    now = now or clock.now(session)
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report_not_found", id=report_id)
    access.check_reach(session, actor, report)
    timing = access.timing(session, report, now)
    return report, transitions.allowed_actions(report.status, actor.role, timing)


def _perform(session, actor, report_id, action, versions, params, render, now) -> Report:
    transitions.require_role(action, actor.role)
    # The one instant of the action: its time limits and the device's time are judged by it.
    now = now or clock.now(session)
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report_not_found", id=report_id)
    timing = access.timing(session, report, now)
    if _is_offline_replay(actor, report, versions, params):
        versions = _rebase_offline_write(
            session, actor, report, action, versions, params, render, timing
        )
    access.check_reach(session, actor, report)
    if versions is None:
        raise Problem("if_match_required", 428)
    if report.version not in versions:
        raise _stale(report, render)
    transition = transitions.decide(action, actor.role, report.status, timing)
    if params.get("client_at") is not None:
        access.check_client_at(session, actor, report, params["client_at"], now)
    event = ReportEvent(
        report_id=report.id,
        client_at=params.get("client_at"),
        actor_uid=actor.uid,
        actor_role=actor.role.value,
        desk_id=report.desk_id,
        crew_id=report.crew_id,
        action=action,
        from_status=report.status,
        to_status=transition.to_status,
        internal_note=params.get("note"),
        details={},
    )
    # Checks that read other rows (the merge target, the crew...) come before the claim;
    # the handler then changes the report and fills in the event.
    handler = transitions.ENTRIES[action].handler
    apply = handler(session, actor, report, event, params) if handler else None
    # Read before the change: a merge moves the report's supporters and followers away.
    audience = notifications.audience(session, report) - {actor.uid}
    _claim(session, report, render)
    if apply is not None:
        apply()
    report.status = transition.to_status
    templates.publish(session, report, event, params)
    session.add(event)
    session.flush()
    _notify(session, actor, report, event, audience)
    return report


def _notify(session, actor, report, event, audience) -> None:
    """The notifications of the action, in its transaction (the outbox): one per resident
    told of it, never its actor. A merge also tells the original's own audience that a
    report joined it; those already told of the duplicate are not told twice."""
    notifications.notify(session, event=event, report=report, recipients=audience)
    if event.action != "merge":
        return
    target = session.get(Report, event.details["into"]["id"])
    # The original's row is locked by the merge: its latest merge event is this one's.
    merged_in = session.scalar(
        select(ReportEvent)
        .where(ReportEvent.report_id == target.id, ReportEvent.action == "merge")
        .order_by(ReportEvent.id.desc())
        .limit(1)
    )
    others = notifications.audience(session, target) - audience - {actor.uid}
    notifications.notify(session, event=merged_in, report=target, recipients=others)


def _is_offline_replay(actor: Identity, report: Report, versions, params: dict) -> bool:
    """A crew's write made offline, replayed late: it carries the tablet's own time and the
    version the tablet had, which the ticket has since left."""
    return (
        actor.role == Role.CREW
        and params.get("client_at") is not None
        and versions is not None
        and report.version not in versions
    )


def _rebase_offline_write(session, actor, report, action, versions, params, render, timing):
    """The ticket changed while the tablet was offline. The write still applies, on top of
    the current version, when the ticket is still the crew's and the action is allowed from
    its state now (an agent changing the priority meanwhile does not undo a repair); else
    409 with both versions, for the tablet to show."""
    try:
        access.check_reach(session, actor, report)
        transitions.decide(action, actor.role, report.status, timing)
    except (Forbidden, Conflict) as refused:
        raise Conflict(
            "offline_conflict",
            action=messages.action_words(action),
            client_at=params["client_at"].isoformat(),
            status=messages.status_words(report.status),
            headers={"ETag": etag(report)},
            extra={
                "why": refused.code,
                "yours": {
                    "action": action,
                    # None when If-Match named no version of ours.
                    "version": max(versions, default=None),
                    "client_at": params["client_at"].isoformat(),
                    "request": {key: value for key, value in params.items() if key != "client_at"},
                },
                "current": render(report) if render is not None else None,
                "current_version": report.version,
                "current_status": report.status,
            },
        ) from refused
    return [report.version]


def _claim(session: Session, report: Report, render) -> None:
    """Take the report's next version in the database: the row lock decides between two
    writers that read the same version; the loser finds no row and gets 412."""
    claimed = session.execute(
        _REPORTS.update()
        .where(_REPORTS.c.id == report.id, _REPORTS.c.version == report.version)
        .values(version=_REPORTS.c.version + 1, updated_at=func.now())
        .returning(_REPORTS.c.version, _REPORTS.c.updated_at)
    ).first()
    if claimed is None:
        session.rollback()
        current = session.get(Report, report.id, populate_existing=True)
        raise _stale(current, render)
    set_committed_value(report, "version", claimed.version)
    set_committed_value(report, "updated_at", claimed.updated_at)


def _stale(report: Report, render) -> Problem:
    extra = {"current_status": report.status, "current_version": report.version}
    if render is not None:
        extra["current"] = render(report)
    return Problem(
        "report_changed",
        412,
        headers={"ETag": etag(report)},
        extra=extra,
        status=messages.status_words(report.status),
    )
