"""Read side of reports: lists by place, category and status, newest first."""

from datetime import datetime

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.orm import Session

from app.categories.models import Category
from app.geo.arguments import in_lambert93_domain, lambert93, parse_bbox, parse_point
from app.pagination import decode_cursor, paginate
from app.reports import public
from app.reports.models import CLOSED_STATUSES, Report

SUGGESTION_RADIUS_M = 250
SUGGESTIONS = 5


def suggestions(session: Session, *, lon: float, lat: float, category: str, grid_m: int) -> list:
    """ "Is it one of these?": the open reports of ``category`` within 250 m, nearest first,
    as (report, public place, distance in metres): distances are the public positions'."""
    if not in_lambert93_domain(lon, lat):
        return []
    rows = session.execute(suggestion_query(lon, lat, category, grid_m)).unique()
    return [(row.Report, public.PublicPlace.of(row), row.distance_m) for row in rows]


def suggestion_query(lon: float, lat: float, category: str, grid_m: int):
    here = lambert93(lon, lat)
    place = public.place(grid_m)
    distance = public.distance(grid_m, here)
    return (
        select(Report, place.c.lon, place.c.lat, place.c.address, distance.label("distance_m"))
        .join(Category, Report.category_id == Category.id)
        .join(place, true())
        .where(
            Category.code == category,
            Report.status.not_in(CLOSED_STATUSES),
            public.within(grid_m, here, SUGGESTION_RADIUS_M),
        )
        .order_by(distance, Report.id)
        .limit(SUGGESTIONS)
    )


def list_reports(
    session: Session,
    *,
    grid_m: int,
    near: str | None = None,
    radius: int = 500,
    bbox: str | None = None,
    category: str | None = None,
    status: str | None = None,
    reporter_uid: str | None = None,
    after: list | None = None,
    limit: int = 50,
) -> dict:
    """A page of reports, newest first, keyset-paginated on (created_at, id), as (report,
    public place). The public list places and finds its reports by their public projection
    (app.reports.public); a reporter's own list (``reporter_uid``) by their exact places, and
    its items have no public place (None)."""
    own = reporter_uid is not None
    query = select(Report).order_by(Report.created_at.desc(), Report.id.desc()).limit(limit + 1)
    if not own:
        place = public.place(grid_m)
        query = query.add_columns(place.c.lon, place.c.lat, place.c.address).join(place, true())
    if near:
        lon, lat = parse_point(near)
        if not in_lambert93_domain(lon, lat):
            return paginate([], limit, None)  # no report that far from Dijon
        here = lambert93(lon, lat)
        query = query.where(
            func.ST_DWithin(Report.geom_l93, here, radius)
            if own
            else public.within(grid_m, here, radius)
        )
    if bbox:
        x1, y1, x2, y2 = parse_bbox(bbox)
        query = query.where(
            Report.geom.intersects(func.ST_MakeEnvelope(x1, y1, x2, y2, 4326))
            if own
            else public.in_box(grid_m, x1, y1, x2, y2)
        )
    if category:
        query = query.join(Category).where(Category.code == category)
    if status:
        query = query.where(Report.status == status)
    if own:
        query = query.where(Report.reporter_uid == reporter_uid)
    else:  # a report still waiting for its photo's position is not on public lists
        query = query.where(Report.geom.is_not(None))
    if after:
        created_at, report_id = after
        query = query.where(
            or_(
                Report.created_at < created_at,
                and_(Report.created_at == created_at, Report.id < report_id),
            )
        )
    if own:
        rows = [(report, None) for report in session.scalars(query).unique()]
    else:
        rows = [(row.Report, public.PublicPlace.of(row)) for row in session.execute(query).unique()]
    return paginate(rows, limit, lambda row: [row[0].created_at.isoformat(), row[0].id])


def parse_cursor(cursor: str | None) -> list | None:
    """(created_at, id) from a cursor issued by :func:`list_reports`."""
    return decode_cursor(cursor, 2, lambda k: [datetime.fromisoformat(k[0]), int(k[1])])
