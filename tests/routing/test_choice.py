"""match_desk and choose_crew on real PostGIS, with hand-made geometries."""

from datetime import UTC, datetime, time

import pytest
from sqlalchemy import func, select, text

from app.organisation.models import Crew, Desk, RoutingRule
from app.routing.choice import (
    choose_crew,
    choose_crew_statement,
    match_desk,
    match_desk_statement,
)
from app.routing.explanation import desk_by_rule
from app.routing.intake import lookup_statement
from tests.factories import make_report

# Around central Dijon: a square, and a second one overlapping its eastern half.
WEST = "MULTIPOLYGON(((5.00 47.30, 5.10 47.30, 5.10 47.35, 5.00 47.35, 5.00 47.30)))"
EAST = "MULTIPOLYGON(((5.05 47.30, 5.15 47.30, 5.15 47.35, 5.05 47.35, 5.05 47.30)))"
IN_BOTH = (5.07, 47.32)
WEST_ONLY = (5.02, 47.32)
OUTSIDE = (5.30, 47.40)
JANUARY = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)
JUNE = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def geometry(wkt: str):
    return func.ST_GeomFromText(wkt, 4326)


def point(lon: float, lat: float):
    return func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)


@pytest.fixture
def desks(session):
    return {d.code: d for d in session.scalars(select(Desk))}


@pytest.fixture
def add_rule(session, desks):
    def add(priority, desk, category=None, **fields):
        if "zone" in fields and fields["zone"] is not None:
            fields["zone"] = geometry(fields["zone"])
        rule = RoutingRule(
            name=f"rule {priority}",
            priority=priority,
            category_code=category,
            desk=desks[desk],
            **fields,
        )
        session.add(rule)
        session.commit()
        return rule

    return add


@pytest.fixture
def add_crew(session, desks):
    def add(code, desk="voirie", skills=("pothole",), zone=None, depot=None, **fields):
        crew = Crew(
            code=code,
            name=code,
            desk=desks[desk],
            skills=list(skills),
            zone=geometry(zone) if zone else None,
            depot=point(*depot) if depot else None,
            **fields,
        )
        session.add(crew)
        session.commit()
        return crew

    return add


@pytest.fixture
def assign(session):
    """``assign(crew, n, status)``: n reports of that status carried by the crew."""

    def make(crew, count, status="new"):
        for _ in range(count):
            make_report(
                session,
                status=status,
                desk=None,
                crew_id=crew.id,
                at=None,
                commune=None,
                reporter="r",
            )

    return make


def desk_code(session, category, where, at=JUNE):
    _rule, desk = match_desk(session, category, *where, at)
    return desk.code


# --- match_desk ----------------------------------------------------------------------------


def test_snow_goes_to_the_winter_desk_in_january_and_to_roads_in_june(session, add_rule):
    add_rule(20, "viabilite-hivernale", "snow_ice", months=[11, 12, 1, 2, 3])
    add_rule(21, "voirie", "snow_ice")
    assert desk_code(session, "snow_ice", WEST_ONLY, JANUARY) == "viabilite-hivernale"
    assert desk_code(session, "snow_ice", WEST_ONLY, JUNE) == "voirie"


def test_the_month_is_taken_in_paris_time(session, add_rule):
    add_rule(20, "viabilite-hivernale", "snow_ice", months=[11])
    # 31 October 23:30 UTC is already 1 November in Dijon.
    at = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    assert desk_code(session, "snow_ice", WEST_ONLY, at) == "viabilite-hivernale"
    assert desk_code(session, "snow_ice", WEST_ONLY, at.replace(hour=22)) == "allo-mairie"


def test_a_time_window_may_wrap_midnight_in_local_time(session, add_rule):
    add_rule(5, "securite", starts_at=time(22, 0), ends_at=time(6, 0))
    add_rule(50, "voirie")

    def at(hour, minute=0):  # June: Paris is UTC+2
        return datetime(2026, 6, 15, (hour - 2) % 24, minute, tzinfo=UTC)

    assert desk_code(session, "pothole", WEST_ONLY, at(23, 30)) == "securite"
    assert desk_code(session, "pothole", WEST_ONLY, at(22, 0)) == "securite"
    assert desk_code(session, "pothole", WEST_ONLY, at(5, 59)) == "securite"
    assert desk_code(session, "pothole", WEST_ONLY, at(6, 0)) == "voirie"
    assert desk_code(session, "pothole", WEST_ONLY, at(12, 0)) == "voirie"


