"""Where a report goes: the desk (first matching rule, else the fallback desk) and the crew.

The report router calls these inside the report's transaction; each is one SQL statement,
and the zone tests are written so that PostgreSQL can answer them from the GiST indexes.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Float,
    Integer,
    Select,
    String,
    Time,
    and_,
    any_,
    bindparam,
    cast,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from app.geo.models import LAMBERT93, WGS84
from app.organisation.models import Crew, Desk, RoutingRule
from app.reports.models import CLOSED_STATUSES, Report
from app.routing import explanation
from app.workload.models import CrewWorkload

LOCAL_TIME = ZoneInfo("Europe/Paris")


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
    row = session.execute(_MATCH_DESK, _desk_params(category_code, lon, lat, at)).first()
    if row is None:
        raise LookupError("no routing rule matched and there is no fallback desk")
    desk, matched = row
    return matched, desk


def match_desk_statement(category_code: str, lon: float, lat: float, at: datetime):
    """The statement :func:`match_desk` runs, with its parameters bound (for EXPLAIN)."""
    return _MATCH_DESK.params(**_desk_params(category_code, lon, lat, at))


def _desk_params(category_code: str, lon: float, lat: float, at: datetime) -> dict:
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    local = at.astimezone(LOCAL_TIME)
    return {
        "category_code": category_code,
        "lon": lon,
        "lat": lat,
        "month": local.month,
        "clock": local.time().replace(tzinfo=None),
    }


def _match_desk_statement(*columns):
    """Desk and rule of the first matching rule, else the fallback desk, as ``columns``.

    Parameters ``category_code``, ``lon``, ``lat``, ``month`` and ``clock``."""
    clock = bindparam("clock", type_=Time)
    rule = RoutingRule
    conditions = (
        rule.active.is_(True),
        or_(rule.category_code.is_(None), rule.category_code == bindparam("category_code")),
        or_(rule.months.is_(None), bindparam("month", type_=Integer) == any_(rule.months)),
        or_(
            rule.starts_at.is_(None),
            and_(rule.starts_at < rule.ends_at, rule.starts_at <= clock, clock < rule.ends_at),
            and_(rule.starts_at > rule.ends_at, or_(rule.starts_at <= clock, clock < rule.ends_at)),
        ),
    )
    point = _point(bindparam("lon", type_=Float), bindparam("lat", type_=Float))
    candidates = _zone_branches(rule, conditions, point, rule.id, rule.priority).subquery()
    first = select(candidates.c.id).order_by(candidates.c.priority).limit(1).scalar_subquery()
    return (
        select(*columns)
        .select_from(Desk)
        .outerjoin(RoutingRule, and_(RoutingRule.desk_id == Desk.id, RoutingRule.id == first))
        .where(or_(RoutingRule.id.is_not(None), Desk.is_fallback.is_(True)))
        .order_by(RoutingRule.id.is_(None), Desk.id)
        .limit(1)
    )


def routed_desk():
    """:func:`match_desk` as a LATERAL subquery for the report's lookup statement (same
    parameters): columns desk_id, desk_code, desk_name_fr, desk_name_en, rule_id, rule_name."""
    return _match_desk_statement(
        Desk.id.label("desk_id"),
        Desk.code.label("desk_code"),
        Desk.name_fr.label("desk_name_fr"),
        Desk.name_en.label("desk_name_en"),
        RoutingRule.id.label("rule_id"),
        RoutingRule.name.label("rule_name"),
    ).lateral("routed_desk")


def desk_params(category_code: str, at: datetime) -> dict:
    """The parameters :func:`routed_desk` needs besides ``lon`` and ``lat``."""
    return {
        key: value
        for key, value in _desk_params(category_code, 0.0, 0.0, at).items()
        if key not in ("lon", "lat")
    }


# Built once: composing it per report cost several times what running it does.
_MATCH_DESK = _match_desk_statement(Desk, RoutingRule)


def choose_crew(
    session: Session, desk_id: int, category_code: str, lon: float, lat: float
) -> tuple[Crew, dict] | None:
    """The desk's active crew covering the point with the skill and the lowest open
    workload relative to its capacity, nearest depot first on ties; None when none fits."""
    params = {"desk_id": desk_id, "category_code": category_code, "lon": lon, "lat": lat}
    row = session.execute(_CHOOSE_CREW, params).first()
    if row is None:
        return None
    crew, load, metres = row
    return crew, explanation.crew_chosen(crew.code, load, crew.capacity, metres)


def choose_crew_statement(desk_id: int, category_code: str, lon: float, lat: float):
    """The statement :func:`choose_crew` runs, with its parameters bound (for EXPLAIN)."""
    return _CHOOSE_CREW.params(desk_id=desk_id, category_code=category_code, lon=lon, lat=lat)


def holds_open_work(crew_id):
    """The reports that make a crew's workload (``crew_id``: an id or a column): those it
    holds whose work is not over, assigned or in progress, or proposed to it by routing and
    not yet assigned. Routing's choice and the supervisors' crew overview count these."""
    return and_(
        Report.crew_id == crew_id,
        # Written into the SQL, so that a generic plan can use the partial index.
        Report.status.not_in(
            bindparam("closed", CLOSED_STATUSES, expanding=True, literal_execute=True)
        ),
    )


def fresh_workload(crew_id) -> Select:
    """One row, column ``workload``: the reports :func:`holds_open_work` counted afresh (a
    scan of the crew's open reports; the counters' check and the benchmark's baseline)."""
    return (
        select(func.count().label("workload")).select_from(Report).where(holds_open_work(crew_id))
    )


def counted_workload(crew_id) -> Select:
    """The same from the crew's counter, kept by triggers in every writer's transaction
    (app.workload): the sum of its slots, constant time whatever the backlog. What routing
    ranks crews by. No lock is taken: a reader sees the count as of its snapshot, as a
    count of the reports would."""
    return select(func.coalesce(func.sum(CrewWorkload.reports), 0).label("workload")).where(
        CrewWorkload.crew_id == crew_id
    )


def load_ratio(workload, capacity):
    """A crew's workload for its capacity, as routing ranks crews (1.0: full)."""
    return cast(workload, Float) / capacity


def _choose_crew_statement(desk_id, *columns, workload=counted_workload):
    """The crew :func:`choose_crew` picks among ``desk_id``'s, as ``columns`` followed by
    its workload (``workload``: :func:`counted_workload` or :func:`fresh_workload`) and
    depot distance. Parameters ``category_code``, ``lon``, ``lat``."""
    point = _point(bindparam("lon", type_=Float), bindparam("lat", type_=Float))
    conditions = (
        Crew.active.is_(True),
        bindparam("category_code", type_=String) == any_(Crew.skills),
    )
    candidates = _zone_branches(Crew, conditions, point, Crew.id).subquery()
    # Counted once per candidate (a correlated count in both the columns and the ordering
    # would run twice for the chosen crew).
    counted = workload(Crew.id).lateral("crew_workload")
    workload = counted.c.workload
    # Metres, in Lambert-93; computed for the few candidates only.
    distance = func.ST_Distance(
        func.ST_Transform(Crew.depot, LAMBERT93), func.ST_Transform(point, LAMBERT93)
    ).label("depot_distance_m")
    return (
        select(*columns, workload, distance)
        .join(candidates, candidates.c.id == Crew.id)
        .join(counted, true())
        # Outside the zone branches, so that ``desk_id`` may be an outer query's column.
        .where(Crew.desk_id == desk_id)
        .order_by(
            load_ratio(workload, Crew.capacity),
            distance.asc().nulls_last(),
            Crew.code,
        )
        .limit(1)
    )


def routed_crew(desk_id, *, workload=counted_workload):
    """:func:`choose_crew` as a LATERAL subquery on ``desk_id`` (a column of the enclosing
    statement): columns crew_id, crew_code, crew_capacity, workload, depot_distance_m."""
    return _choose_crew_statement(
        desk_id,
        Crew.id.label("crew_id"),
        Crew.code.label("crew_code"),
        Crew.capacity.label("crew_capacity"),
        workload=workload,
    ).lateral("routed_crew")


_CHOOSE_CREW = _choose_crew_statement(bindparam("desk_id", type_=Integer), Crew)
