"""``python -m tools.demo``: the demo and benchmark data `make run` and the benchmarks load,
through Click's runner on the real database; and the split it keeps from the service's own
``flask`` commands."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.assets.models import Asset
from app.categories.models import Category
from app.extensions import db
from app.organisation.models import Crew, Desk
from app.routing.choice import choose_crew, match_desk
from tools.demo import cli as demo_cli

DIJON_CENTRE = (5.0415, 47.322)
ON_THE_ROCADE = (5.0941, 47.326)  # the generated ring's eastern edge


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


@pytest.fixture
def demo(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(demo_cli, args=list(args))


def test_the_service_s_commands_are_the_domains_and_the_demo_ones_are_tools(app):
    """``flask`` keeps every operator's command group; demo and benchmark data come only from
    ``python -m tools.demo``."""
    domains = {
        "reference": ["crew", "load"],
        "users": ["dev-token", "remove", "set"],
        "categories": ["export", "import"],
        "assets": ["export", "import"],
        "routing": ["rules"],
        "feeds": ["add", "list", "poll"],
        "opendata": ["export"],
        "addresses": ["import"],
    }
    assert {name: sorted(app.cli.commands[name].commands) for name in domains} == domains
    # Its one command generated demo data.
    assert "reports" not in app.cli.commands
    assert sorted(app.cli.commands["routing"].commands["rules"].commands) == ["export", "import"]
    assert {name: sorted(group.commands) for name, group in demo_cli.commands.items()} == {
        "routing": ["seed"],
        "assets": ["generate"],
        "reports": ["generate"],
        "feeds": ["demo"],
        "staff": ["seed"],
        "history": ["generate"],
    }


def test_the_demo_organisation_routes_every_category_and_is_seeded_once(demo, session):
    result = demo("routing", "seed")
    assert result.exit_code == 0, result.output
    crews = session.scalar(select(func.count()).select_from(Crew))
    assert 40 <= crews <= 60
    assert "kept as edited" in demo("routing", "seed").output
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


def test_demo_crews_have_depots_inside_their_zones_and_one_fits_a_central_pothole(demo, session):
    assert demo("routing", "seed").exit_code == 0
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


def count_assets(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Asset))
        db.session.remove()
        return n


def test_assets_generate_if_empty_skips_a_loaded_register(app, cli, demo, tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("reference,kind,lon,lat\nBN-1,bench,5.0345,47.3226\n")
    cli("assets", "import", str(path))
    result = demo("assets", "generate", "--if-empty")
    assert result.exit_code == 0
    assert "kept" in result.output
    assert count_assets(app) == 1