def test_a_daytime_window_does_not_wrap(session, add_rule):
    add_rule(5, "circulation", starts_at=time(8, 0), ends_at=time(18, 0))
    june_noon = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
    june_night = datetime(2026, 6, 15, 21, 0, tzinfo=UTC)
    assert desk_code(session, "pothole", WEST_ONLY, june_noon) == "circulation"
    assert desk_code(session, "pothole", WEST_ONLY, june_night) == "allo-mairie"


def test_a_zone_rule_applies_inside_its_zone_only(session, add_rule):
    add_rule(10, "videoprotection", "traffic_light_fault", zone=WEST)
    add_rule(100, "circulation", "traffic_light_fault")
    assert desk_code(session, "traffic_light_fault", WEST_ONLY) == "videoprotection"
    assert desk_code(session, "traffic_light_fault", OUTSIDE) == "circulation"


def test_a_point_on_the_zone_border_is_inside(session, add_rule):
    add_rule(10, "videoprotection", zone=WEST)
    assert desk_code(session, "pothole", (5.00, 47.32)) == "videoprotection"


def test_rules_are_tried_in_priority_order(session, add_rule):
    add_rule(30, "voirie", "pothole")
    add_rule(10, "securite")  # any category
    add_rule(20, "proprete", "pothole")
    rule, desk = match_desk(session, "pothole", *WEST_ONLY, JUNE)
    assert (rule.priority, desk.code) == (10, "securite")


def test_the_fallback_desk_gets_what_no_rule_claims(session, add_rule):
    add_rule(10, "voirie", "pothole")
    add_rule(20, "eclairage", "streetlight_out", zone=WEST)
    rule, desk = match_desk(session, "graffiti", *WEST_ONLY, JUNE)
    assert rule is None and desk.code == "allo-mairie" and desk.is_fallback
    assert desk_code(session, "streetlight_out", OUTSIDE) == "allo-mairie"
    assert desk_by_rule(rule, desk) == {"rule": "fallback", "desk": "allo-mairie"}


def test_an_inactive_rule_is_ignored(session, add_rule):
    add_rule(10, "securite", "pothole", active=False)
    winner = add_rule(20, "voirie", "pothole")
    rule, desk = match_desk(session, "pothole", *WEST_ONLY, JUNE)
    assert (rule.id, desk.code) == (winner.id, "voirie")
    assert desk_by_rule(rule, desk) == {
        "rule": {"id": winner.id, "name": "rule 20"},
        "desk": "voirie",
    }


def test_match_desk_wants_an_aware_datetime(session):
    with pytest.raises(ValueError):
        match_desk(session, "pothole", *WEST_ONLY, datetime(2026, 1, 1))


# --- choose_crew ---------------------------------------------------------------------------


def test_in_two_overlapping_zones_the_lower_workload_wins(session, desks, add_crew, assign):
    busy = add_crew("west", zone=WEST, depot=(5.069, 47.32))
    calm = add_crew("east", zone=EAST, depot=(5.14, 47.34))
    assign(busy, 3)
    assign(calm, 1)
    assign(calm, 5, status="resolved")  # closed work does not count
    assign(calm, 2, status="duplicate")
    crew, why = choose_crew(session, desks["voirie"].id, "pothole", *IN_BOTH)
    assert crew.code == "east"
    assert why["crew"] == "east" and why["workload"] == 1 and why["capacity"] == 10
    assert why["depot_distance_m"] > 4000


def test_at_equal_workload_the_nearer_depot_wins(session, desks, add_crew, assign):
    far = add_crew("far", zone=WEST, depot=(5.01, 47.34))
    near = add_crew("near", zone=EAST, depot=(5.071, 47.32))
    assign(far, 2)
    assign(near, 2)
    crew, why = choose_crew(session, desks["voirie"].id, "pothole", *IN_BOTH)
    assert crew.code == "near"
    # 0.001 degree of longitude at 47.32° N is about 75 m.
    assert 60 < why["depot_distance_m"] < 90


def test_workload_is_weighed_against_capacity(session, desks, add_crew, assign):
    big = add_crew("big", zone=WEST, capacity=10)
    small = add_crew("small", zone=EAST, capacity=2)
    assign(big, 2)  # 20 %
    assign(small, 1)  # 50 %
    crew, _ = choose_crew(session, desks["voirie"].id, "pothole", *IN_BOTH)
    assert crew.code == "big"
    assign(big, 4)  # 60 %
    crew, _ = choose_crew(session, desks["voirie"].id, "pothole", *IN_BOTH)
    assert crew.code == "small"


