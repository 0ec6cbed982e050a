"""Use cases of the work lists: a desk's queue and its counts (the desk's agents, supervisors
and admins), and a crew's tickets and its sync (its members). Read only: nothing here
writes."""

from datetime import datetime, timedelta

from sqlalchemy import and_, not_, select
from sqlalchemy.orm import Session

from app import clock
from app.auth.identity import Identity, works_desk
from app.errors import Forbidden, NotFound, Unprocessable
from app.geo.arguments import in_lambert93_domain, lambert93
from app.organisation.models import Crew, Desk
from app.pagination import decode_cursor, encode_cursor, paginate
from app.reports.models import Report
from app.triage.models import ReportEvent
from app.worklists import queries
from app.worklists.queries import CREW_STATUSES, Filters


def check_desk(viewer: Identity, code: str) -> None:
    """403 when ``viewer`` does not work the desk ``code`` (an agent's desks are in the
    token's identity: no query needed)."""
    if not works_desk(viewer, code):
        raise Forbidden("not_your_desk", desk=code, desks=", ".join(viewer.desks) or "-")


def found(session: Session, code: str, empty: bool) -> None:
    """404 when nothing came back because there is no desk ``code``. The desk is looked up
    only then: the page's own statement finds it by code (one round trip less per page)."""
    if empty and session.scalar(select(Desk.id).where(Desk.code == code)) is None:
        raise NotFound("desk_not_found", code=code)


def desk_queue(
    session: Session,
    *,
    viewer: Identity,
    desk: str,
    filters: Filters,
    sort: str,
    near: tuple[float, float] | None,
    cursor: str | None,
    limit: int,
    documents: bool = False,
) -> dict:
    """A page of the desk's reports under ``filters`` in ``sort`` order (with their distance
    from ``near`` when given). With ``documents``, each item is already JSON text, built by
    PostgreSQL (queries.item_document): what the list sends as it is."""
    check_desk(viewer, desk)
    if sort == "distance" and near is None:
        raise Unprocessable(
            "near_required", errors={"query": {"near": ["required to sort by distance"]}}
        )
    here = _here(near, field="near")
    items = queries.desk_items(queries.desk_id_of(desk), filters, here, documents=documents)
    page = _page(session, items, sort, cursor, limit, here, _document if documents else present)
    found(session, desk, empty=not page["items"])
    return page


def queue_counts(session: Session, *, viewer: Identity, desk: str, filters: Filters) -> dict:
    """How many of the desk's reports each status has under ``filters`` (every status asked
    for, zeros included), and how many of them are overdue."""
    check_desk(viewer, desk)
    counts = dict.fromkeys(filters.statuses, 0)
    overdue = dict.fromkeys(filters.statuses, 0)
    desk_id = queries.desk_id_of(desk)
    if filters == Filters():
        # The console's header, asked after every change: from the counters.
        statement = queries.open_counts_query(desk_id)
    else:
        statement = queries.counts_query(desk_id, filters)
    rows = session.execute(statement).all()
    found(session, desk, empty=not rows)
    for status, count, late in rows:
        counts[status] += count
        overdue[status] += late
    return {
        "counts": counts,
        "overdue": overdue,
        "total": sum(counts.values()),
        "total_overdue": sum(overdue.values()),
    }


def crew_tickets(
    session: Session,
    *,
    viewer: Identity,
    position: tuple[float, float] | None,
    cursor: str | None,
    limit: int,
) -> dict:
    """The open tickets the caller's crew holds: nearest to ``position`` first when the
    tablet gives it, else by priority then due date."""
    sort = "priority" if position is None else "distance"
    here = _here(position, field="lon")
    crew_id = select(Crew.id).where(Crew.code == viewer.crew).scalar_subquery()
    query = queries.items_query(here).where(
        Report.crew_id == crew_id, Report.status.in_(CREW_STATUSES)
    )
    return _page(session, query, sort, cursor, limit, here)


def _here(point: tuple[float, float] | None, *, field: str):
    """``point`` (lon, lat) in Lambert-93, which only covers metropolitan France."""
    if point is None:
        return None
    if not in_lambert93_domain(*point):
        raise Unprocessable(
            "position_out_of_range",
            errors={"query": {field: ["must be in metropolitan France to measure distances"]}},
        )
    return lambert93(*point)


