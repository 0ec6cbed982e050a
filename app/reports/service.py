"""Use cases of reports: submitting, reading, supporting."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from geoalchemy2 import WKTElement
from geoalchemy2.shape import to_shape
from sqlalchemy import String, bindparam, cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.auth.identity import Identity, works_desk
from app.categories.models import Category
from app.categories.service import validate_answers
from app.errors import Conflict, NotFound, Unprocessable
from app.geo import service as geo
from app.geo.models import WGS84
from app.idempotency import service as idempotency
from app.organisation.models import Crew
from app.photos.service import present as present_photo
from app.reports import public
from app.reports.models import (
    Report,
    ReportContact,
    ReportFollower,
    ReportSupporter,
)
from app.routing import intake
from app.users.models import STAFF_ROLES, Role

SUBMIT_SCOPE = idempotency.request_scope("POST", "/v1/reports")
# What the database fills in when a report is created.
_RETURNED = (
    "id",
    "reference",
    "status",
    "source",
    "support_count",
    "anonymous_support_count",
    "created_at",
    "updated_at",
    "due_at",
)


# Built once (parameters at execution): composing them per request costs milliseconds.
# The due date is the database's now (the report's creation time) plus the service level.
_INSERT_REPORT = (
    insert(Report)
    .values(due_at=func.now() + func.make_interval(0, 0, 0, 0, bindparam("service_hours")))
    .returning(*(getattr(Report, c) for c in _RETURNED))
)
_INSERT_CONTACT = insert(ReportContact)
# Intake's: every column the request decides, bound (created_at and the due date too: the
# response is rendered before the INSERT), and the Idempotency-Key's record in the same
# statement (app.idempotency.recorded_by), the body completed with the id and reference.
_SUBMITTED = (
    "category_id",
    "commune_insee",
    "desk_id",
    "crew_id",
    "asset_id",
    "priority",
    "routing",
    "geom",
    "accuracy_m",
    "address",
    "description",
    "answers",
    "reporter_uid",
    "reporter_anonymous",
    "language",
    "source",
    "status",
    "duplicate_of_id",
    "created_at",
    "updated_at",
    "due_at",
)


def _submit_statement():
    columns = Report.__table__.c
    report = (
        insert(Report)
        .values({name: bindparam(name, type_=columns[name].type) for name in _SUBMITTED})
        .returning(Report.id, Report.reference)
        .cte("report")
    )
    key = idempotency.recorded_by(
        report,
        fields={"id": report.c.id, "reference": report.c.reference},
        location=literal("/v1/reports/") + cast(report.c.id, String),
    )
    return select(
        report.c.id, report.c.reference, select(key.c.id).scalar_subquery().label("key_id")
    )


_SUBMIT = _submit_statement()
_SUBMIT_BEGIN = idempotency.begin_statement(*intake.TRANSACTION_SETUP)


def submit_report(
    session: Session,
    *,
    reporter: Identity,
    data: dict,
    language: str,
    idempotency_key: str,
    request_fingerprint: str,
    render: Callable[[Report], dict],
) -> idempotency.Outcome:
    """Create a report once per Idempotency-Key; ``render`` gives the response body.

    Five round trips: BEGIN; the key's claim with the routing's setup; the routing lookup;
    the report and the key's record in one INSERT (the body is rendered before it, the
    database completes its id and reference); COMMIT."""
    claim = {
        "owner": reporter.uid,
        "scope": SUBMIT_SCOPE,
        "key": idempotency_key,
        "request_fingerprint": request_fingerprint,
    }
    replay, setup = idempotency.begin_with(session, _SUBMIT_BEGIN, **claim)
    if replay is not None:
        session.rollback()
        return replay
    values, routed, contact = _decide(
        session, reporter=reporter, data=data, language=language, source="app", now=setup.now
    )
    # What the database would fill in but id and reference: its now() is the transaction's
    # start, read above (the due date as _INSERT_REPORT computes it, in absolute time).
    values.update(
        created_at=setup.now,
        updated_at=setup.now,
        due_at=(
            setup.now.astimezone(UTC) + timedelta(hours=routed.category.service_level_hours)
        ).astimezone(setup.now.tzinfo),
        support_count=0,
        anonymous_support_count=0,
    )
    values.setdefault("status", "new")
    values.setdefault("duplicate_of_id", None)
    body = render(_unsaved(values, routed, contact))
    created = session.execute(
        _SUBMIT,
        {
            **{name: values[name] for name in _SUBMITTED},
            "owner": reporter.uid,
            "scope": SUBMIT_SCOPE,
            "key": idempotency_key,
            "fingerprint": request_fingerprint,
            "status_code": 201,
            "body": body,
        },
    ).one()
    if created.key_id is None:  # a twin committed the key first: nothing is kept
        raise Conflict("idempotency_in_progress", headers={"Retry-After": "1"})
    if contact:
        session.execute(_INSERT_CONTACT, {"report_id": created.id, **contact})
    session.commit()
    return idempotency.Outcome(
        201,
        {**body, "id": created.id, "reference": created.reference},
        f"/v1/reports/{created.id}",
        replayed=False,
    )


def _decide(
    session: Session,
    *,
    reporter: Identity,
    data: dict,
    language: str,
    source: str,
    now: datetime | None = None,
) -> tuple[dict, intake.Routed, dict | None]:
    """The new report's columns (routing, validation, duplicate's support), its routing and
    contact; ``now``: see :func:`app.routing.intake.route`."""
    location = data.get("location")
    lon, lat = (location["lon"], location["lat"]) if location else (None, None)
    routed = intake.route(
        session,
        data["category"],
        lon,
        lat,
        asset_reference=data.get("asset_reference"),
        enabled=current_app.config["ROUTING_ENABLED"],
        now=now,
    )
    if location and routed.commune is None:
        raise outside_service_area(session, lon, lat, "location")
    answers = validate_answers(routed.category, data.get("answers") or {})
    contact = data.get("contact")
    if contact and contact.get("by_email") and not contact.get("email"):
        raise Unprocessable(
            "contact_email_required",
            errors={"json": {"contact": {"email": ["give an email address to be told by e-mail"]}}},
        )
    values = {
        **routed.values(),
        "geom": WKTElement(f"POINT({lon} {lat})", srid=WGS84) if location else None,
        "accuracy_m": location.get("accuracy_m") if location else None,
        "address": data.get("address"),
        "description": data.get("description"),
        "answers": answers,
        "reporter_uid": reporter.uid,
        "reporter_anonymous": reporter.anonymous,
        "language": language,
        "source": source,
    }
    original = routed.original
    if original is not None:
        original_id, _, original_reporter = original
        values.update(status="duplicate", duplicate_of_id=original_id)
        # The reporter's voice goes to the original: they support and follow it.
        if original_reporter != reporter.uid:
            add_support(session, original_id, reporter.uid, anonymous=reporter.anonymous)
    return values, routed, contact


def _detached(values: dict, routed: intake.Routed, contact: dict | None, **created) -> Report:
    """The new report, detached from the session: it only carries the response, nothing is
    flushed from it. ``created``: what the database filled in."""
    original = routed.original
    return Report(
        **{**values, **created},
        category=routed.category,
        commune=routed.commune,
        desk=routed.desk,
        contact=ReportContact(**contact) if contact else None,
        duplicate_of=None if original is None else Report(id=original[0], reference=original[1]),
    )


def _unsaved(values: dict, routed: intake.Routed, contact: dict | None) -> SimpleNamespace:
    """What ``render`` reads of the new report before the INSERT (id and reference not
    known yet): the attributes of :func:`_detached`'s Report, without the ORM object
    (building it cost about as much as the rest of the rendering)."""
    original = routed.original
    return SimpleNamespace(
        **values,
        id=None,
        reference=None,
        public_description=None,
        category=routed.category,
        commune=routed.commune,
        desk=routed.desk,
        contact=SimpleNamespace(**contact) if contact else None,
        duplicate_of=None
        if original is None
        else SimpleNamespace(id=original[0], reference=original[1]),
    )


def _create(
    session: Session, *, reporter: Identity, data: dict, language: str, source: str = "app"
) -> Report:
    values, routed, contact = _decide(
        session, reporter=reporter, data=data, language=language, source=source
    )
    # A Core INSERT: the ORM's unit of work costs more than the statement on this hot path.
    # id, reference, status, timestamps and the due date come back with RETURNING.
    created = session.execute(
        _INSERT_REPORT, {**values, "service_hours": routed.category.service_level_hours}
    ).one()
    if contact:
        session.execute(_INSERT_CONTACT, {"report_id": created.id, **contact})
    return _detached(values, routed, contact, **created._asdict())


def create_report(
    session: Session, *, reporter: Identity, data: dict, language: str, source: str
) -> Report:
    """Create a report as intake does (validation, routing, duplicates) from another channel
    (``source``: open311...), in the caller's transaction: flushes, does not commit."""
    return _create(session, reporter=reporter, data=data, language=language, source=source)