def test_when_every_candidate_crew_is_full_the_explanation_says_so(
    session, desks, add_crew, assign
):
    big = add_crew("big", zone=WEST, capacity=10)
    small = add_crew("small", zone=EAST, capacity=2)
    assign(big, 9)  # 90 %
    assign(small, 1)  # 50 %: one crew still has room
    crew, why = choose_crew(session, desks["voirie"].id, "pothole", *IN_BOTH)
    assert crew.code == "small" and why["over_capacity"] is False
    assert "capacity (" not in why["why"]
    assign(small, 1)  # 100 %: full
    assign(big, 1)  # 100 %: full
    crew, why = choose_crew(session, desks["voirie"].id, "pothole", *IN_BOTH)
    assert why["over_capacity"] is True
    assert f"every candidate crew is at or over capacity ({crew.code}: " in why["why"]
    assign(big, 221)  # 231 open tickets for a capacity of 10, as the desk once saw
    crew, why = choose_crew(session, desks["voirie"].id, "pothole", *IN_BOTH)
    assert (crew.code, why["workload"], why["capacity"]) == ("small", 2, 2)
    assert why["over_capacity"] is True
    assert "(small: 2 open tickets for a capacity of 2)" in why["why"]


def test_a_crew_without_a_zone_works_everywhere(session, desks, add_crew):
    add_crew("anywhere")
    crew, why = choose_crew(session, desks["voirie"].id, "pothole", *OUTSIDE)
    assert crew.code == "anywhere" and why["depot_distance_m"] is None


def test_no_crew_fits_when_skill_zone_desk_or_activity_is_wrong(session, desks, add_crew):
    add_crew("lights", skills=["streetlight_out"], zone=WEST)
    add_crew("elsewhere", zone=EAST)
    add_crew("resting", zone=WEST, active=False)
    add_crew("other-desk", desk="proprete", zone=WEST)
    assert choose_crew(session, desks["voirie"].id, "pothole", *WEST_ONLY) is None
    assert choose_crew(session, desks["eclairage"].id, "pothole", *WEST_ONLY) is None


# --- the GiST indexes ----------------------------------------------------------------------


def plan(session, statement) -> str:
    compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    rows = session.execute(text(f"EXPLAIN {compiled}"))
    return "\n".join(r[0] for r in rows)


def test_zone_containment_uses_the_gist_indexes_on_large_tables(session, desks):
    # 4,000 small disjoint squares on a grid: rules, then crews of one desk.
    grid = """
        FROM generate_series(0, 3999) AS i,
        LATERAL (SELECT ST_Multi(ST_MakeEnvelope(
            4.8 + (i % 80) * 0.01, 47.1 + (i / 80) * 0.01,
            4.808 + (i % 80) * 0.01, 47.108 + (i / 80) * 0.01, 4326)) AS zone) AS z
    """
    session.execute(
        text(
            "INSERT INTO routing_rules (name, priority, category_code, desk_id, zone) "
            f"SELECT 'r' || i, 1000 + i, 'pothole', :desk, zone {grid}"
        ),
        {"desk": desks["voirie"].id},
    )
    session.execute(
        text(
            "INSERT INTO crews (code, name, desk_id, skills, zone, capacity) "
            f"SELECT 'c' || i, 'c' || i, :desk, '{{pothole}}', zone, 10 {grid}"
        ),
        {"desk": desks["voirie"].id},
    )
    session.commit()
    session.execute(text("ANALYZE routing_rules"))
    session.execute(text("ANALYZE crews"))
    session.execute(text("ANALYZE reports"))

    rules_plan = plan(session, match_desk_statement("pothole", 5.0215, 47.3015, JUNE))
    assert "idx_routing_rules_zone" in rules_plan, rules_plan
    crews_plan = plan(
        session, choose_crew_statement(desks["voirie"].id, "pothole", 5.0215, 47.3015)
    )
    assert "idx_crews_zone" in crews_plan, crews_plan
    # The same steps inside intake's one lookup statement keep their indexes.
    lookup_plan = plan(session, lookup_statement("pothole", 5.0215, 47.3015, JUNE))
    assert "idx_routing_rules_zone" in lookup_plan, lookup_plan
    assert "idx_crews_zone" in lookup_plan, lookup_plan

    # And the answers are the squares around the point.
    rule, desk = match_desk(session, "pothole", 5.0215, 47.3015, JUNE)
    assert desk.code == "voirie" and rule.name == "r" + str(20 * 80 + 22)
    crew, _ = choose_crew(session, desks["voirie"].id, "pothole", 5.0215, 47.3015)
    assert crew.code == "c" + str(20 * 80 + 22)
