"""Routing a report: commune, desk, equipment, duplicate, crew, priority.

One statement finds everything a point needs (built once per process, with bind
parameters): the category, the commune containing the point, the open report this one
duplicates (near, or on the same equipment), the nearest equipment of the category's kind,
any sensitive place nearby, the desk of the first matching routing rule and that desk's
best-fitting crew. Python then decides and writes the explanation agents read.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, Numeric, bindparam, func, literal, null, select, true
from sqlalchemy.orm import Session

from app.assets.models import Asset
from app.categories.models import Category
from app.errors import Unprocessable
from app.geo.arguments import in_lambert93_domain
from app.geo.models import LAMBERT93, WGS84, Commune
from app.organisation.models import Desk, RoutingRule
from app.reports.models import CLOSED_STATUSES, Report
from app.routing import choice as rules
from app.routing import explanation as explained

# Service level (hours) at most -> priority: 1 urgent, 2 high, 3 normal, else 4 low.
PRIORITY_BY_SERVICE_LEVEL = ((4, 1), (24, 2), (168, 3))
# A report this near a school, hospital or nursing home (a `poi` asset) is one step more
# urgent.
SENSITIVE_RADIUS_M = 100


def priority_for(service_level_hours: int) -> int:
    return next((p for hours, p in PRIORITY_BY_SERVICE_LEVEL if service_level_hours <= hours), 4)


@dataclass
class Routed:
    """Where a report goes and why; ``explanation`` is for staff only."""

    category: Category
    commune: Commune | None
    desk: Desk | None
    crew_id: int | None
    asset_id: int | None
    # The open report this one duplicates: (id, reference, reporter uid).
    original: tuple[int, str, str] | None
    priority: int
    explanation: dict

    def values(self) -> dict:
        """The report's columns this decides."""
        return {
            "category_id": self.category.id,
            "commune_insee": self.commune.insee_code if self.commune is not None else None,
            "desk_id": self.desk.id if self.desk is not None else None,
            "crew_id": self.crew_id,
            "asset_id": self.asset_id,
            "priority": self.priority,
            "routing": self.explanation,
        }


def route(
    session: Session,
    category_code: str,
    lon: float | None = None,
    lat: float | None = None,
    *,
    asset_reference: str | None = None,
    at: datetime | None = None,
    active_only: bool = True,
    enabled: bool = True,
    now: datetime | None = None,
) -> Routed:
    """Route a report of ``category_code`` at (lon, lat) (or not placed yet: commune, desk
    and crew wait for a position). ``asset_reference`` is equipment the app named; with
    ``enabled`` False only the category and the commune are looked up (for measuring).
    ``now``: the database's time read by the transaction's earlier statement, which also
    ran ``TRANSACTION_SETUP`` (a round trip less)."""
    params = {"code": category_code}
    if lon is None:
        statement = _LOOKUP_UNPLACED
    else:
        params.update(lon=lon, lat=lat)
        # Outside Lambert-93's area no report can be routed, and PROJ may refuse the point.
        statement = _LOOKUP if enabled and in_lambert93_domain(lon, lat) else _LOOKUP_PLACE_ONLY
        if statement is _LOOKUP:
            if now is None:
                now = session.execute(_GENERIC_PLANS).one().now
            params.update(rules.desk_params(category_code, at or now))
    row = session.execute(statement, params).first()
    if row is None or (active_only and not row.Category.active):
        raise Unprocessable(
            "unknown_category",
            code=category_code,
            errors={"json": {"category": [f"no active category {category_code}"]}},
        )
    category = row.Category
    asset = (
        None if row.asset_id is None else [row.asset_id, row.asset_reference, row.asset_distance_m]
    )
    asset_original = row.original_on_asset
    if asset_reference:
        asset = named_asset(session, category, asset_reference)
        asset_original = session.execute(
            select(duplicate_on_asset(asset[0]))
            .select_from(Category)
            .where(Category.id == category.id)
        ).scalar()
    # Attached to the same equipment beats being near.
    original = asset_original or row.original_near
    priority = priority_for(category.service_level_hours)
    explanation = explained.started(category.service_level_hours, priority)
    if row.place is not None:
        priority = max(1, priority - 1)
        explained.raise_near_place(explanation, priority, row.place, SENSITIVE_RADIUS_M)
    if asset:
        explanation["asset"] = explained.asset(
            asset[0],
            asset[1],
            category.asset_kind,
            named=bool(asset_reference),
            snap_m=category.snap_distance_m,
            metres=asset[2] if len(asset) > 2 else None,
        )
    if original is not None:
        explanation["duplicate"] = explained.duplicate(
            original[0],
            original[1],
            category.code,
            on_asset=original is asset_original,
            radius_m=category.duplicate_radius_m,
            days=category.duplicate_window_days,
        )
    desk, crew_id = None, None
    if row.desk_id is not None:
        desk = Desk(
            id=row.desk_id,
            code=row.desk_code,
            name_fr=row.desk_name_fr,
            name_en=row.desk_name_en,
        )
        rule = None if row.rule_id is None else RoutingRule(id=row.rule_id, name=row.rule_name)
        explanation["desk"] = explained.desk_by_rule(rule, desk)
        explanation["crew"] = _crew_decision(row, duplicate=original is not None)
        crew_id = row.crew_id if explanation["crew"].get("crew") else None
    elif lon is not None and not enabled:
        explanation["desk"] = explanation["crew"] = explained.switched_off()
    return Routed(
        category=category,
        commune=row.Commune,
        desk=desk,
        crew_id=crew_id,
        asset_id=asset[0] if asset else None,
        original=tuple(original) if original is not None else None,
        priority=priority,
        explanation=explanation,
    )


