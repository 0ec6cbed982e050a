"""Read side of reports: lists by place, category and status, newest first."""

from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.categories.models import Category
from app.geo.arguments import in_lambert93_domain, lambert93, parse_bbox, parse_point
from app.pagination import decode_cursor, paginate
from app.reports import documents, public
from app.reports.models import CLOSED_STATUSES, Report

SUGGESTION_RADIUS_M = 250
SUGGESTIONS = 5


def suggestions(session: Session, *, lon: float, lat: float, category: str, grid_m: int) -> str:
    """ "Is it one of these?": the open reports of ``category`` within 250 m, nearest first
    (distances are the public positions'), as the JSON text of SuggestionListSchema built
    by PostgreSQL (app.reports.documents)."""
    if not in_lambert93_domain(lon, lat):
        return documents.suggestions_body([])
    query = suggestion_query(lon, lat, category, grid_m)
    return documents.suggestions_body(list(session.scalars(query)))


def suggestion_query(lon: float, lat: float, category: str, grid_m: int):
    """The statement of the suggestions: their documents, one a row."""
    here = lambert93(lon, lat)
    distance = public.distance(grid_m, here)
    chosen = (
        select(Report.id, distance.label("distance_m"))
        .join(Category, Report.category_id == Category.id)
        .where(
            Category.code == category,
            Report.status.not_in(CLOSED_STATUSES),
            public.within(grid_m, here, SUGGESTION_RADIUS_M),
        )
        .order_by(distance, Report.id)
        .limit(SUGGESTIONS)
        .subquery("chosen")
    )
    place = public.place(grid_m)
    return documents.with_relations(
        select(documents.item(place, distance_m=documents.number(chosen.c.distance_m)))
        .select_from(chosen)
        .join(Report, Report.id == chosen.c.id),
        place,
    ).order_by(chosen.c.distance_m, chosen.c.id)


def _where(
    query,
    *,
    exact: bool,
    grid_m: int,
    near: str | None,
    radius: int,
    bbox: str | None,
    category: str | None,
    status: str | None,
    after: list | None,
):
    """``query`` (from reports) narrowed to the reports a list shows, by their exact places
    (``exact``: the reporter's own list) or by their public projection; None when ``near``
    is too far from Dijon for any report."""
    if near:
        lon, lat = parse_point(near)
        if not in_lambert93_domain(lon, lat):
            return None
        here = lambert93(lon, lat)
        query = query.where(
            func.ST_DWithin(Report.geom_l93, here, radius)
            if exact
            else public.within(grid_m, here, radius)
        )
    if bbox:
        x1, y1, x2, y2 = parse_bbox(bbox)
        query = query.where(
            Report.geom.intersects(func.ST_MakeEnvelope(x1, y1, x2, y2, 4326))
            if exact
            else public.in_box(grid_m, x1, y1, x2, y2)
        )
    if category:
        query = query.join(Category, Report.category_id == Category.id).where(
            Category.code == category
        )
    if status:
        query = query.where(Report.status == status)
    if after:
        created_at, report_id = after
        query = query.where(
            or_(
                Report.created_at < created_at,
                and_(Report.created_at == created_at, Report.id < report_id),
            )
        )
    return query.order_by(Report.created_at.desc(), Report.id.desc())


def _cursor(row) -> list:
    return [row.created_at.isoformat(), row.id]


def public_page(
    session: Session,
    *,
    grid_m: int,
    geojson: bool = False,
    near: str | None = None,
    radius: int = 500,
    bbox: str | None = None,
    category: str | None = None,
    status: str | None = None,
    after: list | None = None,
    limit: int = 50,
) -> str:
    """A page of the public list, newest first, keyset-paginated on (created_at, id), as
    the JSON text of ReportPageSchema (``geojson``: ReportCollectionSchema) built by
    PostgreSQL in the statement that selects it (app.reports.documents). Reports are
    placed and found by their public projection (app.reports.public); one still waiting
    for its photo's position is not listed."""
    chosen = _where(
        select(Report.id, Report.created_at).where(Report.geom.is_not(None)),
        exact=False,
        grid_m=grid_m,
        near=near,
        radius=radius,
        bbox=bbox,
        category=category,
        status=status,
        after=after,
    )
    body = documents.collection_body if geojson else documents.page_body
    if chosen is None:
        return body([], None)
    chosen = chosen.limit(limit + 1).subquery("chosen")
    place = public.place(grid_m)
    document = documents.feature(place) if geojson else documents.item(place)
    query = documents.with_relations(
        select(document.label("document"), chosen.c.created_at, chosen.c.id)
        .select_from(chosen)
        .join(Report, Report.id == chosen.c.id),
        place,
    ).order_by(chosen.c.created_at.desc(), chosen.c.id.desc())
    page = paginate(session.execute(query).all(), limit, _cursor)
    return body([row.document for row in page["items"]], page["next_cursor"])


def own_reports(
    session: Session,
    *,
    reporter_uid: str,
    near: str | None = None,
    radius: int = 500,
    bbox: str | None = None,
    category: str | None = None,
    status: str | None = None,
    after: list | None = None,
    limit: int = 50,
) -> dict:
    """A page of the reporter's own reports, newest first, keyset-paginated on
    (created_at, id), found by their exact places: ``{items: [Report], next_cursor}``."""
    query = _where(
        select(Report).where(Report.reporter_uid == reporter_uid),
        exact=True,
        grid_m=0,
        near=near,
        radius=radius,
        bbox=bbox,
        category=category,
        status=status,
        after=after,
    )
    if query is None:
        return paginate([], limit, None)  # no report that far from Dijon
    rows = list(session.scalars(query.limit(limit + 1)).unique())
    return paginate(rows, limit, _cursor)


def parse_cursor(cursor: str | None) -> list | None:
    """(created_at, id) from a cursor issued by :func:`list_reports`."""
    return decode_cursor(cursor, 2, lambda k: [datetime.fromisoformat(k[0]), int(k[1])])
