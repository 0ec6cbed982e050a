"""Read side of Open311: public service requests, as rows of plain columns.

Only what may be public is selected: no reporter uid, contact or answers, and of the
description only what moderation published.
Positions are coarsened to a grid (``OPEN311_LOCATION_GRID_M``, Lambert-93 metres) so that
a request cannot point at a private home.
"""

from datetime import datetime

from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session, aliased

from app.categories.models import Category
from app.geo.models import WGS84, Commune
from app.open311.models import Submission
from app.organisation.models import Desk
from app.photos.models import READY, Photo
from app.reports.models import CLOSED_STATUSES, OPEN_STATUSES, Report

_ORIGINAL = aliased(Report)


def coarsened(grid_m: int):
    """The report's position snapped to a ``grid_m`` Lambert-93 grid, in WGS 84: what every
    public output shows (Open311, open data), so that none can point at a private home."""
    return func.ST_Transform(func.ST_SnapToGrid(Report.geom_l93, grid_m), WGS84)


def _columns(grid_m: int):
    coarse = coarsened(grid_m)
    photo = (
        select(Photo.display_key)
        # The report's own photo: never a crew's "after" or a resident's "reopen" one.
        .where(Photo.report_id == Report.id, Photo.status == READY, Photo.kind == "report")
        .order_by(Photo.id)
        .limit(1)
        .correlate(Report)
        .scalar_subquery()
    )
    return (
        Report.id,
        Report.reference,
        Report.status,
        Report.address,
        Report.created_at,
        Report.updated_at,
        Report.due_at,
        Report.support_count,
        Report.source,
        Report.public_description,
        Category.code.label("service_code"),
        Category.name_fr.label("service_name_fr"),
        Category.name_en.label("service_name_en"),
        Desk.name_fr.label("desk_name_fr"),
        Desk.name_en.label("desk_name_en"),
        Commune.name.label("commune_name"),
        Commune.insee_code.label("commune_insee"),
        _ORIGINAL.reference.label("duplicate_of"),
        cast(func.ST_Y(coarse), Float).label("lat"),
        cast(func.ST_X(coarse), Float).label("long"),
        photo.label("photo_key"),
    )


def _base(grid_m: int):
    return (
        select(*_columns(grid_m))
        .join(Category, Report.category_id == Category.id)
        .outerjoin(Desk, Report.desk_id == Desk.id)
        .outerjoin(Commune, Report.commune_insee == Commune.insee_code)
        .outerjoin(_ORIGINAL, Report.duplicate_of_id == _ORIGINAL.id)
        # A report waiting for its photo's GPS position is not public yet.
        .where(Report.geom.is_not(None))
    )


def by_references(session: Session, references: list[str], *, grid_m: int) -> list:
    query = _base(grid_m).where(Report.reference.in_(references)).order_by(Report.id.desc())
    return list(session.execute(query))


def by_token(session: Session, token: str) -> str | None:
    return session.scalar(
        select(Report.reference)
        .join(Submission, Submission.report_id == Report.id)
        .where(Submission.token == token)
    )


def search(
    session: Session,
    *,
    grid_m: int,
    service_codes: list[str] | None,
    statuses: set[str] | None,
    start: datetime | None,
    end: datetime | None,
    updated_after: datetime | None,
    updated_before: datetime | None,
    offset: int,
    limit: int,
) -> list:
    """Public requests matching the filters, newest first."""
    query = _base(grid_m)
    if service_codes:
        query = query.where(Category.code.in_(service_codes))
    if statuses is not None and statuses != {"open", "closed"}:
        wanted = OPEN_STATUSES if "open" in statuses else CLOSED_STATUSES
        query = query.where(Report.status.in_(wanted))
    bounds = [
        Report.created_at >= start if start else None,
        Report.created_at <= end if end else None,
        Report.updated_at > updated_after if updated_after else None,
        Report.updated_at < updated_before if updated_before else None,
    ]
    conditions = [b for b in bounds if b is not None]
    if conditions:
        query = query.where(*conditions)
    query = query.order_by(Report.created_at.desc(), Report.id.desc()).offset(offset).limit(limit)
    return list(session.execute(query))