def _crew_decision(row, *, duplicate: bool) -> dict:
    """A duplicate goes to the desk but to no crew (its original has one)."""
    if duplicate:
        return explained.crew_of_original()
    if row.crew_id is None:
        return explained.no_crew()
    return explained.crew_chosen(
        row.crew_code, row.workload, row.crew_capacity, row.depot_distance_m
    )


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


# Constants written into the SQL rather than bound: the planner can then prove the partial
# indexes' predicates from a prepared statement's generic plan too.
_CLOSED = bindparam("closed", CLOSED_STATUSES, expanding=True, literal_execute=True, unique=True)
_REMOVED = literal("removed", literal_execute=True)

# Core aliases, built once: aliasing the mapped class per request costs milliseconds.
_ORIGINAL = Report.__table__.alias("original")
_SNAPPED = Asset.__table__.alias("snapped")
_PLACE = Asset.__table__.alias("place")


def _metric(point):
    """``point`` in Lambert-93, as a one-row subquery: PostgreSQL computes it once when the
    statement runs, instead of the planner transforming the constant for each use."""
    return select(func.ST_Transform(point, LAMBERT93)).scalar_subquery()


def snapped_asset(point):
    """The nearest working equipment of the outer query's category's kind within its snap
    distance, as a LATERAL subquery: columns asset_id, asset_reference, asset_distance_m."""
    asset = _SNAPPED.c
    here = _metric(point)
    return (
        select(
            asset.id.label("asset_id"),
            asset.reference.label("asset_reference"),
            func.round(func.ST_Distance(asset.geom_l93, here).cast(Numeric), 1).label(
                "asset_distance_m"
            ),
        )
        .where(
            asset.kind == Category.asset_kind,
            asset.status != _REMOVED,
            func.ST_DWithin(asset.geom_l93, here, Category.snap_distance_m),
        )
        .order_by(asset.geom_l93.op("<->")(here), asset.id)
        .limit(1)
        .lateral("snapped_asset")
    )


def duplicate_on_asset(asset_id):
    """The oldest open report of the outer query's category attached to ``asset_id``."""
    original = _ORIGINAL.c
    return (
        select(func.json_build_array(original.id, original.reference, original.reporter_uid))
        .where(
            original.asset_id == asset_id,
            original.category_id == Category.id,
            original.status.not_in(_CLOSED),
        )
        .order_by(original.created_at, original.id)
        .limit(1)
        .correlate_except(_ORIGINAL)
        .scalar_subquery()
    )


