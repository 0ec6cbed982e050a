"""Use cases of reports: submitting, reading, supporting."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from geoalchemy2 import WKTElement
from geoalchemy2.shape import to_shape
from sqlalchemy import Numeric, bindparam, func, null, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.assets.models import Asset
from app.categories.models import Category
from app.categories.service import validate_answers
from app.errors import Conflict, NotFound, Unprocessable
from app.geo import service as geo
from app.geo.models import LAMBERT93, WGS84, Commune, in_lambert93_domain
from app.idempotency import service as idempotency
from app.organisation import routing as routing_rules
from app.organisation.models import Desk
from app.reports.models import (
    CLOSED_STATUSES,
    Report,
    ReportContact,
    ReportFollower,
    ReportSupporter,
)
from app.users.identity import Identity

SUBMIT_SCOPE = "POST /v1/reports"
# What the database fills in when a report is created.
_RETURNED = (
    "id",
    "reference",
    "status",
    "source",
    "support_count",
    "created_at",
    "updated_at",
    "due_at",
)
# Service level (hours) at most -> priority: 1 urgent, 2 high, 3 normal, else 4 low.
PRIORITY_BY_SERVICE_LEVEL = ((4, 1), (24, 2), (168, 3))


def priority_for(service_level_hours: int) -> int:
    return next((p for hours, p in PRIORITY_BY_SERVICE_LEVEL if service_level_hours <= hours), 4)


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
    """Create a report once per Idempotency-Key; ``render`` gives the response body."""
    claim = {
        "owner": reporter.uid,
        "scope": SUBMIT_SCOPE,
        "key": idempotency_key,
        "request_fingerprint": request_fingerprint,
    }
    replay = idempotency.begin(session, **claim)
    if replay is not None:
        session.rollback()
        return replay
    report = _create(session, reporter=reporter, data=data, language=language)
    outcome = idempotency.complete(
        session, **claim, status_code=201, body=render(report), location=f"/v1/reports/{report.id}"
    )
    session.commit()
    return outcome


def _create(session: Session, *, reporter: Identity, data: dict, language: str) -> Report:
    location = data.get("location")
    point = (
        WKTElement(f"POINT({location['lon']} {location['lat']})", srid=WGS84)
        if (location)
        else None
    )
    # One round trip: the category, the commune containing the point, the open report of the
    # same problem this one duplicates (near, or on the same equipment), the nearest
    # equipment of the category's kind and any sensitive place nearby. Built once (below).
    if point is None:
        row = session.execute(_LOOKUP_UNPLACED, {"code": data["category"]}).first()
    else:
        lookup = (
            _LOOKUP
            if in_lambert93_domain(location["lon"], location["lat"])
            else _LOOKUP_FAR_AWAY  # no duplicate can be there, and PROJ may refuse the point
        )
        row = session.execute(
            lookup, {"code": data["category"], "lon": location["lon"], "lat": location["lat"]}
        ).first()
    if row is None:
        raise Unprocessable(
            "unknown_category",
            code=data["category"],
            errors={"json": {"category": [f"no active category {data['category']}"]}},
        )
    category, commune, near_original, asset, asset_original, place = row
    if data.get("asset_reference"):
        asset = named_asset(session, category, data["asset_reference"])
        asset_original = session.execute(
            select(duplicate_on_asset(asset[0]))
            .select_from(Category)
            .where(Category.id == category.id)
        ).scalar()
    # Attached to the same equipment beats being near.
    original = asset_original or near_original
    if point is not None and commune is None:
        raise outside_service_area(session, location["lon"], location["lat"], "location")
    answers = validate_answers(category, data.get("answers") or {})
    contact = data.get("contact")
    if contact and contact.get("by_email") and not contact.get("email"):
        raise Unprocessable(
            "contact_email_required",
            errors={"json": {"contact": {"email": ["give an email address to be told by e-mail"]}}},
        )
    values = {
        "category_id": category.id,
        "commune_insee": commune.insee_code if commune is not None else None,
        "geom": point,
        "accuracy_m": location.get("accuracy_m") if location else None,
        "address": data.get("address"),
        "description": data.get("description"),
        "answers": answers,
        "reporter_uid": reporter.uid,
        "language": language,
        "priority": priority_for(category.service_level_hours),
        "asset_id": asset[0] if asset else None,
    }
    routing = {
        "service_level": {
            "hours": category.service_level_hours,
            "priority": values["priority"],
            "why": "the category's service level",
        },
        "asset": None,
        "duplicate": None,
    }
    if place is not None:
        values["priority"] = max(1, values["priority"] - 1)
        reference, name, kind = place
        routing["service_level"].update(
            priority=values["priority"],
            why=f"the category's service level, raised: within {SENSITIVE_RADIUS_M} m of "
            f"{kind or 'a sensitive place'} {name or reference}",
        )
    if asset:
        asset_id, reference, *distance = asset
        routing["asset"] = {
            "id": asset_id,
            "reference": reference,
            "why": f"named by the app ({category.asset_kind})"
            if data.get("asset_reference")
            else f"nearest {category.asset_kind} within {category.snap_distance_m} m: "
            f"{distance[0]} m",
        }
    desk = None
    if point is not None:
        desk = route_to_desk_and_crew(
            session, category, location, values, routing, duplicate=original is not None
        )
    if original is not None:
        original_id, original_reference, original_reporter = original
        values.update(status="duplicate", duplicate_of_id=original_id)
        routing["duplicate"] = {
            "report_id": original_id,
            "reference": original_reference,
            "why": f"open {category.code} report on the same equipment"
            if original is asset_original
            else f"open {category.code} report within {category.duplicate_radius_m} m, "
            f"filed in the last {category.duplicate_window_days} days (the nearest)",
        }
        # The reporter's voice goes to the original: they support and follow it.
        if original_reporter != reporter.uid:
            add_support(session, original_id, reporter.uid)
    # A Core INSERT: the ORM's unit of work costs more than the statement on this hot path.
    # id, reference, status, timestamps and the due date come back with RETURNING.
    values["routing"] = routing
    due_at = func.now() + timedelta(hours=category.service_level_hours)
    created = session.execute(
        insert(Report)
        .values(**values, due_at=due_at)
        .returning(*(getattr(Report, c) for c in _RETURNED))
    ).one()
    if contact:
        session.execute(insert(ReportContact).values(report_id=created.id, **contact))
    # Detached from the session: it only carries the response, nothing is flushed from it.
    return Report(
        **{**values, **created._asdict()},
        category=category,
        commune=commune,
        desk=desk,
        contact=ReportContact(**contact) if contact else None,
        duplicate_of=None
        if original is None
        else Report(id=original_id, reference=original_reference),
    )


# Core aliases, built once: aliasing the mapped class per request costs milliseconds.
_ORIGINAL = Report.__table__.alias("original")
_SNAPPED = Asset.__table__.alias("snapped")
_PLACE = Asset.__table__.alias("place")
# A report this near a school, hospital or nursing home (a `poi` asset) is one step more
# urgent.
SENSITIVE_RADIUS_M = 100


def snapped_asset(point, column: str | None = None):
    """The nearest working equipment of the outer query's category's kind within its snap
    distance, as [id, reference, distance m] (or just ``column``)."""
    asset = _SNAPPED.c
    here = func.ST_Transform(point, LAMBERT93)
    value = (
        asset[column]
        if column
        else func.json_build_array(
            asset.id,
            asset.reference,
            func.round(func.ST_Distance(asset.geom_l93, here).cast(Numeric), 1),
        )
    )
    return (
        select(value)
        .where(
            asset.kind == Category.asset_kind,
            asset.status != "removed",
            func.ST_DWithin(asset.geom_l93, here, Category.snap_distance_m),
        )
        .order_by(asset.geom_l93.op("<->")(here), asset.id)
        .limit(1)
        .correlate(Category)
        .scalar_subquery()
    )


def duplicate_on_asset(asset_id):
    """The oldest open report of the outer query's category attached to ``asset_id``."""
    original = _ORIGINAL.c
    return (
        select(func.json_build_array(original.id, original.reference, original.reporter_uid))
        .where(
            original.asset_id == asset_id,
            original.category_id == Category.id,
            original.status.not_in(CLOSED_STATUSES),
        )
        .order_by(original.created_at, original.id)
        .limit(1)
        .correlate(Category)
        .scalar_subquery()
    )


