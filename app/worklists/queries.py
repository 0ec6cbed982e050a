"""Read side of the work lists: a desk's queue and a crew's tickets.

One lean select per page: the report's own columns with its category, commune and crew
joined, no ORM objects. Open work is served by the partial indexes over open reports
(migration c3e5f7a9b1d4); each sort order has its own keyset, carried by the cursor.
"""

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Float,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql

from app.categories.models import Category
from app.geo.models import Commune
from app.organisation.models import Crew, Desk
from app.pagination import decode_cursor
from app.reports.documents import isoformat, number, text_constant
from app.reports.models import OPEN_STATUSES, OPEN_WORK, Report
from app.workload import queries as counters

# priority: the most urgent first, then the earliest due; age: the oldest first;
# distance: the nearest to a point first (KNN on the Lambert-93 GiST index).
SORTS = ("priority", "age", "distance")
# A crew holds a ticket from its assignment until it resolves it or hands it back.
CREW_STATUSES = ("assigned", "in_progress")

# The queue's due-date key: the expression of the index ix_reports_open_desk_priority_due_at.
INFINITY = literal_column("'infinity'::timestamp with time zone", DateTime(timezone=True))
DUE = func.coalesce(Report.due_at, INFINITY)


def overdue(at=None):
    """The one definition of overdue: an open report whose due date has passed at ``at`` (an
    instant; by default the database's clock, app.clock). A report without a due date never
    is; one due exactly at ``at`` is not yet."""
    return and_(
        Report.due_at < (func.now() if at is None else at), Report.status.in_(OPEN_STATUSES)
    )


OVERDUE = overdue()


@dataclass(frozen=True)
class Filters:
    """What an agent narrows the queue to; every field given must hold (AND)."""

    statuses: tuple[str, ...] = OPEN_STATUSES
    categories: tuple[str, ...] = ()
    communes: tuple[str, ...] = ()
    crews: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    overdue: bool | None = None
    bbox: tuple[float, float, float, float] | None = None
    text: str | None = None

    def conditions(self) -> list:
        where = [Report.status.in_(self.statuses)]
        if self.categories:
            where.append(
                Report.category_id.in_(
                    select(Category.id).where(Category.code.in_(self.categories))
                )
            )
        if self.communes:
            where.append(Report.commune_insee.in_(self.communes))
        if self.crews:
            where.append(Report.crew_id.in_(select(Crew.id).where(Crew.code.in_(self.crews))))
        if self.priorities:
            where.append(Report.priority.in_(self.priorities))
        if self.overdue is True:
            where.append(OVERDUE)
        elif self.overdue is False:
            where.append(or_(Report.due_at.is_(None), not_(OVERDUE)))
        if self.bbox:
            where.append(Report.geom.intersects(func.ST_MakeEnvelope(*self.bbox, 4326)))
        if self.text:
            pattern = "%" + like_escape(self.text) + "%"
            where.append(
                or_(
                    Report.description.ilike(pattern, escape="\\"),
                    Report.reference.ilike(pattern, escape="\\"),
                )
            )
        return where


