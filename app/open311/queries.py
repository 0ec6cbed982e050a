"""Read side of Open311: public service requests, as rows of plain columns.

Only what may be public is selected: no reporter uid, contact or answers, and of the
description only what moderation published. Where a request is, is the report's public
projection (app.reports.public, the same for every public channel): its position snapped to
a grid (``OPEN311_LOCATION_GRID_M``, Lambert-93 metres) and the street there from the
address register, never the address as typed, so that a request cannot point at a home.
As status notes, only the messages the history shows residents.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Text, case, cast, func, literal, select, text, true
from sqlalchemy.orm import Session, aliased

from app.categories.models import Category
from app.geo.models import Commune
from app.open311.models import Submission
from app.organisation.models import Desk
from app.photos.models import Photo
from app.reports import public
from app.reports.models import CLOSED_STATUSES, OPEN_STATUSES, Report
from app.triage.models import ReportEvent

_ORIGINAL = aliased(Report)


@dataclass(frozen=True)
class Documents:
    """Service request documents (JSON text each), and when the latest of them changed."""

    documents: list[str]
    updated_at: datetime | None


# The time zone of every date-time of a document: W3C date-times with Dijon's offset.
LOCAL_TIME_ZONE = "Europe/Paris"
_W3C = 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM'


@dataclass(frozen=True)
class Presentation:
    """What a service request document depends on beyond the report: the language of its
    names, where its photo is served, whether the extension attributes are wanted."""

    grid_m: int
    lang: str = "fr"
    media_base: str = ""
    extensions: bool = False


def _w3c(column):
    return func.to_char(column, _W3C)


def _photo():
    return (
        select(Photo.display_key)
        # The report's own photo: never a crew's "after" or a resident's "reopen" one.
        .where(Photo.report_id == Report.id, Photo.is_public, Photo.kind == "report")
        .order_by(Photo.id)
        .limit(1)
        .correlate(Report)
        .scalar_subquery()
    )


def status_notes(lang: str):
    """The latest message published for the public on the report (a public update, the
    resolution, the state's message), in ``lang``: what the history shows residents, written
    or chosen by staff (a template, an agent's or a crew's words), never a resident's text."""
    message = (
        func.coalesce(ReportEvent.message_en, ReportEvent.message_fr)
        if lang == "en"
        else ReportEvent.message_fr
    )
    return (
        select(message)
        .where(
            ReportEvent.report_id == Report.id,
            ReportEvent.public.is_(True),
            ReportEvent.message_fr.is_not(None),
        )
        .order_by(ReportEvent.id.desc())
        .limit(1)
        .correlate(Report)
        .scalar_subquery()
    )


def _object(fields: dict):
    return func.json_build_object(*(part for item in fields.items() for part in item))


def _document(how: Presentation, place):
    """A report as an Open311 service request, as JSON text built by PostgreSQL: a page of
    1000 built from Python objects spent most of its time in our Python (bench_open311.py:
    about 4 times the requests/s this way). Never any reporter data; the description only
    as moderation published it; the place as ``place`` (the public projection) gives it;
    null fields are left out."""
    english = how.lang == "en"
    fields = {
        "service_request_id": Report.reference,
        "status": case((Report.status.in_(CLOSED_STATUSES), "closed"), else_="open"),
        "status_notes": status_notes(how.lang),
        "service_name": Category.name_en if english else Category.name_fr,
        "service_code": Category.code,
        "description": Report.public_description,
        "agency_responsible": Desk.name_en if english else Desk.name_fr,
        "requested_datetime": _w3c(Report.created_at),
        "updated_datetime": _w3c(Report.updated_at),
        "expected_datetime": _w3c(Report.due_at),
        "address": place.c.address,
        "lat": place.c.lat,
        "long": place.c.lon,
        "media_url": literal(how.media_base, String) + _photo(),
    }
    if how.extensions:
        fields["extended_attributes"] = _object(
            {
                "detailed_status": Report.status,
                "duplicate_of": _ORIGINAL.reference,
                "commune": Commune.name,
                "commune_insee": Commune.insee_code,
                "support_count": Report.support_count,
                "channel": Report.source,
            }
        )
    return cast(func.json_strip_nulls(_object(fields)), Text).label("document")


def _base(how: Presentation):
    place = public.place(how.grid_m)
    return (
        select(_document(how, place), Report.updated_at)
        .join(Category, Report.category_id == Category.id)
        .outerjoin(Desk, Report.desk_id == Desk.id)
        .outerjoin(Commune, Report.commune_insee == Commune.insee_code)
        .outerjoin(_ORIGINAL, Report.duplicate_of_id == _ORIGINAL.id)
        .join(place, true())
        # A report waiting for its photo's GPS position is not public yet.
        .where(Report.geom.is_not(None))
    )


def _documents(session: Session, query) -> Documents:
    # Date-times in Dijon's time, for this transaction only.
    session.execute(text(f"SET LOCAL TIME ZONE '{LOCAL_TIME_ZONE}'"))
    rows = session.execute(query).all()
    return Documents(
        documents=[row.document for row in rows],
        updated_at=max((row.updated_at for row in rows), default=None),
    )


def by_references(session: Session, references: list[str], how: Presentation) -> Documents:
    query = _base(how).where(Report.reference.in_(references)).order_by(Report.id.desc())
    return _documents(session, query)


def by_token(session: Session, token: str) -> str | None:
    return session.scalar(
        select(Report.reference)
        .join(Submission, Submission.report_id == Report.id)
        .where(Submission.token == token)
    )


def search(session: Session, how: Presentation, **filters) -> Documents:
    """Public requests matching the filters (see ``search_query``), newest first."""
    return _documents(session, search_query(how, **filters))


def search_query(
    how: Presentation,
    *,
    service_codes: list[str] | None,
    statuses: set[str] | None,
    start: datetime | None,
    end: datetime | None,
    updated_after: datetime | None,
    updated_before: datetime | None,
    offset: int,
    limit: int,
):
    """The statement of a page of ``GET requests``: served by ix_reports_created_at_id, or
    by the indexes of LIST_INDEXES (models.py) for a service or an update time."""
    query = _base(how)
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
    return query.order_by(Report.created_at.desc(), Report.id.desc()).offset(offset).limit(limit)