def sensitive_place(point):
    """The nearest `poi` asset within SENSITIVE_RADIUS_M, as [reference, name, kind of place]."""
    place = _PLACE.c
    here = func.ST_Transform(point, LAMBERT93)
    return (
        select(func.json_build_array(place.reference, place.name, place.attributes["poi"].astext))
        .where(
            place.kind == "poi",
            place.status != "removed",
            func.ST_DWithin(place.geom_l93, here, SENSITIVE_RADIUS_M),
        )
        .order_by(place.geom_l93.op("<->")(here), place.id)
        .limit(1)
        .scalar_subquery()
    )


def duplicate_target(point):
    """The nearest open report of the outer query's category within the category's duplicate
    radius and window, as [id, reference, reporter uid]: a scalar subquery on the Lambert-93
    GiST index. A radius of 0 finds nothing."""
    original = _ORIGINAL.c
    here = func.ST_Transform(point, LAMBERT93)
    return (
        select(func.json_build_array(original.id, original.reference, original.reporter_uid))
        .where(
            original.category_id == Category.id,
            original.status.not_in(CLOSED_STATUSES),  # the open reports' partial index
            Category.duplicate_radius_m > 0,
            original.created_at
            > func.now() - func.make_interval(0, 0, 0, Category.duplicate_window_days),
            func.ST_DWithin(original.geom_l93, here, Category.duplicate_radius_m),
        )
        .order_by(original.geom_l93.op("<->")(here), original.id)
        .limit(1)
        .correlate(Category)
        .scalar_subquery()
    )


