"""Open data use cases: producing the export files, and finding one to serve."""

import csv
import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from app import clock
from app.opendata import statistics
from app.opendata.formats import FORMATS, WRITERS
from app.opendata.models import OpenDataFile
from app.opendata.queries import export_rows
from app.opendata.tables import TABLES
from app.storage import Storage
from app.urls import public_url

log = logging.getLogger(__name__)

# Two exports at once would race on the same files: the second one gives way.
_LOCK = 0x0D47A  # pg_try_advisory_xact_lock key
# Rows fetched per round trip from the server-side cursor.
_FETCH = 5_000


def file_name(fmt: str, day: date | None = None) -> str:
    """reports.csv (the full file), reports-2026-11-25.csv (a day's)."""
    suffix = f"-{day.isoformat()}" if day else ""
    return f"reports{suffix}.{WRITERS[fmt].extension}"


# The statistics tables' files: CSV and JSON (small tables: no columnar format needed).
STATISTICS_FORMATS = {"csv": "text/csv", "json": "application/json"}


def statistics_file_name(table: str, fmt: str) -> str:
    """statistics-reports-by-month.csv..."""
    return f"statistics-{table}.{fmt}"


def dataset(entry: OpenDataFile) -> str:
    """The dataset a file is a distribution of: ``reports`` (the full files),
    ``reports-daily``, or a statistics table's name."""
    if entry.name.startswith("statistics-"):
        return entry.name.removeprefix("statistics-").rsplit(".", 1)[0]
    return "reports-daily" if entry.day else "reports"


def media_type(fmt: str) -> str:
    return WRITERS[fmt].media_type if fmt in WRITERS else STATISTICS_FORMATS[fmt]


@dataclass
class Written:
    name: str
    format: str
    day: date | None
    path: Path
    rows: int


def write_files(
    session: Session,
    workdir: Path,
    *,
    grid_m: int,
    media_base: str,
    formats: tuple[str, ...] = FORMATS,
    daily: bool = True,
) -> list[Written]:
    """Stream every public report once into the full file of each format and, with
    ``daily``, into each day's file: at most one day's file per format is open at a time
    (rows come in creation order), and rows are fetched by batches from a server-side cursor."""
    # Dates of the files in UTC, whatever the server's time zone.
    session.execute(text("SET LOCAL TIME ZONE 'UTC'"))
    query = export_rows(grid_m=grid_m, media_base=media_base).execution_options(yield_per=_FETCH)
    result = session.execute(query)
    day_index = len(result.keys()) - 1
    written: list[Written] = []

    def open_writers(day):
        return {
            fmt: (
                WRITERS[fmt](workdir / file_name(fmt, day)),
                Written(file_name(fmt, day), fmt, day, workdir / file_name(fmt, day), 0),
            )
            for fmt in formats
        }

    def close(writers) -> None:
        for writer, record in writers.values():
            writer.close()
            record.rows = writer.rows
            written.append(record)

    full = open_writers(None)
    current_day, days = None, {}
    for row in result:
        for writer, _ in full.values():
            writer.write(row)
        if daily:
            if row[day_index] != current_day:
                close(days)
                current_day = row[day_index]
                days = open_writers(current_day)
            for writer, _ in days.values():
                writer.write(row)
    close(days)
    close(full)
    return written


def statistics_document(table: str, min_count: int, items: list[dict]) -> dict:
    """A statistics table as the API answers it and its JSON file holds it."""
    return {"table": table, "min_count": min_count, "items": items}


def write_statistics(session: Session, workdir: Path, *, min_count: int) -> list[Written]:
    """Every statistics table, whole, as CSV and as JSON."""
    written = []
    for table in TABLES.values():
        items = table.rows(session, statistics.Filters(), min_count)
        csv_path = workdir / statistics_file_name(table.name, "csv")
        with csv_path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=table.columns(), lineterminator="\n")
            writer.writeheader()
            writer.writerows(items)
        json_path = workdir / statistics_file_name(table.name, "json")
        document = statistics_document(table.name, min_count, items)
        json_path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        for fmt, path in (("csv", csv_path), ("json", json_path)):
            written.append(Written(path.name, fmt, None, path, len(items)))
    return written


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def settings(config) -> dict:
    """The export's settings from the application's configuration."""
    return {
        "grid_m": int(config["OPEN311_LOCATION_GRID_M"]),
        "media_base": public_url("v1/media/", config),
        "min_count": int(config["OPENDATA_STATISTICS_MIN_COUNT"]),
    }


def export_reports(
    session: Session,
    storage: Storage,
    *,
    grid_m: int,
    media_base: str,
    formats: tuple[str, ...] = FORMATS,
    daily: bool = True,
    min_count: int = statistics.DEFAULT_MIN_COUNT,
) -> dict:
    """Produce the open data files (full and daily, each format, and the statistics tables),
    store the contents that changed, and publish them in one transaction; files no export
    produces any more go."""
    if not session.scalar(select(func.pg_try_advisory_xact_lock(_LOCK))):
        session.rollback()
        return {"skipped": "another export is running"}
    now = clock.now(session)
    known = {f.name: f for f in session.scalars(select(OpenDataFile))}
    keys_before = {f.storage_key for f in known.values()}
    changed = 0
    with tempfile.TemporaryDirectory(prefix="signale-opendata-") as tmp:
        written = write_files(
            session, Path(tmp), grid_m=grid_m, media_base=media_base, formats=formats, daily=daily
        )
        written += write_statistics(session, Path(tmp), min_count=min_count)
        for item in written:
            sha = _sha256(item.path)
            key = f"opendata/{sha[:2]}/{sha}.{item.format}"
            if not storage.exists(key):
                storage.put_file(key, item.path, media_type(item.format))
            row = known.get(item.name)
            if row is None:
                row = OpenDataFile(name=item.name, format=item.format, day=item.day)
                session.add(row)
            if row.sha256 != sha:
                row.sha256, row.storage_key, row.modified_at = sha, key, now
                changed += 1
            row.size_bytes, row.row_count, row.generated_at = (
                item.path.stat().st_size,
                item.rows,
                now,
            )
    produced = {item.name for item in written}
    gone = [
        name
        for name, f in known.items()
        if name not in produced and (f.format in formats or dataset(f) in TABLES)
    ]
    if gone:
        session.execute(delete(OpenDataFile).where(OpenDataFile.name.in_(gone)))
    session.commit()
    # Only now that no row points at them: an old content stays readable until the commit.
    keys_after = set(session.scalars(select(OpenDataFile.storage_key)))
    for key in keys_before - keys_after:
        storage.delete(key)
    summary = {"files": len(written), "changed": changed, "removed": len(gone)}
    log.info("open data exported", extra=summary)
    return summary


def get_file(session: Session, name: str) -> OpenDataFile | None:
    return session.get(OpenDataFile, name)


def open_file(entry: OpenDataFile) -> BinaryIO:
    """The file's content, as a stream from storage."""
    from app.photos.service import storage

    return storage().open(entry.storage_key)
