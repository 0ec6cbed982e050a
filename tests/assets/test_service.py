import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from app.assets.models import Asset
from app.assets.service import get_by_reference, nearest_asset, nearest_query, put_asset
from app.errors import Unprocessable
from app.routing.intake import lookup_statement
from tools.generators.assets import generate

# Lambert-93 coordinates (metres) near place de la Libération, Dijon.
X0, Y0 = 853_900.0, 6_694_350.0


def wgs84(session, dx: float = 0, dy: float = 0) -> tuple[float, float]:
    """The WGS 84 lon/lat of the point ``dx``, ``dy`` metres from (X0, Y0) in Lambert-93."""
    row = session.execute(
        text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID("
            "ST_MakePoint(:x, :y), 2154), 4326) AS p) AS t"
        ),
        {"x": X0 + dx, "y": Y0 + dy},
    ).one()
    return row[0], row[1]


def place(session, reference: str, kind: str, dx: float, dy: float = 0, **extra) -> Asset:
    lon, lat = wgs84(session, dx, dy)
    asset, _ = put_asset(
        session,
        reference,
        {"kind": kind, "status": "in_service", "location": {"lon": lon, "lat": lat}, **extra},
    )
    return asset


def test_the_nearest_asset_just_inside_the_distance_is_found_with_its_distance(session):
    place(session, "SL-IN", "street_light", 29.5)
    found = nearest_asset(session, "street_light", *wgs84(session), 30)
    assert found is not None
    asset, distance = found
    assert asset.reference == "SL-IN"
    assert distance == pytest.approx(29.5, abs=0.01)


def test_an_asset_just_outside_the_distance_is_not_found(session):
    place(session, "SL-OUT", "street_light", 0, 30.5)
    assert nearest_asset(session, "street_light", *wgs84(session), 30) is None


def test_the_nearest_of_several_wins(session):
    place(session, "SL-FAR", "street_light", 20)
    place(session, "SL-NEAR", "street_light", -12, 5)
    asset, distance = nearest_asset(session, "street_light", *wgs84(session), 30)
    assert asset.reference == "SL-NEAR"
    assert distance == pytest.approx(13.0, abs=0.01)


def test_only_assets_of_the_asked_kind_are_considered(session):
    place(session, "TS-1", "traffic_signal", 3)
    place(session, "SL-1", "street_light", 25)
    asset, _ = nearest_asset(session, "street_light", *wgs84(session), 30)
    assert asset.reference == "SL-1"
    assert nearest_asset(session, "camera", *wgs84(session), 30) is None


def test_removed_equipment_is_never_the_nearest(session):
    place(session, "SL-1", "street_light", 3, status="removed")
    assert nearest_asset(session, "street_light", *wgs84(session), 30) is None


def test_get_by_reference(session):
    place(session, "CAM-7", "camera", 0)
    assert get_by_reference(session, "CAM-7").kind == "camera"
    assert get_by_reference(session, "CAM-8") is None


def test_putting_an_asset_outside_the_service_area_is_refused(session):
    with pytest.raises(Unprocessable) as caught:
        put_asset(
            session,
            "SL-BEAUNE",
            {
                "kind": "street_light",
                "status": "in_service",
                "location": {"lon": 4.84, "lat": 47.02},
            },
        )
    assert caught.value.code == "outside_service_area"
    assert get_by_reference(session, "SL-BEAUNE") is None


def test_nearest_asset_uses_the_lambert93_gist_index_on_a_realistic_register(session):
    list(generate(session))
    session.execute(text("ANALYZE assets"))
    lon, lat = wgs84(session)
    query = nearest_query("traffic_signal", lon, lat, 30)
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    plan = session.execute(text("EXPLAIN (FORMAT JSON) " + sql)).scalar()
    plan_text = json.dumps(plan)
    # A position index answers it (the plain one, or the working-equipment (kind, position)
    # one), never AND-ed with the kind's b-tree: 25,000 street lights in a bitmap per report.
    assert re.search(r'"Index Name": "\w*geom_l93"', plan_text), plan_text
    assert "ix_assets_kind" not in plan_text, plan_text
    assert '"Node Type": "Seq Scan"' not in plan_text, plan_text
    # So does the snap inside intake's lookup, for the kind with 25,000 of them.
    lookup = lookup_statement("streetlight_out", lon, lat, datetime(2026, 11, 24, 10, tzinfo=UTC))
    sql = str(lookup.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    plan_text = json.dumps(session.execute(text("EXPLAIN (FORMAT JSON) " + sql)).scalar())
    assert '"Index Name": "ix_assets_working_kind_geom_l93"' in plan_text, plan_text
    assert "ix_assets_kind" not in plan_text, plan_text
