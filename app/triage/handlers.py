"""What each triage action changes besides the report's state.

A handler checks what the action needs (422), then returns the change to make once the
version is claimed, filling in the event's details; None when the transition's state change
is all there is. Its entry in app.triage.transitions names it.
"""

from sqlalchemy import delete, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import templating
from app.categories.models import Category
from app.errors import Conflict, Unprocessable
from app.organisation.models import Crew
from app.organisation.service import desks_by_code
from app.reports.models import CLOSED_STATUSES, Report, ReportFollower, ReportSupporter
from app.routing import rerouting
from app.triage import access, messages
from app.triage.models import ReportEvent

_REPORTS = Report.__table__


def set_priority(session, actor, report, event, params):
    event.details["priority"] = [report.priority, params["priority"]]

    def apply():
        report.priority = params["priority"]

    return apply


def assign(session, actor, report, event, params):
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


def reroute(session, actor, report, event, params):
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


def change_category(session, actor, report, event, params):
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


def merge(session, actor, report, event, params):
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
    access.check_reach(session, actor, target)
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
                message_fr=templating.render(
                    messages.MERGED_IN[0], {"original": report.reference}, messages.PLACEHOLDERS
                ),
                message_en=templating.render(
                    messages.MERGED_IN[1], {"original": report.reference}, messages.PLACEHOLDERS
                ),
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


def reject(session, actor, report, event, params):
    event.reason_code = params["reason"]


def reopen(session, actor, report, event, params):
    event.details["reason"] = params["reason"]
    if report.status != "duplicate":
        return None

    def apply():
        # Reopened by the desk: it was not the same problem after all.
        event.details["was_duplicate_of"] = report.duplicate_of_id
        report.duplicate_of_id = None

    return apply


def publish_description(session, actor, report, event, params):
    text = params["description"]
    # Whether it was published, withdrawn, and edited from what the reporter wrote; the text
    # itself stays on the report (the history is shown to residents).
    event.details["published"] = text is not None
    event.details["edited"] = text is not None and text != report.description

    def apply():
        report.public_description = text

    return apply


def resolve(session, actor, report, event, params):
    event.reason_code = params["resolution"]


def hand_back(session, actor, report, event, params):
    event.reason_code = params["reason"]
    event.details["crew"] = [_crew_code(session, report.crew_id), None]

    def apply():
        report.crew_id = None

    return apply


def _crew_code(session: Session, crew_id: int | None) -> str | None:
    if crew_id is None:
        return None
    return session.scalar(select(Crew.code).where(Crew.id == crew_id))
