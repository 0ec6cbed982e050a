"""The public files: produced by the worker's job, listed and downloaded without a token."""

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rq import Queue
from rq.job import Job

from app.opendata import service
from app.opendata.queries import TIMEZONE
from app.storage import FilesystemStorage
from tests.conftest import MEDIA_ROOT, redis_test_url
from tests.opendata.conftest import database

ROOT = Path(__file__).resolve().parents[2]
FILES = "/v1/opendata/files"


def last_noon_in_dijon(now: datetime) -> datetime:
    """The latest noon in Dijon at or before ``now``: reports dated from it stay on their
    day (the daily files' days are Dijon's) whatever the hour the test runs."""
    local = now.astimezone(ZoneInfo(TIMEZONE))
    noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
    return noon if noon <= local else noon - timedelta(days=1)


@pytest.fixture
def exported(app, add_report, now):
    """Three reports on two days, exported as the nightly job does."""
    noon = last_noon_in_dijon(now)
    add_report(reference="DIJ-2026-000001", created_hours_ago=24 * 5, now=noon)
    add_report(reference="DIJ-2026-000002", created_hours_ago=24 * 5 - 0.1, now=noon)
    add_report(reference="DIJ-2026-000003", created_hours_ago=1, now=noon)
    with database(app) as session:
        service.export_reports(
            session, FilesystemStorage(MEDIA_ROOT), **service.settings(app.config)
        )


@pytest.mark.processes
def test_the_nightly_job_runs_in_the_worker_and_its_files_are_served(
    app, client, database_url, redis_conn, add_report
):
    add_report(reference="DIJ-2026-000001", description="Sous la fenêtre de M. Petit")
    queue_name = f"signale-test-{uuid.uuid4().hex[:8]}"
    job = Queue(queue_name, connection=redis_conn).enqueue("worker.jobs.export_open_data")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_test_url(),
        "SIGNALE_QUEUES": queue_name,
        "LOG_LEVEL": "WARNING",
    }
    run = subprocess.run(
        [sys.executable, "-m", "worker", "--burst"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    job = Job.fetch(job.id, connection=redis_conn)
    assert job.is_finished, run.stderr
    # Full and one day's files in three formats, and the four statistics tables in two.
    assert job.return_value() == {"files": 14, "changed": 14, "removed": 0}
    listing = client.get(FILES)
    assert listing.status_code == 200
    names = [item["name"] for item in listing.get_json()["items"]]
    assert names[8:11] == ["reports.parquet", "reports.geojson", "reports.csv"]
    got = client.get(f"{FILES}/reports.geojson")
    assert got.status_code == 200
    (feature,) = json.loads(got.data)["features"]
    assert feature["id"] == "DIJ-2026-000001"
    assert "Petit" not in got.get_data(as_text=True)


def test_the_listing_is_public_filterable_and_paginated(client, exported):
    response = client.get(FILES)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    items = response.get_json()["items"]
    assert len(items) == 8 + 9
    # The statistics tables, then the full files, then the daily ones.
    assert [i["dataset"] for i in items[:8]] == [
        name for name in ("sources", "service-level", "resolution-times", "reports-by-month")
        for _ in ("json", "csv")
    ]  # fmt: skip
    full = [i for i in items if i["dataset"] == "reports"]
    assert [i["name"] for i in items[8:11]] == [i["name"] for i in full]
    assert {i["period"] for i in items[:11]} == {"full"}
    daily = [i for i in items if i["period"] == "daily"]
    assert {i["dataset"] for i in daily} == {"reports-daily"}
    assert daily[0]["day"] > daily[-1]["day"]  # newest first
    csv_full = next(i for i in items if i["name"] == "reports.csv")
    assert csv_full["row_count"] == 3 and csv_full["media_type"].startswith("text/csv")
    assert csv_full["url"] == "https://signale.metropole-dijon.fr/v1/opendata/files/reports.csv"
    only_json = client.get(f"{FILES}?format=json").get_json()["items"]
    assert len(only_json) == 4 and {i["media_type"] for i in only_json} == {"application/json"}
    only_csv = client.get(f"{FILES}?format=csv&period=daily").get_json()["items"]
    assert {i["format"] for i in only_csv} == {"csv"} and len(only_csv) == 2
    newest = max(i["day"] for i in daily)
    since = client.get(f"{FILES}?since={newest}").get_json()["items"]
    assert {i["day"] for i in since} == {newest}
    until = client.get(f"{FILES}?until={newest}&format=csv").get_json()["items"]
    assert len(until) == 2
    seen, cursor = [], None
    while True:
        page = client.get(f"{FILES}?limit=4" + (f"&cursor={cursor}" if cursor else "")).get_json()
        seen += [i["name"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [i["name"] for i in items]
    bad = client.get(f"{FILES}?cursor=nonsense")
    assert bad.status_code == 400 and bad.get_json()["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("reports.geojson", "application/geo+json"),
        ("reports.csv", "text/csv; charset=utf-8"),
        ("reports.parquet", "application/vnd.apache.parquet"),
    ],
)
def test_a_file_downloads_with_its_etag_and_date_and_revalidates(
    client, exported, name, media_type
):
    (entry,) = [i for i in client.get(FILES).get_json()["items"] if i["name"] == name]
    response = client.get(f"{FILES}/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == media_type
    assert response.headers["ETag"] == f'"{entry["sha256"]}"'
    assert response.headers["Content-Disposition"] == f"attachment; filename={name}"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "public" in response.headers["Cache-Control"]
    assert len(response.data) == entry["size_bytes"] == int(response.headers["Content-Length"])
    last_modified = response.headers["Last-Modified"]
    again = client.get(f"{FILES}/{name}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    again = client.get(f"{FILES}/{name}", headers={"If-Modified-Since": last_modified})
    assert again.status_code == 304
    part = client.get(f"{FILES}/{name}", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.data == response.data[:10]


def test_a_daily_file_holds_that_days_reports(client, exported):
    daily = client.get(f"{FILES}?format=csv&period=daily").get_json()["items"]
    older = min(daily, key=lambda i: i["day"])
    body = client.get(f"{FILES}/{older['name']}").get_data(as_text=True)
    references = [row["reference"] for row in csv.DictReader(io.StringIO(body))]
    assert references == ["DIJ-2026-000001", "DIJ-2026-000002"]


def test_an_unknown_file_is_a_problem_not_a_crash(client, exported):
    for name in ("reports-1999-01-01.csv", "nothing.txt"):
        response = client.get(f"{FILES}/{name}", headers={"Accept-Language": "en"})
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "opendata_file_not_found"


def test_before_the_first_export_there_is_nothing_to_list(client, app):
    assert client.get(FILES).get_json() == {"items": [], "next_cursor": None}
    assert client.get(f"{FILES}/reports.csv").status_code == 404
