"""Bulk import of assets from GeoJSON or CSV, idempotent on the asset reference.

Rows are checked in Python (a bad row is skipped and reported with its line or feature
number, never fatal), then upserted in batches of ~1000 by one set-based statement that
also finds each point's commune; points outside the communes are refused and counted.
"""

import csv
import io
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.assets.models import KINDS, REFERENCE_PATTERN, STATUSES

FORMATS = ("geojson", "csv")
BATCH = 1000
MAX_ERRORS = 20
_REFERENCE = re.compile(REFERENCE_PATTERN)

UPSERT = text("""
WITH src AS (
    SELECT * FROM unnest(
        CAST(:refs AS text[]), CAST(:kinds AS text[]), CAST(:statuses AS text[]),
        CAST(:names AS text[]), CAST(:lons AS float8[]), CAST(:lats AS float8[]),
        CAST(:attrs AS jsonb[])
    ) WITH ORDINALITY AS t(reference, kind, status, name, lon, lat, attributes, i)
), located AS (
    SELECT src.*, p.g,
           (SELECT c.insee_code FROM communes c WHERE ST_Covers(c.geom, p.g)
            ORDER BY c.insee_code LIMIT 1) AS commune
    FROM src CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(src.lon, src.lat), 4326) AS g) p
), upserted AS (
    INSERT INTO assets (reference, kind, status, name, geom, attributes, commune_insee)
    SELECT reference, kind, status, name, g, attributes, commune
    FROM located WHERE commune IS NOT NULL
    ON CONFLICT (reference) DO UPDATE
    SET kind = EXCLUDED.kind, status = EXCLUDED.status, name = EXCLUDED.name,
        geom = EXCLUDED.geom, attributes = EXCLUDED.attributes,
        commune_insee = EXCLUDED.commune_insee, updated_at = now()
    RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT count(*) FILTER (WHERE inserted) FROM upserted) AS inserted,
       (SELECT count(*) FILTER (WHERE NOT inserted) FROM upserted) AS updated,
       (SELECT coalesce(array_agg(i ORDER BY i), '{}') FROM located
        WHERE commune IS NULL) AS outside
""")


class AssetFileError(Exception):
    """The file as a whole cannot be read (not GeoJSON, no header...): nothing imported."""


@dataclass
class Row:
    where: str  # "line 12" or "feature 3", for the report
    reference: str
    kind: str
    status: str
    name: str | None
    lon: float
    lat: float
    attributes: dict


@dataclass
class ImportReport:
    total: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    outside: int = 0
    errors: list[dict] = field(default_factory=list)

    def refuse(self, where: str, message: str, *, outside: bool = False) -> None:
        if outside:
            self.outside += 1
        else:
            self.skipped += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"where": where, "error": message})

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "inserted": self.inserted,
            "updated": self.updated,
            "skipped": self.skipped,
            "outside": self.outside,
            "errors": self.errors,
        }


def guess_format(filename: str | None, data: bytes) -> str:
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return "csv"
    if name.endswith((".geojson", ".json")):
        return "geojson"
    return "geojson" if data.lstrip()[:1] == b"{" else "csv"


