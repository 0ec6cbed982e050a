"""`flask reference ...`: the organisation's reference data and its crews, through Click's
runner on the real database."""

import pytest
from sqlalchemy import select

from app.organisation.models import Crew
from tools.demo import cli as demo_cli


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


@pytest.fixture
def demo(app):
    """``python -m tools.demo``'s commands, on the test's app."""
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(demo_cli, args=list(args))


def test_reference_load_is_idempotent(cli):
    first = cli("reference", "load")
    second = cli("reference", "load")
    assert first.exit_code == 0 and second.exit_code == 0
    assert "communes: 0 created, 23 updated, 0 deleted; desks: 0 created" in second.output


def test_reference_load_refuses_a_broken_file(cli, tmp_path):
    broken = tmp_path / "x.geojson"
    broken.write_text("not json")
    result = cli("reference", "load", "--communes", str(broken))
    assert result.exit_code != 0
    assert "not a GeoJSON FeatureCollection" in result.output


def test_crews_are_managed_from_the_cli(cli):
    result = cli("reference", "crew", "prop-1", "--name", "Propreté 1", "--desk", "proprete")
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    result = cli("reference", "crew", "prop-1", "--name", "Propreté 1", "--desk", "nowhere")
    assert result.exit_code == 1
    assert "Unknown desk(s): nowhere" in result.output


def test_renaming_a_crew_from_the_cli_keeps_its_zone_and_skills(cli, demo, session):
    assert demo("routing", "seed").exit_code == 0
    result = cli("reference", "crew", "voirie-nord-1", "--name", "Voirie N1", "--desk", "voirie")
    assert result.exit_code == 0 and "updated" in result.output, result.output
    crew = session.scalar(select(Crew).where(Crew.code == "voirie-nord-1"))
    assert crew.name == "Voirie N1" and "pothole" in crew.skills
    assert session.scalar(select(Crew.zone.is_not(None)).where(Crew.code == "voirie-nord-1"))