def _page(
    session: Session, query, sort: str, cursor: str | None, limit: int, here, item=None
) -> dict:
    after = queries.parse_cursor(cursor, sort)
    # Columns, no ORM entities: run by the connection (Core), not through the ORM's
    # statement compilation.
    connection = session.connection()
    rows = connection.execute(queries.ordered(query, sort, after, here).limit(limit + 1)).all()
    if sort == "distance":
        rows = _ties_by_id(session, query, after, here, rows, limit)
    page = paginate(rows, limit, lambda row: queries.sort_key(sort, row))
    page["items"] = [(item or present)(row) for row in page["items"]]
    return page


def _document(row) -> str:
    return row.document


def _ties_by_id(session: Session, query, after, here, rows: list, limit: int) -> list:
    """Rows fetched by distance alone, in (distance, id) order. Reports at the very same
    distance (the same spot) come from the KNN scan in any order, so when such a tie runs
    past the end of the page, the whole tie is fetched: no report is skipped or repeated."""
    rows = sorted(rows, key=lambda row: (row.distance_m, row.id))
    if len(rows) > limit and rows[limit - 1].distance_m == rows[limit].distance_m:
        tie = rows[limit].distance_m
        rest = session.execute(queries.tie_at(query, after, here, tie)).all()
        rows = [row for row in rows if row.distance_m < tie] + list(rest)
    return rows


def present(row) -> dict:
    """A work-list item: what an agent or a crew needs to pick the next report, without the
    reporter's identity or contact details. Ready for JSON as it is (see views.as_json)."""
    item = {
        "id": row.id,
        "reference": row.reference,
        "status": row.status,
        "priority": row.priority,
        "due_at": row.due_at.isoformat() if row.due_at else None,
        "overdue": row.overdue,
        "category": {
            "code": row.category_code,
            "group": row.category_group,
            "name_fr": row.category_name_fr,
            "name_en": row.category_name_en,
            "icon": row.category_icon,
        },
        "commune": None
        if row.commune_insee is None
        else {"insee_code": row.commune_insee, "name": row.commune_name},
        "crew": None if row.crew_code is None else {"code": row.crew_code, "name": row.crew_name},
        "address": row.address,
        "description": row.description,
        "answers": row.answers,
        "crew_over_capacity": row.crew_over_capacity,
        "location": None
        if row.lon is None
        else {"type": "Point", "coordinates": [row.lon, row.lat]},
        "support_count": row.support_count,
        "anonymous_support_count": row.anonymous_support_count,
        "version": row.version,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }
    if "distance_m" in row._fields:
        item["distance_m"] = row.distance_m
    return item


# A change committed late (its transaction began before the previous sync) still has a time
# before that sync's: each sync looks this far back again. The tablet keeps a ticket's
# highest version, so seeing one twice changes nothing.
SYNC_OVERLAP = timedelta(minutes=5)


def crew_sync(session: Session, *, viewer: Identity, since: datetime | None) -> dict:
    """What changed for the caller's crew since the cursor's time: its open tickets changed
    (all of them without a cursor: ``full``), the tickets it no longer holds (reassigned,
    handed back, resolved, closed by the desk...), and the cursor for the next sync."""
    now = clock.now(session)
    crew_id = session.scalar(select(Crew.id).where(Crew.code == viewer.crew))
    if crew_id is None:  # a crew member whose crew was removed holds nothing
        return {
            "full": True,
            "tickets": [],
            "removed": [],
            "cursor": encode_cursor([now.isoformat()]),
            "as_of": now.isoformat(),
        }
    holds = and_(Report.crew_id == crew_id, Report.status.in_(CREW_STATUSES))
    tickets = queries.items_query().where(holds).order_by(Report.id)
    removed = []
    if since is not None:
        after = since - SYNC_OVERLAP
        tickets = tickets.where(Report.updated_at >= after)
        lost = (
            select(Report.id, Report.reference, Report.status, Report.version)
            .where(
                Report.id.in_(
                    select(ReportEvent.report_id).where(
                        ReportEvent.crew_id == crew_id, ReportEvent.created_at >= after
                    )
                ),
                not_(holds),
            )
            .order_by(Report.id)
        )
        removed = [row._asdict() for row in session.execute(lost)]
    return {
        "full": since is None,
        "tickets": [present(row) for row in session.execute(tickets)],
        "removed": removed,
        "cursor": encode_cursor([now.isoformat()]),
        "as_of": now.isoformat(),
    }


def sync_since(cursor: str | None) -> datetime | None:
    """The time a sync cursor carries (None: a full sync); 400 if it is not one of ours."""
    key = decode_cursor(cursor, 1, _aware_time)
    return key[0] if key else None


def _aware_time(key: list) -> list:
    when = datetime.fromisoformat(key[0])
    if when.tzinfo is None:
        raise ValueError("a sync cursor carries an aware time")
    return [when]