def active_category(session: Session, code: str, *, field: str) -> Category:
    category = session.scalar(select(Category).where(Category.code == code, Category.active))
    if category is None:
        raise Unprocessable(
            "unknown_category", code=code, errors={"query": {field: [f"no active category {code}"]}}
        )
    return category


def outside_service_area(session: Session, lon: float, lat: float, field: str) -> Unprocessable:
    nearest = geo.locate(session, lon, lat).nearest
    return Unprocessable(
        "outside_service_area",
        commune=nearest["name"] if nearest else "?",
        distance_km=f"{(nearest['distance_m'] if nearest else 0) / 1000:.1f}",
        errors={"json": {field: ["outside the 23 communes of Dijon Métropole"]}},
    )


def place_from_photo(session: Session, report: Report, lon: float, lat: float) -> bool:
    """Give a report without a location the position of its photo, if inside the area, and
    route it as intake would have: commune, desk, equipment, duplicate, crew, priority.

    Flushes only: the photo job commits. Returns whether the report was placed.
    """
    if report.geom is not None:
        return False
    # Routed before the report gets its position, so that it cannot find itself.
    routed = intake.route(session, report.category.code, lon, lat, active_only=False)
    if routed.commune is None:
        return False
    report.geom = WKTElement(f"POINT({lon} {lat})", srid=WGS84)
    values = routed.values()
    if report.asset_id is not None:  # named by the app: it stays
        values["asset_id"] = report.asset_id
        values["routing"]["asset"] = (report.routing or {}).get("asset")
    for column, value in values.items():
        setattr(report, column, value)
    original = routed.original
    if original is not None and report.status != "duplicate":
        report.status, report.duplicate_of_id = "duplicate", original[0]
        report.crew_id = None
        if original[2] != report.reporter_uid:
            add_support(
                session, original[0], report.reporter_uid, anonymous=report.reporter_anonymous
            )
    session.flush()
    return True


