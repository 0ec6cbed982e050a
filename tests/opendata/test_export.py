"""The export: full and daily files in every format, stored by content, published at once."""

import csv
import io
import json
from datetime import datetime, timedelta

import psycopg
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select, update

from app.opendata import service
from app.opendata.models import OpenDataFile
from app.reports.models import Report
from app.storage import FilesystemStorage
from tests.opendata.conftest import database
from tools.pg import libpq_url


@pytest.fixture
def storage(tmp_path):
    return FilesystemStorage(tmp_path / "storage")


@pytest.fixture
def export(app, storage):
    def run(**kwargs) -> dict:
        with database(app) as session:
            return service.export_reports(
                session, storage, grid_m=50, media_base="https://signale.example/v1/media/",
                **kwargs,
            )  # fmt: skip

    return run


def published(app) -> dict[str, OpenDataFile]:
    with database(app) as session:
        files = session.scalars(select(OpenDataFile)).all()
        session.expunge_all()
        return {f.name: f for f in files}


# Every export also writes the four statistics tables, each as CSV and JSON.
STATISTICS_FILES = 4 * 2


def read(storage, entry) -> bytes:
    with storage.open(entry.storage_key) as stream:
        return stream.read()


def test_full_and_daily_files_in_every_format(app, add_report, export, storage):
    add_report(reference="DIJ-2026-000001", created_hours_ago=72)
    add_report(reference="DIJ-2026-000002", created_hours_ago=71.5)
    add_report(reference="DIJ-2026-000003", created_hours_ago=1)
    summary = export()
    files = published(app)
    days = sorted({f.day for f in files.values() if f.day})
    assert len(days) == 2 or len(days) == 3  # 72 h and 71.5 h ago may straddle midnight
    produced = 3 * (1 + len(days)) + STATISTICS_FILES
    assert summary == {"files": produced, "changed": produced, "removed": 0}
    assert {n for n, f in files.items() if f.day is None and n.startswith("reports")} == {
        "reports.geojson",
        "reports.csv",
        "reports.parquet",
    }
    full = json.loads(read(storage, files["reports.geojson"]))
    assert [f["id"] for f in full["features"]] == [
        "DIJ-2026-000001",
        "DIJ-2026-000002",
        "DIJ-2026-000003",
    ]
    assert files["reports.geojson"].row_count == 3
    csv_rows = list(csv.DictReader(io.StringIO(read(storage, files["reports.csv"]).decode())))
    assert [r["reference"] for r in csv_rows] == [f["id"] for f in full["features"]]
    assert pq.read_table(io.BytesIO(read(storage, files["reports.parquet"]))).num_rows == 3
    # The daily files share the reports out, each in its own day.
    by_day = [f for f in files.values() if f.day and f.format == "csv"]
    assert sum(f.row_count for f in by_day) == 3
    for entry in by_day:
        lines = list(csv.DictReader(io.StringIO(read(storage, entry).decode())))
        assert entry.name == f"reports-{entry.day.isoformat()}.csv"
        assert len(lines) == entry.row_count
    for entry in files.values():
        assert entry.size_bytes == len(read(storage, entry))


def test_the_files_publish_the_resolution_not_a_later_note(
    app, add_report, history, export, storage
):
    report_id = add_report(reference="DIJ-2026-000001", created_hours_ago=72)
    history(report_id, ("assigned", 1), ("resolved", 26, "resolve"), ("resolved", 27, "note"))
    export()
    files = published(app)
    (row,) = csv.DictReader(io.StringIO(read(storage, files["reports.csv"]).decode()))
    created, resolved = (datetime.fromisoformat(row[c]) for c in ("created_at", "resolved_at"))
    assert resolved - created == timedelta(hours=26)
    assert row["time_to_resolve_seconds"] == str(26 * 3600)
    (feature,) = json.loads(read(storage, files["reports.geojson"]))["features"]
    assert datetime.fromisoformat(feature["properties"]["resolved_at"]) == resolved


@pytest.mark.processes
def test_an_unchanged_file_keeps_its_content_and_date(app, add_report, export):
    old = add_report(reference="DIJ-2026-000001", created_hours_ago=24 * 10)
    add_report(reference="DIJ-2026-000002", created_hours_ago=1)
    export()
    before = published(app)
    assert export()["changed"] == 0
    after = published(app)
    for name, entry in after.items():
        assert (entry.sha256, entry.modified_at) == (before[name].sha256, before[name].modified_at)
        assert entry.generated_at > before[name].generated_at
    # The old report is rejected: its day's files and the full ones change, no others.
    with database(app) as session:
        session.execute(update(Report).where(Report.id == old).values(status="rejected"))
        session.commit()
    assert export()["changed"] == 6
    changed = {n for n, e in published(app).items() if e.sha256 != before[n].sha256}
    old_day = min(e.day for e in before.values() if e.day)
    assert changed == {
        *(f"reports.{x}" for x in ("geojson", "csv", "parquet")),
        *(f"reports-{old_day.isoformat()}.{x}" for x in ("geojson", "csv", "parquet")),
    }


def test_a_day_without_reports_any_more_loses_its_files_and_their_content(
    app, add_report, export, storage
):
    gone = add_report(reference="DIJ-2026-000001", created_hours_ago=24 * 10)
    add_report(reference="DIJ-2026-000002", created_hours_ago=1)
    export()
    before = published(app)
    with database(app) as session:
        session.execute(update(Report).where(Report.id == gone).values(geom=None))
        session.commit()
    assert export()["removed"] == 3
    after = published(app)
    for name in set(before) - set(after):
        assert not storage.exists(before[name].storage_key)
    for entry in after.values():
        assert storage.exists(entry.storage_key)


@pytest.mark.processes
def test_an_export_gives_way_to_one_already_running(app, database_url, add_report, export):
    add_report(reference="DIJ-2026-000001")
    with psycopg.connect(libpq_url(database_url)) as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", (service._LOCK,))
        assert export() == {"skipped": "another export is running"}
    assert published(app) == {}
    assert export()["files"] == 6 + STATISTICS_FILES
