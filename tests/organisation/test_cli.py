"""`flask routing ...`: the demo organisation and the rules file, on the real database."""

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.categories.models import Category
from app.organisation.models import Crew, Desk, RoutingRule
from app.routing.choice import choose_crew, match_desk

DIJON_CENTRE = (5.0415, 47.322)
ON_THE_ROCADE = (5.0941, 47.326)  # the generated ring's eastern edge


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def test_the_demo_organisation_routes_every_category_and_is_seeded_once(cli, session):
    result = cli("routing", "seed")
    assert result.exit_code == 0, result.output
    crews = session.scalar(select(func.count()).select_from(Crew))
    assert 40 <= crews <= 60
    assert "kept as edited" in cli("routing", "seed").output
    assert session.scalar(select(func.count()).select_from(Crew)) == crews

    january, june = datetime(2026, 1, 10, 9, tzinfo=UTC), datetime(2026, 6, 10, 9, tzinfo=UTC)
    for code in session.scalars(select(Category.code)):
        rule, _ = match_desk(session, code, *DIJON_CENTRE, june)
        assert rule is not None, code
    assert match_desk(session, "snow_ice", *DIJON_CENTRE, january)[1].code == (
        "viabilite-hivernale"
    )
    assert match_desk(session, "snow_ice", *DIJON_CENTRE, june)[1].code == "voirie"
    assert match_desk(session, "pothole", *DIJON_CENTRE, june)[1].code == "voirie"
    assert match_desk(session, "traffic_light_fault", *DIJON_CENTRE, june)[1].code == (
        "circulation"
    )
    rule, desk = match_desk(session, "traffic_light_fault", *ON_THE_ROCADE, june)
    assert desk.code == "videoprotection" and "Rocade" in rule.name


def test_demo_crews_have_depots_inside_their_zones_and_one_fits_a_central_pothole(cli, session):
    assert cli("routing", "seed").exit_code == 0
    outside = session.scalar(
        select(func.count())
        .select_from(Crew)
        .where(Crew.zone.is_not(None), ~func.ST_Covers(Crew.zone, Crew.depot))
    )
    assert outside == 0
    assert session.scalar(select(func.count()).where(Crew.zone.is_(None))) >= 1
    voirie = session.scalar(select(Desk.id).where(Desk.code == "voirie"))
    crew, why = choose_crew(session, voirie, "pothole", *DIJON_CENTRE)
    assert crew.code.startswith("voirie-centre-")
    assert why["workload"] == 0 and why["depot_distance_m"] < 10_000
    rocade = session.scalar(select(Desk.id).where(Desk.code == "videoprotection"))
    crew, _ = choose_crew(session, rocade, "traffic_light_fault", *ON_THE_ROCADE)
    assert crew.code.startswith("videoprotection-rocade-")


def test_rules_export_then_import_round_trips_and_replaces_the_set(cli, session, tmp_path):
    assert cli("routing", "seed").exit_code == 0
    path = tmp_path / "rules.json"
    assert cli("routing", "rules", "export", str(path)).exit_code == 0
    exported = json.loads(path.read_text())
    assert any(r["zone"] and r["zone"]["type"] == "MultiPolygon" for r in exported)
    assert any(r["months"] == [1, 2, 3, 11, 12] for r in exported)
    path.write_text(json.dumps(exported[:3]))
    result = cli("routing", "rules", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "3 imported" in result.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(RoutingRule)) == 3
    path.write_text(json.dumps(exported))
    assert cli("routing", "rules", "import", str(path)).exit_code == 0
    assert cli("routing", "rules", "export").output.strip() == json.dumps(
        exported, ensure_ascii=False, indent=1
    )


def test_a_broken_rules_file_changes_nothing(cli, session, tmp_path):
    assert cli("routing", "seed").exit_code == 0
    before = session.scalar(select(func.count()).select_from(RoutingRule))
    path = tmp_path / "rules.json"
    for content, expected in (
        ("not json", "rules.json"),
        (json.dumps([{"name": "x", "priority": 1, "desk": "mars"}]), "unknown desk: mars"),
        (json.dumps([{"name": "x", "desk": "voirie"}]), "priority"),
        (
            json.dumps(
                [
                    {"name": "x", "priority": 1, "desk": "voirie"},
                    {"name": "y", "priority": 1, "desk": "voirie"},
                ]
            ),
            "same priority",
        ),
    ):
        path.write_text(content)
        result = cli("routing", "rules", "import", str(path))
        assert result.exit_code != 0 and expected in result.output, result.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(RoutingRule)) == before


def test_renaming_a_crew_from_the_cli_keeps_its_zone_and_skills(cli, session):
    assert cli("routing", "seed").exit_code == 0
    result = cli("reference", "crew", "voirie-nord-1", "--name", "Voirie N1", "--desk", "voirie")
    assert result.exit_code == 0 and "updated" in result.output, result.output
    crew = session.scalar(select(Crew).where(Crew.code == "voirie-nord-1"))
    assert crew.name == "Voirie N1" and "pothole" in crew.skills
    assert session.scalar(select(Crew.zone.is_not(None)).where(Crew.code == "voirie-nord-1"))
