import json

import pytest
from sqlalchemy import func, select

from app.assets.models import Asset
from app.extensions import db


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))

    return invoke


def count(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Asset))
        db.session.remove()
        return n


def test_assets_import_reports_counts_and_bad_lines(app, cli, tmp_path):
    path = tmp_path / "lights.csv"
    path.write_text("reference,lon,lat\nSL-1,5.0345,47.3226\nSL-2,x,47.3\nSL-3,4.84,47.02\n")
    result = cli("assets", "import", str(path), "--kind", "street_light")
    assert result.exit_code == 0, result.output
    assert "3 read, 1 inserted, 0 updated, 1 skipped, 1 outside the communes" in result.output
    assert "line 3: lon must be a number" in result.output
    again = cli("assets", "import", str(path), "--kind", "street_light", "--format", "csv")
    assert "0 inserted, 1 updated" in again.output
    assert count(app) == 1


def test_assets_import_refuses_an_unreadable_file(cli, tmp_path):
    path = tmp_path / "x.geojson"
    path.write_text("{broken")
    result = cli("assets", "import", str(path))
    assert result.exit_code != 0
    assert "not JSON" in result.output


def test_assets_export_writes_what_import_reads(app, cli, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("reference,kind,lon,lat,lamp\nSL-1,street_light,5.0345,47.3226,led\n")
    cli("assets", "import", str(source))
    exported = tmp_path / "out.geojson"
    assert cli("assets", "export", str(exported)).exit_code == 0
    collection = json.loads(exported.read_text())
    assert collection["features"][0]["properties"] == {
        "reference": "SL-1",
        "kind": "street_light",
        "status": "in_service",
        "lamp": "led",
    }
    with app.app_context():
        db.session.execute(Asset.__table__.delete())
        db.session.commit()
    result = cli("assets", "import", str(exported))
    assert "1 inserted" in result.output
