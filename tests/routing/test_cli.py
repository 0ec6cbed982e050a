"""`flask routing rules ...`: the routing rules file, on the real database (the rules of the
demo organisation, ``python -m tools.demo routing seed``, to start from)."""

import json

import pytest
from sqlalchemy import func, select

from app.organisation.models import RoutingRule
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


def test_rules_export_then_import_round_trips_and_replaces_the_set(cli, demo, session, tmp_path):
    assert demo("routing", "seed").exit_code == 0
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


def test_a_broken_rules_file_changes_nothing(cli, demo, session, tmp_path):
    assert demo("routing", "seed").exit_code == 0
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
