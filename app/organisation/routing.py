"""Where a report goes: the desk (first matching rule, else the fallback desk) and the crew.

The report router calls these inside the report's transaction; each is one SQL statement,
and the zone tests are written so that PostgreSQL can answer them from the GiST indexes.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, any_, cast, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from app.geo.models import LAMBERT93, WGS84
from app.organisation.models import Crew, Desk, RoutingRule
from app.reports.models import Report

LOCAL_TIME = ZoneInfo("Europe/Paris")
# A report in one of these states no longer weighs on its crew.
CLOSED_STATUSES = ("resolved", "closed", "rejected", "duplicate")


def _point(lon: float, lat: float):
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), WGS84)


def _zone_branches(model, conditions, point, *columns):
    """Rows meeting ``conditions`` whose zone covers ``point`` or is null, as a UNION ALL:
    an ``OR zone IS NULL`` in one WHERE would keep the planner off the zone's GiST index."""
    return union_all(
        select(*columns).where(model.zone.is_(None), *conditions),
        select(*columns).where(func.ST_Covers(model.zone, point), *conditions),
    )


def match_desk(
    session: Session, category_code: str, lon: float, lat: float, at: datetime
) -> tuple[RoutingRule | None, Desk]:
    """The first active rule by priority matching the category, the point and the local
    month and time of ``at`` (an aware datetime), with its desk; else (None, fallback desk)."""
    row = session.execute(match_desk_statement(category_code, lon, lat, at)).first()
    if row is None:
        raise LookupError("no routing rule matched and there is no fallback desk")
    desk, matched = row
    return matched, desk


def match_desk_statement(category_code: str, lon: float, lat: float, at: datetime):
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    local = at.astimezone(LOCAL_TIME)
    now = local.time().replace(tzinfo=None)
    clock = literal(now)
    rule = RoutingRule
    conditions = (
        rule.active.is_(True),
        or_(rule.category_code.is_(None), rule.category_code == category_code),
        or_(rule.months.is_(None), literal(local.month) == any_(rule.months)),
        or_(
            rule.starts_at.is_(None),
            and_(rule.starts_at < rule.ends_at, rule.starts_at <= clock, clock < rule.ends_at),
            and_(rule.starts_at > rule.ends_at, or_(rule.starts_at <= clock, clock < rule.ends_at)),
        ),
    )
    candidates = _zone_branches(
        rule, conditions, _point(lon, lat), rule.id, rule.priority
    ).subquery()
    first = select(candidates.c.id).order_by(candidates.c.priority).limit(1).scalar_subquery()
    return (
        select(Desk, RoutingRule)
        .outerjoin(RoutingRule, and_(RoutingRule.desk_id == Desk.id, RoutingRule.id == first))
        .where(or_(RoutingRule.id.is_not(None), Desk.is_fallback.is_(True)))
        .order_by(RoutingRule.id.is_(None), Desk.id)
        .limit(1)
    )


def rule_explanation(rule: RoutingRule | None, desk: Desk) -> dict:
    """What the router records about the desk decision."""
    if rule is None:
        return {"rule": "fallback", "desk": desk.code}
    return {"rule": {"id": rule.id, "name": rule.name}, "desk": desk.code}


def open_workload(crew_id):
    """How many open reports a crew carries (a correlated count)."""
    return (
        select(func.count())
        .select_from(Report)
        .where(Report.crew_id == crew_id, Report.status.not_in(CLOSED_STATUSES))
        .scalar_subquery()
    )


def choose_crew(
    session: Session, desk_id: int, category_code: str, lon: float, lat: float
) -> tuple[Crew, dict] | None:
    """The desk's active crew covering the point with the skill and the lowest open
    workload relative to its capacity, nearest depot first on ties; None when none fits."""
    row = session.execute(choose_crew_statement(desk_id, category_code, lon, lat)).first()
    if row is None:
        return None
    crew, load, metres = row
    return crew, {
        "crew": crew.code,
        "workload": load,
        "capacity": crew.capacity,
        "depot_distance_m": None if metres is None else round(metres),
    }


def choose_crew_statement(desk_id: int, category_code: str, lon: float, lat: float):
    point = _point(lon, lat)
    conditions = (
        Crew.active.is_(True),
        Crew.desk_id == desk_id,
        literal(category_code) == any_(Crew.skills),
    )
    candidates = _zone_branches(Crew, conditions, point, Crew.id).subquery()
    workload = open_workload(Crew.id).label("workload")
    # Metres, in Lambert-93; computed for the few candidates only.
    distance = func.ST_Distance(
        func.ST_Transform(Crew.depot, LAMBERT93), func.ST_Transform(point, LAMBERT93)
    ).label("depot_distance_m")
    return (
        select(Crew, workload, distance)
        .join(candidates, candidates.c.id == Crew.id)
        .order_by(
            cast(workload, Float) / Crew.capacity,
            distance.asc().nulls_last(),
            Crew.code,
        )
        .limit(1)
    )
