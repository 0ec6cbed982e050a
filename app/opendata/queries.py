"""Read side of the open data exports: one anonymised row per public report.

Only what may be public is selected. No reporter uid, contact, address or answers, and of
the free text only what moderation published (``public_description``: the desk's
``publish_description`` action): residents' own words and answers can name a person or a
home. The position is the report's public projection (app.reports.public), the same as
Open311's and the API's: snapped to a grid (two positions of one report, on two channels,
would locate it more finely than either). A photo is given only when it is a public one
(ready, of the report itself: not a crew's "after" photo nor a resident's "reopen" one).
"""

from datetime import date

from sqlalchemy import BigInteger, Select, case, cast, func, literal, select, true
from sqlalchemy.orm import Session, aliased

from app.categories.models import Category
from app.geo.models import Commune
from app.opendata.models import OpenDataFile
from app.organisation.models import Desk
from app.photos.models import Photo
from app.reports import public
from app.reports.models import Report
from app.triage.models import ReportEvent
from app.triage.queries import RESOLUTION, entered, last_entered

# The states that mean the desk took the report up: acknowledged, or straight to a crew.
TAKEN_UP = ("acknowledged", "assigned", "in_progress")
# A report counts as resolved while it stays so (a reopened one is not resolved any more).
RESOLVED = ("resolved", "closed")
# The day a report belongs to (daily files): its creation date, in Dijon.
TIMEZONE = "Europe/Paris"

# Columns of every format, in order (the position is the geometry, or lon/lat in CSV).
COLUMNS = (
    "reference",
    "category",
    "category_name",
    "commune",
    "commune_name",
    "desk",
    "status",
    "created_at",
    "acknowledged_at",
    "resolved_at",
    "time_to_resolve_seconds",
    "duplicate_of",
    "supporters_count",
    "source",
    "description",
    "photo_url",
    "location_basis",
)

_ORIGINAL = aliased(Report)


def published():
    """Which reports are public: a report waiting for its photo's GPS position is not yet."""
    return Report.geom.is_not(None)


def history(*, taken_up: bool = True):
    """Per report, from its history: when it was last resolved (a reopened report resolved
    again counts from its last resolution) and, with ``taken_up``, when the desk first took
    it up (without, only the resolutions are read). Only state changes count
    (``app.triage.queries``): a note on a resolved report moves neither."""
    resolved_at = func.max(ReportEvent.created_at).filter(RESOLUTION).label("resolved_at")
    if not taken_up:
        return (
            select(ReportEvent.report_id, resolved_at)
            .where(RESOLUTION)
            .group_by(ReportEvent.report_id)
            .subquery("events")
        )
    taken = entered(*TAKEN_UP)
    acknowledged_at = func.min(ReportEvent.created_at).filter(taken).label("acknowledged_at")
    return (
        select(ReportEvent.report_id, acknowledged_at, resolved_at)
        .where(entered(*TAKEN_UP, "resolved"))
        .group_by(ReportEvent.report_id)
        .subquery("events")
    )


def last_resolution():
    """history()'s ``resolved_at`` for the report at hand, as a LATERAL subquery (join it
    ON true): it reads the events of the reports a query keeps, history() every report's."""
    return last_entered(Report.id, "resolved").lateral("last_resolution")


def resolution(last_resolved):
    """When the report was resolved: its last resolution (``resolved_at`` of history() or
    last_resolution()), while it stays resolved or closed (a reopened report is not
    resolved any more)."""
    return case((Report.status.in_(RESOLVED), last_resolved))


def seconds_to_resolve(resolved_at):
    """The time to resolve, in seconds (not rounded), from the report's creation."""
    return func.extract("epoch", resolved_at - Report.created_at)


def export_rows(*, grid_m: int, media_base: str) -> Select:
    """Every public report, oldest first: the columns of :data:`COLUMNS`, then ``lon``,
    ``lat`` and ``day`` (the creation date in Dijon)."""
    events = history()
    photo = (
        select(Photo.display_key)
        .where(Photo.report_id == Report.id, Photo.is_public, Photo.kind == "report")
        .order_by(Photo.id)
        .limit(1)
        .correlate(Report)
        .scalar_subquery()
    )
    resolved_at = resolution(events.c.resolved_at)
    place = public.place(grid_m)
    return (
        select(
            Report.reference,
            Category.code.label("category"),
            Category.name_fr.label("category_name"),
            Report.commune_insee.label("commune"),
            Commune.name.label("commune_name"),
            Desk.code.label("desk"),
            Report.status,
            Report.created_at,
            events.c.acknowledged_at,
            resolved_at.label("resolved_at"),
            cast(func.round(seconds_to_resolve(resolved_at)), BigInteger).label(
                "time_to_resolve_seconds"
            ),
            _ORIGINAL.reference.label("duplicate_of"),
            Report.support_count.label("supporters_count"),
            Report.source,
            Report.public_description.label("description"),
            (literal(media_base) + photo).label("photo_url"),
            literal(f"grid_{grid_m}m").label("location_basis"),
            place.c.lon,
            place.c.lat,
            func.date(func.timezone(TIMEZONE, Report.created_at)).label("day"),
        )
        .join(Category, Report.category_id == Category.id)
        .outerjoin(Desk, Report.desk_id == Desk.id)
        .outerjoin(Commune, Report.commune_insee == Commune.insee_code)
        .outerjoin(_ORIGINAL, Report.duplicate_of_id == _ORIGINAL.id)
        .outerjoin(events, events.c.report_id == Report.id)
        .join(place, true())
        .where(published())
        .order_by(Report.created_at, Report.id)
    )


def files(
    session: Session,
    *,
    fmt: str | None,
    period: str | None,
    since: date | None,
    until: date | None,
    after: str | None,
    limit: int,
) -> list[OpenDataFile]:
    """Published files by name, descending: the full ones first, then the newest days."""
    query = select(OpenDataFile).order_by(OpenDataFile.name.desc()).limit(limit)
    if fmt:
        query = query.where(OpenDataFile.format == fmt)
    if period == "full":
        query = query.where(OpenDataFile.day.is_(None))
    elif period == "daily":
        query = query.where(OpenDataFile.day.is_not(None))
    if since:
        query = query.where(OpenDataFile.day >= since)
    if until:
        query = query.where(OpenDataFile.day <= until)
    if after is not None:
        query = query.where(OpenDataFile.name < after)
    return list(session.scalars(query))