def parse(data: bytes, fmt: str, default_kind: str | None, report: ImportReport) -> list[Row]:
    """The valid rows of the file; invalid ones are recorded in ``report``."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AssetFileError(f"not UTF-8 text: {exc}") from exc
    if "\x00" in content:
        raise AssetFileError("the file contains NUL characters")
    records = _geojson_records(content) if fmt == "geojson" else _csv_records(content)
    rows: list[Row] = []
    for where, record in records:
        report.total += 1
        try:
            rows.append(_row(where, record, default_kind))
        except ValueError as exc:
            report.refuse(where, str(exc))
    return rows


def upsert(session: Session, rows: list[Row], report: ImportReport) -> Iterator[int]:
    """Upsert ``rows`` in batches, without committing; yields rows handled so far."""
    latest = {row.reference: row for row in rows}  # a reference given twice: the last wins
    for row in rows:
        if latest[row.reference] is not row:
            report.refuse(row.where, f"reference {row.reference} appears again later")
    unique = list(latest.values())
    done = len(rows) - len(unique)
    for start in range(0, len(unique), BATCH):
        batch = unique[start : start + BATCH]
        result = session.execute(
            UPSERT,
            {
                "refs": [r.reference for r in batch],
                "kinds": [r.kind for r in batch],
                "statuses": [r.status for r in batch],
                "names": [r.name for r in batch],
                "lons": [r.lon for r in batch],
                "lats": [r.lat for r in batch],
                "attrs": [json.dumps(r.attributes, ensure_ascii=False) for r in batch],
            },
        ).one()
        report.inserted += result.inserted
        report.updated += result.updated
        for i in result.outside:
            report.refuse(
                batch[i - 1].where, "outside the 23 communes of Dijon Métropole", outside=True
            )
        done += len(batch)
        yield done


def import_assets(session: Session, data: bytes, fmt: str, default_kind: str | None = None) -> dict:
    """Import a whole file in one transaction; returns the counts and the first errors."""
    report = ImportReport()
    rows = parse(data, fmt, default_kind, report)
    for _ in upsert(session, rows, report):
        pass
    session.commit()
    return report.as_dict()


# --- reading the formats -----------------------------------------------------------------


def _geojson_records(content: str) -> Iterator[tuple[str, dict]]:
    try:
        collection = json.loads(content)
    except ValueError as exc:
        raise AssetFileError(f"not JSON: {exc}") from exc
    if (
        not isinstance(collection, dict)
        or collection.get("type") != "FeatureCollection"
        or not isinstance(collection.get("features"), list)
    ):
        raise AssetFileError("expected a GeoJSON FeatureCollection")
    for number, feature in enumerate(collection["features"], start=1):
        where = f"feature {number}"
        if not isinstance(feature, dict):
            yield where, {"_error": "not a GeoJSON Feature"}
            continue
        geometry = feature.get("geometry")
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            yield where, {"_error": "properties must be an object"}
            continue
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            yield where, {"_error": "geometry must be a Point"}
            continue
        coordinates = geometry.get("coordinates")
        if not isinstance(coordinates, list) or len(coordinates) < 2:
            yield where, {"_error": "a Point needs [lon, lat] coordinates"}
            continue
        record = dict(properties)
        if "reference" not in record and feature.get("id") is not None:
            record["reference"] = feature["id"]
        record["lon"], record["lat"] = coordinates[0], coordinates[1]
        yield where, record


def _csv_records(content: str) -> Iterator[tuple[str, dict]]:
    first = content.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise AssetFileError(f"unreadable CSV header: {exc}") from exc
    missing = {"reference", "lon", "lat"} - {h.strip() for h in header if h}
    if missing:
        raise AssetFileError(f"CSV columns missing: {', '.join(sorted(missing))}")
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield f"line {reader.line_num}", {"_error": f"unreadable CSV: {exc}"}
            continue
        where = f"line {reader.line_num}"
        if None in raw:
            yield where, {"_error": "more values than columns"}
            continue
        yield (
            where,
            {k.strip(): v.strip() for k, v in raw.items() if k and v is not None and v.strip()},
        )


def _row(where: str, record: dict, default_kind: str | None) -> Row:
    if "_error" in record:
        raise ValueError(record["_error"])
    record = dict(record)
    reference = record.pop("reference", None)
    if isinstance(reference, int) and not isinstance(reference, bool):
        reference = str(reference)
    if not isinstance(reference, str) or not _REFERENCE.match(reference):
        raise ValueError("reference missing or not of letters, digits, '.', '_', '-' (64 max)")
    kind = record.pop("kind", None) or default_kind
    if kind not in KINDS:
        raise ValueError(f"kind must be one of: {', '.join(KINDS)}")
    status = record.pop("status", None) or "in_service"
    if status not in STATUSES:
        raise ValueError(f"status must be one of: {', '.join(STATUSES)}")
    name = record.pop("name", None)
    if name is not None and (not isinstance(name, str) or len(name) > 200 or "\x00" in name):
        raise ValueError("name must be text of at most 200 characters")
    lon = _coordinate(record.pop("lon", None), 180, "lon")
    lat = _coordinate(record.pop("lat", None), 90, "lat")
    if _has_nul(record):
        raise ValueError("attributes must not contain the NUL character")
    return Row(where, reference, kind, status, name, lon, lat, record)


def _coordinate(value, bound: float, label: str) -> float:
    if isinstance(value, bool):
        value = None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be a number") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise ValueError(f"{label} must be within ±{bound}")
    return number


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