def get_report(session: Session, report_id: int) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report_not_found", id=report_id)
    return report


def support(session: Session, *, resident: Identity, report_id: int) -> dict:
    """Add the resident's support ("me too") once; they follow the report from then on."""
    report = get_report(session, report_id)
    if report.reporter_uid == resident.uid:
        raise Conflict("cannot_support_own_report")
    add_support(session, report_id, resident.uid, anonymous=resident.anonymous)
    count = session.scalar(select(Report.support_count).where(Report.id == report_id))
    session.commit()
    return {"report_id": report_id, "supported": True, "support_count": count}


def add_support(session: Session, report_id: int, uid: str, *, anonymous: bool = False) -> bool:
    """Count ``uid``'s support once (an anonymous sign-in's apart too) and make them a
    follower; False if they already were."""
    added = session.execute(
        insert(ReportSupporter)
        .values(report_id=report_id, uid=uid, anonymous=anonymous)
        .on_conflict_do_nothing()
        .returning(ReportSupporter.uid)
    ).first()
    if added:
        session.execute(
            update(Report)
            .where(Report.id == report_id)
            .values(
                support_count=Report.support_count + 1,
                anonymous_support_count=Report.anonymous_support_count + int(anonymous),
            )
        )
        session.execute(
            insert(ReportFollower)
            .values(report_id=report_id, uid=uid, reason="supporter")
            .on_conflict_do_nothing()
        )
    return bool(added)