def _lookup(*, placed: bool, duplicates: bool):
    """The intake's lookup query; parameters ``code``, and ``lon``/``lat`` when placed."""
    point = func.ST_SetSRID(func.ST_MakePoint(bindparam("lon"), bindparam("lat")), WGS84)
    query = select(
        Category,
        Commune if placed else null(),
        duplicate_target(point) if duplicates else null(),
        snapped_asset(point) if duplicates else null(),
        duplicate_on_asset(snapped_asset(point, column="id")) if duplicates else null(),
        sensitive_place(point) if duplicates else null(),
    ).where(Category.code == bindparam("code"), Category.active.is_(True))
    if placed:
        query = query.outerjoin(Commune, func.ST_Covers(Commune.geom, point)).order_by(
            Commune.insee_code
        )
    return query.limit(1)


# Built once: composing these per request cost more than running them.
_LOOKUP = _lookup(placed=True, duplicates=True)
_LOOKUP_FAR_AWAY = _lookup(placed=True, duplicates=False)
_LOOKUP_UNPLACED = _lookup(placed=False, duplicates=False)


def route_to_desk_and_crew(
    session: Session,
    category: Category,
    location: dict,
    values: dict,
    routing: dict,
    *,
    duplicate: bool,
) -> Desk:
    """Steps 2 and 5: the desk of the first matching rule (else the fallback desk), then the
    desk's best-fitting crew; a duplicate goes to the desk but to no crew (its original has
    one). Fills ``values`` and ``routing``; returns the desk."""
    lon, lat = location["lon"], location["lat"]
    rule, desk = routing_rules.match_desk(session, category.code, lon, lat, datetime.now(UTC))
    values["desk_id"] = desk.id
    routing["desk"] = routing_rules.rule_explanation(rule, desk)
    routing["crew"] = None
    if not duplicate:
        chosen = routing_rules.choose_crew(session, desk.id, category.code, lon, lat)
        if chosen is None:
            routing["crew"] = {
                "crew": None,
                "why": "no active crew of this desk covers the point with the skill: "
                "the desk assigns one by hand",
            }
        else:
            crew, why = chosen
            values["crew_id"] = crew.id
            routing["crew"] = {
                **why,
                "why": "lowest open workload for its capacity among the desk's crews covering "
                "the point with the skill, then nearest depot",
            }
    return desk


