"""Writers of the export files, one row at a time: GeoJSON, CSV and GeoParquet.

Each takes the rows of :func:`app.opendata.queries.export_rows` (the published columns, then
lon, lat, day) and writes them to a local file as they come, holding at most one batch
(GeoParquet's row group) in memory. Outputs depend only on the rows: the same reports give
the same bytes, so an unchanged file keeps its ETag.
"""

import csv
import json
import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from app.opendata.queries import COLUMNS

_DATES = tuple(i for i, c in enumerate(COLUMNS) if c.endswith("_at"))
_WIDTH = len(COLUMNS)
_LON, _LAT = _WIDTH, _WIDTH + 1
_BUFFER = 1024 * 1024


def _plain(row) -> list:
    """The published values, dates as ISO 8601 text."""
    values = list(row[:_WIDTH])
    for i in _DATES:
        if values[i] is not None:
            values[i] = values[i].isoformat()
    return values


class GeoJSONWriter:
    """A FeatureCollection (RFC 7946, WGS 84), one feature per line."""

    extension = "geojson"
    media_type = "application/geo+json"

    def __init__(self, path: Path):
        # Open across write() calls, closed by close(): a writer is a file being written.
        self._file = open(path, "w", encoding="utf-8", buffering=_BUFFER)  # noqa: SIM115
        self._file.write('{"type":"FeatureCollection","features":[')
        self._separator = "\n"
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        self.rows = 0

    def write(self, row) -> None:
        feature = {
            "type": "Feature",
            "id": row[0],
            "geometry": {"type": "Point", "coordinates": [row[_LON], row[_LAT]]},
            "properties": dict(zip(COLUMNS, _plain(row), strict=True)),
        }
        self._file.write(self._separator)
        self._file.write(self._encode(feature))
        self._separator = ",\n"
        self.rows += 1

    def close(self) -> None:
        self._file.write("\n]}\n")
        self._file.close()


class CSVWriter:
    """Comma-separated, UTF-8, a header line; the position as lon and lat columns."""

    extension = "csv"
    media_type = "text/csv"  # UTF-8: the response says charset=utf-8

    def __init__(self, path: Path):
        self._file = open(path, "w", encoding="utf-8", newline="", buffering=_BUFFER)  # noqa: SIM115
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow((*COLUMNS, "lon", "lat"))
        self.rows = 0

    def write(self, row) -> None:
        self._writer.writerow((*_plain(row), row[_LON], row[_LAT]))
        self.rows += 1

    def close(self) -> None:
        self._file.close()


_TIMESTAMP = pa.timestamp("us", tz="UTC")
_TYPES = {
    "created_at": _TIMESTAMP,
    "acknowledged_at": _TIMESTAMP,
    "resolved_at": _TIMESTAMP,
    "time_to_resolve_seconds": pa.int64(),
    "supporters_count": pa.int32(),
}
PARQUET_SCHEMA = pa.schema(
    [pa.field(c, _TYPES.get(c, pa.string())) for c in COLUMNS]
    + [pa.field("geometry", pa.binary(), nullable=False)],
    metadata={
        # GeoParquet 1.1: WKB points; no "crs" member means OGC:CRS84 (WGS 84, lon/lat).
        "geo": json.dumps(
            {
                "version": "1.1.0",
                "primary_column": "geometry",
                "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"]}},
            }
        )
    },
)
_WKB_POINT = struct.Struct("<BIdd")


class GeoParquetWriter:
    """GeoParquet 1.1 (WKB geometry), zstd, in row groups of ``batch`` rows."""

    extension = "parquet"
    media_type = "application/vnd.apache.parquet"

    def __init__(self, path: Path, batch: int = 32_768):
        self._writer = pq.ParquetWriter(path, PARQUET_SCHEMA, compression="zstd")
        self._batch = batch
        self._columns: list[list] = [[] for _ in range(_WIDTH + 1)]
        self.rows = 0

    def write(self, row) -> None:
        columns = self._columns
        for i in range(_WIDTH):
            columns[i].append(row[i])
        columns[_WIDTH].append(_WKB_POINT.pack(1, 1, row[_LON], row[_LAT]))
        self.rows += 1
        if len(columns[0]) >= self._batch:
            self._flush()

    def _flush(self) -> None:
        if self._columns[0]:
            table = pa.Table.from_arrays(
                [
                    pa.array(c, type=f.type)
                    for c, f in zip(self._columns, PARQUET_SCHEMA, strict=True)
                ],
                schema=PARQUET_SCHEMA,
            )
            self._writer.write_table(table)
            self._columns = [[] for _ in range(_WIDTH + 1)]

    def close(self) -> None:
        self._flush()
        self._writer.close()


WRITERS = {w.extension: w for w in (GeoJSONWriter, CSVWriter, GeoParquetWriter)}
FORMATS = tuple(WRITERS)