@dataclass(frozen=True)
class StaffView:
    """What a staff caller sees of how the city handles a report; ``handles``: the caller is
    of the report's own staff (see :func:`handles`), who also see what the resident said and
    where exactly."""

    handles: bool
    crew: Crew | None


def handles(viewer: Identity, report: Report, crew: Crew | None) -> bool:
    """Whether ``viewer`` is of the report's own staff: an agent of its desk, a supervisor or
    an admin, or a member of the crew holding it (``crew``, the report's)."""
    if works_desk(viewer, report.desk.code if report.desk is not None else None):
        return True
    return viewer.role == Role.CREW and crew is not None and crew.code == viewer.crew


def view_of(session: Session, report: Report, viewer: Identity, photos=(), *, grid_m: int) -> dict:
    """The report as ``viewer`` may see it (``GET /v1/reports/{id}``, a triage action's
    answer): the reporter their own fields, the report's staff what the resident said and
    where exactly, other staff how it is handled; everyone else its public projection."""
    staff = None
    if viewer.role in STAFF_ROLES:
        crew = session.get(Crew, report.crew_id) if report.crew_id is not None else None
        staff = StaffView(handles=handles(viewer, report, crew), crew=crew)
    exact = viewer.uid == report.reporter_uid or (staff is not None and staff.handles)
    place = None if exact else public.place_of(session, report.id, grid_m)
    return present(report, viewer.uid, photos, place=place, staff=staff)


def present(
    report: Report,
    viewer_uid: str | None,
    photos=(),
    *,
    place: public.PublicPlace | None = None,
    staff: StaffView | None = None,
) -> dict:
    """The report as ``viewer_uid`` may see it: the reporter gets their own fields too.

    Where it is: ``place`` (its public projection, app.reports.public) when given, else the
    exact position and the address as typed (for the reporter and the report's staff).
    ``staff``: how the city handles it, for staff callers. ``photos`` are the report's Photo
    rows; others than the reporter and the report's own staff see the public ones only.
    """
    view = {
        "id": report.id,
        "reference": report.reference,
        "status": report.status,
        "category": report.category,
        "location": None
        if report.geom is None
        else {"type": "Point", "coordinates": list(to_shape(report.geom).coords[0])},
        "address": report.address,
        "public_description": report.public_description,
        "commune": report.commune,
        "support_count": report.support_count,
        "desk": None
        if report.desk is None
        else {
            "code": report.desk.code,
            "name_fr": report.desk.name_fr,
            "name_en": report.desk.name_en,
        },
        "duplicate_of": None
        if report.duplicate_of is None
        else {"id": report.duplicate_of.id, "reference": report.duplicate_of.reference},
        "created_at": report.created_at,
        "updated_at": report.updated_at,
        "is_mine": viewer_uid is not None and viewer_uid == report.reporter_uid,
    }
    exact = view["is_mine"] or (staff is not None and staff.handles)
    if place is not None:
        view.update(location=place.location, address=place.address)
    elif not exact:  # never the exact place by omission
        raise ValueError("a public view of a report needs its public projection")
    shown = (
        present_photo(p, owner=view["is_mine"], staff=staff is not None and staff.handles)
        for p in photos
    )
    view["photos"] = [p for p in shown if p is not None]
    if staff is not None:  # how the control centre handles it; never shown to residents
        view.update(
            priority=report.priority,
            due_at=report.due_at,
            routing=report.routing,
            anonymous_support_count=report.anonymous_support_count or 0,
            crew=None if staff.crew is None else {"code": staff.crew.code, "name": staff.crew.name},
        )
        if staff.handles:  # what the resident said: for the desk and the crew to triage
            view.update(description=report.description, answers=report.answers)
    if view["is_mine"]:
        view.update(
            description=report.description,
            answers=report.answers,
            accuracy_m=report.accuracy_m,
            language=report.language,
            contact=report.contact,
        )
    return view