def like_escape(text: str) -> str:
    """``text`` matched literally by LIKE: its wildcards and the escape character escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def crew_over_capacity():
    """Routing's explanation says every candidate crew was full (app.routing.explanation.
    crew_chosen), and the crew it proposed still holds the ticket."""
    proposed = Report.routing["crew"]
    return func.coalesce(
        and_(proposed["over_capacity"].as_boolean(), proposed["crew"].as_string() == Crew.code),
        false(),
    )


def items_query(here=None):
    """The columns a work-list item shows; with ``here`` (Lambert-93), its distance too."""
    columns = [
        Report.id,
        Report.reference,
        Report.status,
        Report.priority,
        Report.due_at,
        func.coalesce(OVERDUE, false()).label("overdue"),
        Report.address,
        Report.description,
        Report.answers,
        crew_over_capacity().label("crew_over_capacity"),
        Report.support_count,
        Report.anonymous_support_count,
        Report.version,
        Report.created_at,
        Report.updated_at,
        func.ST_X(Report.geom).label("lon"),
        func.ST_Y(Report.geom).label("lat"),
        Category.code.label("category_code"),
        Category.group.label("category_group"),
        Category.name_fr.label("category_name_fr"),
        Category.name_en.label("category_name_en"),
        Category.icon.label("category_icon"),
        Commune.insee_code.label("commune_insee"),
        Commune.name.label("commune_name"),
        Crew.code.label("crew_code"),
        Crew.name.label("crew_name"),
    ]
    if here is not None:
        columns.append(distance_to(here).label("distance_m"))
    return (
        select(*columns)
        .join(Category, Category.id == Report.category_id)
        .outerjoin(Commune, Commune.insee_code == Report.commune_insee)
        .outerjoin(Crew, Crew.id == Report.crew_id)
    )


def _object(fields: dict) -> ColumnElement:
    """A JSON object of ``fields``, in their order."""
    return func.json_build_object(
        *(part for name, value in fields.items() for part in (text_constant(name), value))
    )


def _nullable(column, document) -> ColumnElement:
    return case((column.is_(None), null()), else_=document)


def item_document(here=None) -> ColumnElement:
    """A work-list item as JSON text built by PostgreSQL: service.present's fields in its
    order, with the same values (date-times as Python's ``isoformat``, floats as Python's
    JSON writes them); tests/worklists/test_desk_queue.py compares the two."""
    lon, lat = func.ST_X(Report.geom), func.ST_Y(Report.geom)
    fields = {
        "id": Report.id,
        "reference": Report.reference,
        "status": Report.status,
        "priority": Report.priority,
        "due_at": _nullable(Report.due_at, isoformat(Report.due_at)),
        "overdue": func.coalesce(OVERDUE, false()),
        "category": _object(
            {
                "code": Category.code,
                "group": Category.group,
                "name_fr": Category.name_fr,
                "name_en": Category.name_en,
                "icon": Category.icon,
            }
        ),
        "commune": _nullable(
            Commune.insee_code, _object({"insee_code": Commune.insee_code, "name": Commune.name})
        ),
        "crew": _nullable(Crew.code, _object({"code": Crew.code, "name": Crew.name})),
        "address": Report.address,
        "description": Report.description,
        "answers": Report.answers,
        "crew_over_capacity": crew_over_capacity(),
        "location": _nullable(
            Report.geom,
            _object(
                {
                    "type": text_constant("Point"),
                    "coordinates": func.json_build_array(number(lon), number(lat)),
                }
            ),
        ),
        "support_count": Report.support_count,
        "anonymous_support_count": Report.anonymous_support_count,
        "version": Report.version,
        "created_at": isoformat(Report.created_at),
        "updated_at": isoformat(Report.updated_at),
    }
    if here is not None:
        fields["distance_m"] = number(distance_to(here))
    return cast(_object(fields), Text)


@functools.cache
def _fixed_document() -> ColumnElement:
    """:func:`item_document` without a distance, as SQL text once and for all: built and
    traversed for its cache key on every request, its hundred-odd expressions cost more
    than the rest of the page in Python (benchmarks/bench_queue.py)."""
    sql = item_document().compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return literal_column(str(sql), Text)


def documents_query(here=None):
    """Work-list items as JSON text (``document``), with the columns of their cursor keys
    (app.worklists.queries.sort_key) and ``distance_m`` with ``here``."""
    columns = [
        (_fixed_document() if here is None else item_document(here)).label("document"),
        Report.id,
        Report.priority,
        Report.due_at,
        Report.created_at,
    ]
    if here is not None:
        columns.append(distance_to(here).label("distance_m"))
    return (
        select(*columns)
        .join(Category, Category.id == Report.category_id)
        .outerjoin(Commune, Commune.insee_code == Report.commune_insee)
        .outerjoin(Crew, Crew.id == Report.crew_id)
    )


def desk_id_of(code: str):
    """The id of the desk ``code``, as a subquery of the page's own statement."""
    return select(Desk.id).where(Desk.code == code).scalar_subquery()


def desk_queue_query(
    desk_id,
    filters: Filters,
    sort: str,
    after: list | None,
    limit: int,
    here=None,
    *,
    documents: bool = False,
):
    """The statement of one page of a desk's queue (``limit + 1`` rows, to know if more;
    items as JSON text with ``documents``, as the list sends them)."""
    items = desk_items(desk_id, filters, here, documents=documents)
    return ordered(items, sort, after, here).limit(limit + 1)