def named_asset(session: Session, category: Category, reference: str) -> list:
    """The equipment the app named, as [id, reference]: it must exist, be of the category's
    kind and not be removed."""
    asset = session.scalar(select(Asset).where(Asset.reference == reference))
    if asset is None or asset.status == "removed":
        raise Unprocessable(
            "unknown_asset",
            reference=reference,
            errors={"json": {"asset_reference": [f"no equipment {reference}"]}},
        )
    if asset.kind != category.asset_kind:
        raise Unprocessable(
            "asset_kind_mismatch",
            reference=reference,
            kind=asset.kind,
            expected=category.asset_kind or "-",
            errors={"json": {"asset_reference": [f"{reference} is a {asset.kind}"]}},
        )
    return [asset.id, asset.reference]


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
    """Give a report without a location the position of its photo, if inside the area.

    Flushes only: the photo job commits. Returns whether the report was placed.
    """
    if report.geom is not None:
        return False
    place = geo.locate(session, lon, lat)
    if not place.inside:
        return False
    report.geom = WKTElement(f"POINT({lon} {lat})", srid=WGS84)
    report.commune_insee = place.commune["insee_code"]
    # Now that it has a place, it gets a desk and a crew like any report.
    values, routing = {}, dict(report.routing or {})
    route_to_desk_and_crew(
        session,
        report.category,
        {"lon": lon, "lat": lat},
        values,
        routing,
        duplicate=report.status == "duplicate",
    )
    report.desk_id, report.crew_id, report.routing = (
        values["desk_id"],
        values.get("crew_id"),
        routing,
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
    add_support(session, report_id, resident.uid)
    count = session.scalar(select(Report.support_count).where(Report.id == report_id))
    session.commit()
    return {"report_id": report_id, "supported": True, "support_count": count}


def add_support(session: Session, report_id: int, uid: str) -> bool:
    """Count ``uid``'s support once and make them a follower; False if they already were."""
    added = session.execute(
        insert(ReportSupporter)
        .values(report_id=report_id, uid=uid)
        .on_conflict_do_nothing()
        .returning(ReportSupporter.uid)
    ).first()
    if added:
        session.execute(
            update(Report)
            .where(Report.id == report_id)
            .values(support_count=Report.support_count + 1)
        )
        session.execute(
            insert(ReportFollower)
            .values(report_id=report_id, uid=uid, reason="supporter")
            .on_conflict_do_nothing()
        )
    return bool(added)


def present(report: Report, viewer_uid: str | None, photos=(), *, staff: bool = False) -> dict:
    """The report as ``viewer_uid`` may see it: the reporter gets their own fields too.

    ``photos`` are the report's Photo rows; others see the ready ones only.
    """
    from app.photos.service import present as present_photo

    view = {
        "id": report.id,
        "reference": report.reference,
        "status": report.status,
        "category": report.category,
        "location": None
        if report.geom is None
        else {"type": "Point", "coordinates": list(to_shape(report.geom).coords[0])},
        "address": report.address,
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
    shown = (present_photo(p, owner=view["is_mine"]) for p in photos)
    view["photos"] = [p for p in shown if p is not None]
    if staff:  # how the control centre handles it; never shown to residents
        view.update(priority=report.priority, due_at=report.due_at, routing=report.routing)
    if view["is_mine"]:
        view.update(
            description=report.description,
            answers=report.answers,
            accuracy_m=report.accuracy_m,
            language=report.language,
            contact=report.contact,
        )
    return view
