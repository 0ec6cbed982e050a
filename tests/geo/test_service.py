import pytest
from sqlalchemy import func, select, text

from app.geo import service
from app.geo.models import Commune

DIJON = (5.0415, 47.3220)
BEAUNE = (4.8400, 47.0260)


def test_the_metropolis_has_23_communes_covering_about_240_km2(session):
    communes = service.list_communes(session)
    assert len(communes) == 23
    names = {c["properties"]["name"] for c in communes}
    assert {"Dijon", "Chenôve", "Talant", "Neuilly-Crimolois", "Quetigny"} <= names
    dijon = next(c for c in communes if c["properties"]["name"] == "Dijon")
    # Dijon is about 42 km²; the area is computed in Lambert-93, so it is in real metres.
    assert 38e6 < dijon["properties"]["area_m2"] < 46e6


def test_a_point_in_dijon_is_in_the_service_area(session):
    location = service.locate(session, *DIJON)
    assert location.inside is True
    assert location.commune == {"insee_code": "21231", "name": "Dijon"}


def test_a_point_in_beaune_is_outside_and_the_nearest_commune_is_named(session):
    location = service.locate(session, *BEAUNE)
    assert location.inside is False
    assert location.commune is None
    # Beaune is some 25 km south-west of the metropolis' southern edge (Flavignerot, Corcelles).
    assert location.nearest["name"] in {"Flavignerot", "Corcelles-lès-Monts", "Marsannay-la-Côte"}
    assert 15_000 < location.nearest["distance_m"] < 40_000


def test_the_nearest_commune_is_the_one_with_the_smallest_real_distance(session):
    lon, lat = 5.30, 47.30  # east of the metropolis
    location = service.locate(session, lon, lat)
    distances = session.execute(
        text(
            "SELECT name, ST_Distance(geom::geography,"
            " ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS d"
            " FROM communes ORDER BY d"
        ),
        {"lon": lon, "lat": lat},
    ).all()
    assert location.nearest["name"] == distances[0].name
    assert location.nearest["distance_m"] == round(distances[0].d)


def test_a_point_on_the_other_side_of_the_world_is_outside(session):
    location = service.locate(session, -120.0, -45.0)
    assert location.inside is False
    assert location.nearest is not None


def test_the_service_area_is_the_union_of_the_communes(session):
    area = service.service_area(session)
    assert area["properties"]["communes"] == 23
    assert area["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    total = session.scalar(select(func.sum(Commune.area_m2)))
    assert area["properties"]["area_m2"] == total
    # The metropolis spans roughly lon 4.896..5.206, lat 47.219..47.398.
    lons, lats = zip(*_points(area["geometry"]["coordinates"]), strict=True)
    assert 4.88 < min(lons) < 4.91 and 5.19 < max(lons) < 5.22
    assert 47.21 < min(lats) < 47.23 and 47.39 < max(lats) < 47.41


def _points(coordinates):
    if isinstance(coordinates[0], int | float):
        yield coordinates
    else:
        for part in coordinates:
            yield from _points(part)


def test_loading_the_communes_again_changes_nothing(session):
    before = session.execute(
        text("SELECT insee_code, md5(ST_AsEWKB(geom)::text) FROM communes ORDER BY 1")
    ).all()
    counts = service.load_communes(session)
    after = session.execute(
        text("SELECT insee_code, md5(ST_AsEWKB(geom)::text) FROM communes ORDER BY 1")
    ).all()
    assert counts == {"created": 0, "updated": 23, "deleted": 0}
    assert before == after


def test_a_broken_communes_file_is_refused_and_changes_nothing(session, tmp_path):
    broken = tmp_path / "communes.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [{"properties": {}}]}')
    with pytest.raises(service.ReferenceDataError):
        service.load_communes(session, broken)
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(service.ReferenceDataError):
        service.load_communes(session, empty)
    assert session.scalar(select(func.count()).select_from(Commune)) == 23


def test_containment_uses_the_spatial_index(session):
    session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        r[0]
        for r in session.execute(
            text(
                "EXPLAIN SELECT insee_code FROM communes "
                "WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(5.04, 47.32), 4326))"
            )
        )
    )
    session.rollback()
    # With 23 rows the planner may prefer a scan; when scans are discouraged the GiST index
    # must be usable for the containment test.
    assert "idx_communes_geom" in plan


def test_a_pole_or_antimeridian_point_is_located_without_error(session):
    for lon, lat in [(179.0, -90.0), (-180.0, 90.0), (0.0, 0.0)]:
        location = service.locate(session, lon, lat)
        assert location.inside is False
        assert location.nearest["distance_m"] > 1_000_000