def desk_items(desk_id, filters: Filters, here=None, *, documents: bool = False):
    """The desk's reports under ``filters``, unordered (as JSON documents: see
    :func:`documents_query`)."""
    query = documents_query(here) if documents else items_query(here)
    return query.where(Report.desk_id == desk_id, *filters.conditions())


def distance_to(here):
    # For points, <-> is the exact distance, and the same expression orders the KNN scan.
    return Report.geom_l93.op("<->", return_type=Float)(here)


def ordered(query, sort: str, after: list | None, here=None):
    """``query`` in ``sort`` order, resuming after the key ``after`` (from a cursor).

    By distance, the SQL orders by distance alone: a second key would keep PostgreSQL off
    the KNN index scan. :func:`app.worklists.service` orders ties by id (see ``tie_at``).
    """
    if sort == "priority":
        query = query.order_by(Report.priority, DUE, Report.id)
        if after:
            priority, due_at, report_id = after
            due = INFINITY if due_at is None else literal(due_at, DateTime(timezone=True))
            query = query.where(
                tuple_(Report.priority, DUE, Report.id)
                > tuple_(literal(priority), due, literal(report_id))
            )
    elif sort == "age":
        query = query.order_by(Report.created_at, Report.id)
        if after:
            query = query.where(tuple_(Report.created_at, Report.id) > tuple(after))
    else:
        distance = distance_to(here)
        query = query.where(Report.geom_l93.is_not(None)).order_by(distance)
        if after:
            query = query.where(beyond(distance, *after))
    return query


def beyond(distance, metres: float, report_id: int):
    """Rows after (distance, id) in ascending order."""
    return or_(distance > metres, and_(distance == metres, Report.id > report_id))


def tie_at(query, after: list | None, here, metres: float):
    """The rows of ``query`` exactly ``metres`` away from ``here`` (and after the cursor),
    by id: a tie that the KNN scan's limit may have cut."""
    distance = distance_to(here)
    query = query.where(
        func.ST_DWithin(Report.geom_l93, here, metres), distance == metres
    ).order_by(Report.id)
    return query.where(beyond(distance, *after)) if after else query


def sort_key(sort: str, row) -> list:
    """The cursor key of ``row`` in ``sort`` order; the sort's name comes first, so a cursor
    is refused under another order."""
    if sort == "priority":
        return [sort, row.priority, row.due_at.isoformat() if row.due_at else None, row.id]
    if sort == "age":
        return [sort, row.created_at.isoformat(), row.id]
    return [sort, row.distance_m, row.id]


def parse_cursor(cursor: str | None, sort: str) -> list | None:
    """The key after which the page resumes (None on the first page); 400 if the cursor was
    not issued by this list in this order."""
    arity = 4 if sort == "priority" else 3

    def parse(key):
        if key[0] != sort:
            raise ValueError("cursor of another sort order")
        if sort == "priority":
            due_at = None if key[2] is None else datetime.fromisoformat(key[2])
            return [int(key[1]), due_at, int(key[3])]
        if sort == "age":
            return [datetime.fromisoformat(key[1]), int(key[2])]
        return [float(key[1]), int(key[2])]

    return decode_cursor(cursor, arity, parse)


def counts_query(desk_id, filters: Filters):
    """(status, reports, overdue reports) for each status with reports under ``filters``."""
    return (
        select(
            Report.status,
            func.count(),
            func.count().filter(OVERDUE),
        )
        .where(Report.desk_id == desk_id, *filters.conditions())
        .group_by(Report.status)
    )


def open_counts_query(desk_id):
    """(status, reports, overdue reports) of the desk's open reports, the default header:
    rows of reports from the desk's counters (app.workload, kept by triggers), and rows of
    overdue reports from the partial index ix_reports_open_desk_status_due_at (a time
    cannot be counted ahead). Each status may come in both: add them up."""
    counted = counters.desk_open_counts(desk_id).subquery()
    kept = select(counted.c.status, counted.c.reports, literal(0))
    late = (
        select(Report.status, literal(0), func.count())
        # OPEN_WORK written as the index's predicate, so that a generic plan can use it.
        .where(Report.desk_id == desk_id, OPEN_WORK, OVERDUE)
        .group_by(Report.status)
    )
    return kept.union_all(late)