def sensitive_place(point):
    """The nearest `poi` asset within SENSITIVE_RADIUS_M, as [reference, name, kind of place]."""
    place = _PLACE.c
    here = _metric(point)
    return (
        select(func.json_build_array(place.reference, place.name, place.attributes["poi"].astext))
        .where(
            place.kind == literal("poi", literal_execute=True),
            place.status != _REMOVED,
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
    here = _metric(point)
    return (
        select(func.json_build_array(original.id, original.reference, original.reporter_uid))
        .where(
            original.category_id == Category.id,
            original.status.not_in(_CLOSED),  # the open reports' partial index
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


_ASSET_COLUMNS = ("asset_id", "asset_reference", "asset_distance_m")
_DESK_COLUMNS = ("desk_id", "desk_code", "desk_name_fr", "desk_name_en", "rule_id", "rule_name")
_CREW_COLUMNS = ("crew_id", "crew_code", "crew_capacity", "workload", "depot_distance_m")


def _lookup(*, placed: bool, routed: bool, workload=rules.counted_workload):
    """The lookup statement; parameters ``code``, ``lon``/``lat`` when placed, and those of
    :func:`app.routing.choice.desk_params` when routed (crews weighed by ``workload``)."""
    lon, lat = bindparam("lon", type_=Float), bindparam("lat", type_=Float)
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), WGS84)
    columns = [Category, Commune if placed else null().label("Commune")]
    if routed:
        snapped = snapped_asset(point)
        desk = rules.routed_desk()
        crew = rules.routed_crew(desk.c.desk_id, workload=workload)
        columns += [
            duplicate_target(point).label("original_near"),
            *(snapped.c[name] for name in _ASSET_COLUMNS),
            duplicate_on_asset(snapped.c.asset_id).label("original_on_asset"),
            sensitive_place(point).label("place"),
            *(desk.c[name] for name in _DESK_COLUMNS),
            *(crew.c[name] for name in _CREW_COLUMNS),
        ]
    else:
        names = ("original_near", *_ASSET_COLUMNS, "original_on_asset", "place")
        columns += [null().label(name) for name in (*names, *_DESK_COLUMNS, *_CREW_COLUMNS)]
    joined = Category.__table__
    if placed:
        joined = joined.outerjoin(Commune, func.ST_Covers(Commune.geom, point))
    if routed:
        joined = joined.outerjoin(snapped, true()).outerjoin(desk, true()).outerjoin(crew, true())
    query = select(*columns).select_from(joined).where(Category.code == bindparam("code"))
    if placed:
        query = query.order_by(Commune.insee_code)
    return query.limit(1)


# Built once: composing these per request cost more than running them.
_LOOKUP = _lookup(placed=True, routed=True)
# For the rest of the transaction, a prepared statement (psycopg prepares one run five times
# on a connection) keeps its generic plan: planning the lookup for each report's point cost
# about as much as running it (~1 ms), and PostgreSQL's own choice was to replan every time.
# With the database's time (app.clock) for time-of-day rules: one round trip for both.
TRANSACTION_SETUP = (
    func.set_config("plan_cache_mode", "force_generic_plan", True).label("generic_plans"),
    func.now().label("now"),
)
_GENERIC_PLANS = select(*TRANSACTION_SETUP)
_LOOKUP_PLACE_ONLY = _lookup(placed=True, routed=False)
_LOOKUP_UNPLACED = _lookup(placed=False, routed=False)


# Crews weighed by a fresh count of their reports, as before the counters (app.workload):
# the benchmark's baseline, built when asked for.
_LOOKUP_COUNTING = None


def lookup_statement(
    category_code: str, lon: float, lat: float, at: datetime, *, fresh_count: bool = False
):
    """The routing lookup with its parameters bound (for EXPLAIN and the benchmark's floor);
    ``fresh_count``: crews' workloads counted over their reports instead of read from their
    counters (the statement before the counters, for comparison)."""
    global _LOOKUP_COUNTING
    statement = _LOOKUP
    if fresh_count:
        if _LOOKUP_COUNTING is None:
            _LOOKUP_COUNTING = _lookup(placed=True, routed=True, workload=rules.fresh_workload)
        statement = _LOOKUP_COUNTING
    params = rules.desk_params(category_code, at)
    return statement.params(code=category_code, lon=lon, lat=lat, **params)
