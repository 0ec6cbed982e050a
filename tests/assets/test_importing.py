import json

import pytest
from sqlalchemy import func, select

from app.assets.importing import AssetFileError, import_assets
from app.assets.models import Asset

# Inside Dijon (place Darcy) and well outside the metropolis (Beaune).
DARCY = (5.0345, 47.3226)
BEAUNE = (4.8400, 47.0250)


def feature(reference, lon, lat, **properties):
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"reference": reference, **properties},
    }


def collection(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Asset))


def test_geojson_import_creates_assets_with_their_commune_and_attributes(session):
    data = collection(
        feature("SL-1", *DARCY, kind="street_light", lamp="led", height_m=8),
        feature("TS-1", DARCY[0] + 0.001, DARCY[1], kind="traffic_signal", name="Darcy"),
    )
    report = import_assets(session, data, "geojson")
    assert report["inserted"] == 2 and report["updated"] == 0 and report["skipped"] == 0
    light = session.scalar(select(Asset).where(Asset.reference == "SL-1"))
    assert light.kind == "street_light"
    assert light.status == "in_service"
    assert light.commune_insee == "21231"
    assert light.attributes == {"lamp": "led", "height_m": 8}
    assert session.scalar(select(Asset.name).where(Asset.reference == "TS-1")) == "Darcy"


def test_reimporting_the_same_file_updates_without_duplicating(session):
    import_assets(session, collection(feature("SL-1", *DARCY, kind="street_light")), "geojson")
    again = collection(feature("SL-1", *DARCY, kind="street_light", status="faulty"))
    report = import_assets(session, again, "geojson")
    assert report["inserted"] == 0 and report["updated"] == 1
    assert count(session) == 1
    assert session.scalar(select(Asset.status)) == "faulty"


def test_csv_import_with_default_kind_and_extra_columns_as_attributes(session):
    data = (
        "reference;lon;lat;status;name;lamp\n"
        f"SL-1;{DARCY[0]};{DARCY[1]};;Rue de la Liberté;led\n"
        f"SL-2;{DARCY[0] + 0.0005};{DARCY[1]};faulty;;\n"
    ).encode()
    report = import_assets(session, data, "csv", default_kind="street_light")
    assert report["inserted"] == 2, report
    first = session.scalar(select(Asset).where(Asset.reference == "SL-1"))
    assert (first.kind, first.name, first.attributes) == (
        "street_light",
        "Rue de la Liberté",
        {"lamp": "led"},
    )
    assert session.scalar(select(Asset.status).where(Asset.reference == "SL-2")) == "faulty"
    report = import_assets(session, data, "csv", default_kind="street_light")
    assert (report["inserted"], report["updated"], count(session)) == (0, 2, 2)


def test_malformed_csv_rows_are_skipped_and_reported_by_line(session):
    data = (
        "reference,kind,lon,lat\n"
        f"OK-1,bench,{DARCY[0]},{DARCY[1]}\n"
        f"BAD-KIND,rocket,{DARCY[0]},{DARCY[1]}\n"
        "BAD-LON,bench,east,47.3\n"
        f",bench,{DARCY[0]},{DARCY[1]}\n"
        f"TOO-MANY,bench,{DARCY[0]},{DARCY[1]},extra\n"
        "NAN,bench,nan,47.3\n"
    ).encode()
    report = import_assets(session, data, "csv")
    assert report["inserted"] == 1
    assert report["skipped"] == 5
    assert [e["where"] for e in report["errors"]] == [
        "line 3",
        "line 4",
        "line 5",
        "line 6",
        "line 7",
    ]
    assert "kind" in report["errors"][0]["error"]


def test_malformed_features_are_skipped_and_reported_by_number(session):
    data = collection(
        feature("OK-1", *DARCY, kind="camera"),
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}},
        "not a feature",
        feature("NUL", *DARCY, kind="camera", note="a\x00b"),
        feature("BAD-STATUS", *DARCY, kind="camera", status="broken"),
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [True, 47]}},
    )
    report = import_assets(session, data, "geojson")
    assert report["inserted"] == 1
    assert report["skipped"] == 5
    assert [e["where"] for e in report["errors"]] == [f"feature {n}" for n in range(2, 7)]


def test_points_outside_the_communes_are_refused_and_counted(session):
    data = collection(
        feature("IN", *DARCY, kind="drain"),
        feature("OUT", *BEAUNE, kind="drain"),
    )
    report = import_assets(session, data, "geojson")
    assert (report["inserted"], report["outside"], report["skipped"]) == (1, 1, 0)
    assert report["errors"] == [
        {"where": "feature 2", "error": "outside the 23 communes of Dijon Métropole"}
    ]
    assert session.scalar(select(Asset.reference)) == "IN"


def test_a_reference_given_twice_keeps_the_last_row(session):
    data = collection(
        feature("SG-1", *DARCY, kind="sign", name="first"),
        feature("SG-1", *DARCY, kind="sign", name="second"),
    )
    report = import_assets(session, data, "geojson")
    assert (report["inserted"], report["skipped"]) == (1, 1)
    assert session.scalar(select(Asset.name)) == "second"


def test_batches_cover_more_than_a_thousand_rows(session):
    lines = ["reference,lon,lat"] + [
        f"BN-{i},{DARCY[0] + (i % 50) * 0.0001},{DARCY[1] + (i // 50) * 0.0001}"
        for i in range(2_345)
    ]
    report = import_assets(session, "\n".join(lines).encode(), "csv", default_kind="bench")
    assert report["inserted"] == 2_345
    assert count(session) == 2_345


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"{not json", "geojson"),
        (b'{"type": "Feature"}', "geojson"),
        (b"[1, 2]", "geojson"),
        (b"name,kind\nx,bench\n", "csv"),
        (b"\xff\xfe\x00garbage", "csv"),
        (b"", "csv"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(session, data, fmt):
    with pytest.raises(AssetFileError):
        import_assets(session, data, fmt)
    assert count(session) == 0
