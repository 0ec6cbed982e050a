"""Use cases of triage: actions on a report (one transaction each), its history, the
resident-facing message templates.

Every action follows the same steps: the role may do it at all (403), the report exists
(404), it is within the caller's reach (403: an agent's desks, a crew's tickets, a resident's
own or supported report), the client saw the current version (428 without If-Match, 412 when
stale), the transition table allows it from the current state, within the row's time limit
if it has one (409); then the device's time is possible and the action's own checks pass
(422); then the version claim in the database, the change and its event.

"Now" is the database's clock, which stamps the events, unless the caller passes ``now``.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import delete, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app import clock, i18n
from app.auth.identity import Identity
from app.categories.models import Category
from app.errors import Conflict, Forbidden, NotFound, Problem, Unprocessable
from app.idempotency import service as idempotency
from app.notifications import service as notifications
from app.organisation.models import Crew, Desk
from app.organisation.service import desks_by_code
from app.reports.models import CLOSED_STATUSES, Report, ReportFollower, ReportSupporter
from app.routing import rerouting
from app.triage import messages, queries, transitions
from app.triage.models import MessageTemplate, ReportEvent
from app.users.models import STAFF_ROLES, Role

_REPORTS = Report.__table__
# Reason codes residents see in the history; a crew's hand-back reason stays internal.
PUBLIC_REASON_ACTIONS = ("reject", "resolve")
# How far ahead of the server's clock a device's ``client_at`` may be (its clock drifts).
CLIENT_CLOCK_SKEW = timedelta(minutes=5)


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


def _perform(session, actor, report_id, action, versions, params, render, now) -> Report:
    transitions.require_role(action, actor.role)
    # The one instant of the action: its time limits and the device's time are judged by it.
    now = now or clock.now(session)
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report_not_found", id=report_id)
    timing = _timing(session, report, now)
    if _is_offline_replay(actor, report, versions, params):
        versions = _rebase_offline_write(
            session, actor, report, action, versions, params, render, timing
        )
    _check_reach(session, actor, report)
    if versions is None:
        raise Problem("if_match_required", 428)
    if report.version not in versions:
        raise _stale(report, render)
    transition = transitions.decide(action, actor.role, report.status, timing)
    if params.get("client_at") is not None:
        _check_client_at(session, actor, report, params["client_at"], now)
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
    handler = _HANDLERS.get(action)
    apply = handler(session, actor, report, event, params) if handler else None
    # Read before the change: a merge moves the report's supporters and followers away.
    audience = notifications.audience(session, report) - {actor.uid}
    _claim(session, report, render)
    if apply is not None:
        apply()
    report.status = transition.to_status
    _publish(session, report, event, params)
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
        _check_reach(session, actor, report)
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


# --- who may touch which report -------------------------------------------------------------


def _check_reach(session: Session, actor: Identity, report: Report) -> None:
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


def _timing(session: Session, report: Report, now: datetime) -> transitions.Timing:
    """The report's time limits as of ``now``. A limit after a state counts from the
    report's last entry into it (the resolution the open data publish); a report whose
    history never says so (imported) counts from its last state change, else its creation:
    a note written since extends nothing. Read once, and only for a row with a limit."""

    @cache
    def since(status: str) -> datetime:
        found = session.execute(queries.window_start(report.id, status)).one()
        return found.entered or found.changed or report.created_at

    return transitions.Timing(now=now, since=since)


def _check_client_at(
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


# --- what each action changes ---------------------------------------------------------------
# A handler checks what the action needs (422) and returns the change to make once the
# version is claimed, or None when the transition's state change is all there is.


def _set_priority(session, actor, report, event, params):
    event.details["priority"] = [report.priority, params["priority"]]

    def apply():
        report.priority = params["priority"]

    return apply


def _assign(session, actor, report, event, params):
    crew = session.scalar(select(Crew).where(Crew.code == params["crew"]))
    if crew is None or not crew.active:
        raise Unprocessable(
            "unknown_crew",
            code=params["crew"],
            errors={"json": {"crew": [f"no active crew {params['crew']}"]}},
        )
    if crew.desk_id != report.desk_id:
        raise Unprocessable(
            "crew_not_of_desk",
            crew=crew.code,
            desk=report.desk.code if report.desk else "-",
            errors={"json": {"crew": [f"{crew.code} works for another desk"]}},
        )
    event.details["crew"] = [_crew_code(session, report.crew_id), crew.code]

    def apply():
        report.crew_id = crew.id

    return apply


def _reroute(session, actor, report, event, params):
    (desk,) = desks_by_code(session, [params["desk"]], field="desk")
    if desk.id == report.desk_id:
        raise Unprocessable(
            "reroute_same_desk",
            desk=desk.code,
            errors={"json": {"desk": ["the report is already at this desk"]}},
        )
    old_desk = report.desk.code if report.desk else None
    old_crew = _crew_code(session, report.crew_id)

    def apply():
        rerouting.to_desk(session, report, desk, by=actor.role.value)
        event.details.update(
            desk=[old_desk, desk.code], crew=[old_crew, _crew_code(session, report.crew_id)]
        )

    return apply


def _change_category(session, actor, report, event, params):
    category = session.scalar(
        select(Category).where(Category.code == params["category"], Category.active)
    )
    if category is None:
        raise Unprocessable(
            "unknown_category",
            code=params["category"],
            errors={"json": {"category": [f"no active category {params['category']}"]}},
        )
    if category.id == report.category_id:
        raise Unprocessable(
            "same_category",
            code=category.code,
            errors={"json": {"category": ["the report already has this category"]}},
        )
    old = {
        "category": report.category.code,
        "desk": report.desk.code if report.desk else None,
        "crew": _crew_code(session, report.crew_id),
        "priority": report.priority,
        "asset_id": report.asset_id,
    }

    def apply():
        rerouting.for_category(session, report, category)
        event.details.update(
            category=[old["category"], category.code],
            desk=[old["desk"], report.desk.code if report.desk else None],
            crew=[old["crew"], _crew_code(session, report.crew_id)],
            priority=[old["priority"], report.priority],
            asset_id=[old["asset_id"], report.asset_id],
        )

    return apply


def _merge(session, actor, report, event, params):
    target_id = params["into"]
    if target_id == report.id:
        raise Unprocessable(
            "merge_into_itself", errors={"json": {"into": ["a report cannot join itself"]}}
        )
    # Both rows locked in id order: two merges of the same pair in opposite directions wait
    # for each other instead of deadlocking.
    session.execute(
        select(_REPORTS.c.id)
        .where(_REPORTS.c.id.in_([report.id, target_id]))
        .order_by(_REPORTS.c.id)
        .with_for_update()
    )
    target = session.get(Report, target_id, populate_existing=True)
    if target is None:
        raise Unprocessable(
            "merge_target_not_found",
            id=target_id,
            errors={"json": {"into": [f"no report {target_id}"]}},
        )
    # The original gets an event and a new version too: it must be within the caller's
    # reach, as the report acted on is (an agent merges only into their own desks' reports).
    _check_reach(session, actor, target)
    if target.status in CLOSED_STATUSES:
        raise Conflict(
            "merge_target_closed",
            reference=target.reference,
            status=messages.status_words(target.status),
            extra={"target_status": target.status},
        )
    event.details["into"] = {"id": target.id, "reference": target.reference}

    def apply():
        moved = _move_supporters_and_followers(session, report, target)
        report.duplicate_of = target
        # Reports that had joined this one now belong to the original too.
        session.execute(
            _REPORTS.update()
            .where(_REPORTS.c.duplicate_of_id == report.id, _REPORTS.c.id != report.id)
            .values(duplicate_of_id=target.id)
        )
        counted = session.execute(
            _REPORTS.update()
            .where(_REPORTS.c.id == target.id)
            .values(
                support_count=_supporter_count(target.id),
                anonymous_support_count=_supporter_count(target.id, anonymous=True),
                version=_REPORTS.c.version + 1,
                updated_at=func.now(),
            )
            .returning(_REPORTS.c.support_count, _REPORTS.c.version)
        ).one()
        report.support_count = report.anonymous_support_count = 0
        event.details.update(moved)
        session.add(
            ReportEvent(
                report_id=target.id,
                client_at=params.get("client_at"),
                actor_uid=actor.uid,
                actor_role=actor.role.value,
                desk_id=target.desk_id,
                crew_id=target.crew_id,
                action="merge",
                from_status=target.status,
                to_status=target.status,
                public=True,
                message_fr=messages.render(messages.MERGED_IN[0], {"original": report.reference}),
                message_en=messages.render(messages.MERGED_IN[1], {"original": report.reference}),
                details={
                    "merged": {"id": report.id, "reference": report.reference},
                    "support_count": counted.support_count,
                    **moved,
                },
            )
        )

    return apply


def _move_supporters_and_followers(session: Session, report: Report, target: Report) -> dict:
    """The report's supporters and followers, and its reporter as a supporter, go to the
    target (its own reporter excepted); nothing is left on the report."""
    supporters = select(ReportSupporter.uid, ReportSupporter.anonymous).where(
        ReportSupporter.report_id == report.id
    )
    reporter = select(literal(report.reporter_uid), literal(report.reporter_anonymous))
    voices = supporters.union(reporter).subquery()
    moved_supporters = session.execute(
        insert(ReportSupporter)
        .from_select(
            ["report_id", "uid", "anonymous"],
            select(literal(target.id), voices.c.uid, voices.c.anonymous).where(
                voices.c.uid != target.reporter_uid
            ),
        )
        .on_conflict_do_nothing()
        .returning(ReportSupporter.uid)
    ).all()
    followers = (
        select(ReportFollower.uid, ReportFollower.reason)
        .where(ReportFollower.report_id == report.id)
        .subquery()
    )
    moved_followers = session.execute(
        insert(ReportFollower)
        .from_select(
            ["report_id", "uid", "reason"],
            select(literal(target.id), followers.c.uid, followers.c.reason).where(
                followers.c.uid != target.reporter_uid
            ),
        )
        .on_conflict_do_nothing()
        .returning(ReportFollower.uid)
    ).all()
    # New supporters follow the original, as a resident's "me too" does.
    session.execute(
        insert(ReportFollower)
        .from_select(
            ["report_id", "uid", "reason"],
            select(literal(target.id), voices.c.uid, literal("supporter")).where(
                voices.c.uid != target.reporter_uid
            ),
        )
        .on_conflict_do_nothing()
    )
    session.execute(delete(ReportSupporter).where(ReportSupporter.report_id == report.id))
    session.execute(delete(ReportFollower).where(ReportFollower.report_id == report.id))
    return {"supporters_moved": len(moved_supporters), "followers_moved": len(moved_followers)}


def _supporter_count(report_id: int, *, anonymous: bool | None = None):
    """Its supporters (``anonymous``: those of anonymous sign-ins only), as a subquery."""
    query = select(func.count()).select_from(ReportSupporter)
    query = query.where(ReportSupporter.report_id == report_id)
    if anonymous is not None:
        query = query.where(ReportSupporter.anonymous.is_(anonymous))
    return query.scalar_subquery()


def _reject(session, actor, report, event, params):
    event.reason_code = params["reason"]


def _reopen(session, actor, report, event, params):
    event.details["reason"] = params["reason"]
    if report.status != "duplicate":
        return None

    def apply():
        # Reopened by the desk: it was not the same problem after all.
        event.details["was_duplicate_of"] = report.duplicate_of_id
        report.duplicate_of_id = None

    return apply


def _publish_description(session, actor, report, event, params):
    text = params["description"]
    # Whether it was published, withdrawn, and edited from what the reporter wrote; the text
    # itself stays on the report (the history is shown to residents).
    event.details["published"] = text is not None
    event.details["edited"] = text is not None and text != report.description

    def apply():
        report.public_description = text

    return apply


def _resolve(session, actor, report, event, params):
    event.reason_code = params["resolution"]


def _hand_back(session, actor, report, event, params):
    event.reason_code = params["reason"]
    event.details["crew"] = [_crew_code(session, report.crew_id), None]

    def apply():
        report.crew_id = None

    return apply


_HANDLERS = {
    "set_priority": _set_priority,
    "assign": _assign,
    "reroute": _reroute,
    "change_category": _change_category,
    "merge": _merge,
    "reject": _reject,
    "reopen": _reopen,
    "publish_description": _publish_description,
    "resolve": _resolve,
    "hand_back": _hand_back,
}


def _crew_code(session: Session, crew_id: int | None) -> str | None:
    if crew_id is None:
        return None
    return session.scalar(select(Crew.code).where(Crew.id == crew_id))


# --- what residents are told ----------------------------------------------------------------


def _publish(session: Session, report: Report, event: ReportEvent, params: dict) -> None:
    """Decide whether residents see the event, and with which words: the agent's own, else
    the template of the category and the new state (else the state's default)."""
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
    text_fr, text_en = template_for(session, report.category_id, event.to_status)
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
    event.message_fr = messages.render(text_fr, values)
    values.update(
        category=report.category.name_en,
        desk=desk.name_en if desk else None,
        reason=reason[1] if reason else None,
    )
    event.message_en = messages.render(text_en, values)


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
        if (found := messages.template_errors(text))
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


# --- history --------------------------------------------------------------------------------


def history(
    session: Session, *, viewer: Identity, report_id: int, after: int | None, limit: int
) -> dict:
    """The report's events, oldest first (keyset on the event id). Residents get the public
    ones without who did them or internal notes; staff get everything. The first page opens
    with the report's submission."""
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report_not_found", id=report_id)
    staff = viewer.role in STAFF_ROLES
    query = select(ReportEvent).where(ReportEvent.report_id == report_id)
    if not staff:
        query = query.where(ReportEvent.public.is_(True))
    if after is not None:
        query = query.where(ReportEvent.id > after)
    events = list(session.scalars(query.order_by(ReportEvent.id).limit(limit + 1)))
    more = len(events) > limit
    events = events[:limit]
    items = [_present_event(e, staff=staff) for e in events]
    if after is None:
        items.insert(0, _submission(session, report, staff=staff))
    return {"items": items, "next_cursor": events[-1].id if more and events else None}


def _submission(session: Session, report: Report, *, staff: bool) -> dict:
    first = session.scalar(
        select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id)
    )
    item = {
        "id": 0,
        "at": report.created_at,
        "action": "submit",
        "from_status": None,
        "to_status": first.from_status if first else report.status,
        "desk": _desk(first.desk if first else report.desk),
        "reason_code": None,
        "message": None,
    }
    if staff:
        item.update(
            actor_role=None,
            public=True,
            client_at=None,
            internal_note=None,
            details={},
        )
    return item


def _present_event(event: ReportEvent, *, staff: bool) -> dict:
    item = {
        "id": event.id,
        "at": event.created_at,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "desk": _desk(event.desk),
        "reason_code": event.reason_code
        if staff or event.action in PUBLIC_REASON_ACTIONS
        else None,
        "message": None
        if event.message_fr is None
        else {"fr": event.message_fr, "en": event.message_en},
    }
    if staff:
        item.update(
            actor_uid=event.actor_uid,
            actor_role=event.actor_role,
            public=event.public,
            client_at=event.client_at,
            internal_note=event.internal_note,
            details=event.details,
        )
    return item


def _desk(desk: Desk | None) -> dict | None:
    if desk is None:
        return None
    return {"code": desk.code, "name_fr": desk.name_fr, "name_en": desk.name_en}
