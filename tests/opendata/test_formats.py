"""Each format says the same thing about the same reports, and reads back with common tools."""

import csv
import json
import struct
from datetime import UTC, date, datetime

import pyarrow.parquet as pq
import pytest

from app.opendata.formats import WRITERS
from app.opendata.queries import COLUMNS

CREATED = datetime(2026, 11, 25, 8, 30, 15, 123456, tzinfo=UTC)
RESOLVED = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ROWS = [
    (
        "DIJ-2026-000001", "pothole", "Nid-de-poule", "21231", "Dijon", "voirie", "closed",
        CREATED, CREATED, RESOLVED, 91185, None, 3, "open311", "Trou « profond », ligne\n2",
        "https://signale.example/v1/media/display/ab/x.jpg", "grid_50m",
        5.041512, 47.322034, date(2026, 11, 25),
    ),
    (
        "DIJ-2026-000002", "streetlight_out", "Lampadaire éteint", None, None, None, "duplicate",
        CREATED, None, None, None, "DIJ-2026-000001", 0, "app", None, None, "asset",
        5.0, 47.3, date(2026, 11, 25),
    ),
]  # fmt: skip


def write(tmp_path, fmt: str):
    path = tmp_path / f"out.{fmt}"
    writer = WRITERS[fmt](path)
    for row in ROWS:
        writer.write(row)
    writer.close()
    assert writer.rows == len(ROWS)
    return path


def expected(row) -> dict:
    values = dict(zip(COLUMNS, row, strict=False))
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def test_geojson_is_a_feature_collection_of_points(tmp_path):
    document = json.loads(write(tmp_path, "geojson").read_text(encoding="utf-8"))
    assert document["type"] == "FeatureCollection"
    for feature, row in zip(document["features"], ROWS, strict=True):
        assert feature["id"] == row[0]
        assert feature["geometry"] == {"type": "Point", "coordinates": [row[-3], row[-2]]}
        assert feature["properties"] == expected(row)
    assert document["features"][1]["properties"]["category_name"] == "Lampadaire éteint"


def test_csv_has_a_header_and_the_position_as_lon_lat(tmp_path):
    with write(tmp_path, "csv").open(encoding="utf-8", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert list(lines[0]) == [*COLUMNS, "lon", "lat"]
    for line, row in zip(lines, ROWS, strict=True):
        want = {k: "" if v is None else str(v) for k, v in expected(row).items()}
        assert {k: line[k] for k in COLUMNS} == want
        assert (float(line["lon"]), float(line["lat"])) == (row[-3], row[-2])


def test_geoparquet_has_typed_columns_wkb_points_and_its_metadata(tmp_path):
    table = pq.read_table(write(tmp_path, "parquet"))
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    assert table.column_names == [*COLUMNS, "geometry"]
    got = table.to_pylist()
    for item, row in zip(got, ROWS, strict=True):
        assert {k: item[k] for k in COLUMNS} == dict(zip(COLUMNS, row, strict=False))
        order, kind, lon, lat = struct.unpack("<BIdd", item["geometry"])
        assert (order, kind) == (1, 1) and (lon, lat) == (row[-3], row[-2])
    assert str(table.schema.field("created_at").type) == "timestamp[us, tz=UTC]"


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_the_same_rows_give_the_same_bytes(tmp_path, fmt):
    first = write(tmp_path, fmt).read_bytes()
    assert write(tmp_path, fmt).read_bytes() == first


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_no_rows_is_still_a_readable_file(tmp_path, fmt):
    path = tmp_path / f"empty.{fmt}"
    writer = WRITERS[fmt](path)
    writer.close()
    if fmt == "geojson":
        assert json.loads(path.read_text())["features"] == []
    elif fmt == "csv":
        assert path.read_text().splitlines() == [",".join((*COLUMNS, "lon", "lat"))]
    else:
        assert pq.read_table(path).num_rows == 0
