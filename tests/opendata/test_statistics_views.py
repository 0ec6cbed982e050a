"""The statistics over HTTP (public, cacheable) and as files of the nightly export."""

import csv
import io
import json

import pytest

from app.opendata import service
from app.storage import FilesystemStorage
from tests.conftest import MEDIA_ROOT
from tests.opendata.conftest import database

STATISTICS = "/v1/opendata/statistics"
TABLES = ("reports-by-month", "resolution-times", "service-level", "sources")


def test_every_table_is_public_cacheable_and_revalidates(client, february):
    for name in TABLES:
        response = client.get(f"{STATISTICS}/{name}")
        assert response.status_code == 200, name
        assert response.mimetype == "application/json"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Cache-Control"] == "public, max-age=300"
        body = response.get_json()
        assert body["table"] == name and body["min_count"] == 3
        again = client.get(
            f"{STATISTICS}/{name}", headers={"If-None-Match": response.headers["ETag"]}
        )
        assert again.status_code == 304 and again.data == b""


def test_the_answers_suppress_small_cells_with_the_configured_threshold(client, february):
    by_month = client.get(f"{STATISTICS}/reports-by-month?from=2026-02&to=2026-02").get_json()
    assert [(i["source"], i["reports"], i["suppressed"]) for i in by_month["items"]] == [
        ("app", 3, False),
        ("open311", None, True),
    ]
    times = client.get(f"{STATISTICS}/resolution-times?desk=voirie").get_json()["items"]
    overall = next(i for i in times if i["category"] is None and i["desk"] is None)
    assert (overall["resolved"], overall["median_hours"]) == (3, 20.0)
    level = client.get(f"{STATISTICS}/service-level?category=pothole").get_json()["items"]
    # Due 24 h after creation: 10 h and 20 h made it, 60 h did not.
    assert {(i["within_service_level"], i["share"]) for i in level} == {(2, 0.6667)}


def test_a_period_ending_before_it_starts_has_no_report(client, february):
    response = client.get(f"{STATISTICS}/sources?from=2026-03&to=2026-02")
    assert response.status_code == 200 and response.get_json()["items"] == []


@pytest.mark.processes
def test_a_new_report_changes_the_etag(client, february, add_report):
    before = client.get(f"{STATISTICS}/sources").headers["ETag"]
    add_report()
    after = client.get(f"{STATISTICS}/sources", headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["ETag"] != before


@pytest.mark.parametrize(
    "query",
    ["from=2026-13", "to=26-01", "from=0000-01", "to=9999-12", "source=fax", "commune=Dijon"],
)
def test_a_bad_filter_is_a_problem_saying_what_to_fix(client, query):
    response = client.get(f"{STATISTICS}/reports-by-month?{query}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "validation_failed"


def test_the_nightly_export_publishes_each_table_as_csv_and_json(app, client, february):
    with database(app) as session:
        summary = service.export_reports(
            session, FilesystemStorage(MEDIA_ROOT), **service.settings(app.config)
        )
    assert summary["files"] == 3 * 2 + 4 * 2  # reports full + one day, 4 tables x 2
    listing = client.get("/v1/opendata/files?limit=200").get_json()["items"]
    files = {i["name"]: i for i in listing}
    for name in TABLES:
        api = client.get(f"{STATISTICS}/{name}").get_json()
        assert files[f"statistics-{name}.json"]["dataset"] == name
        as_json = client.get(files[f"statistics-{name}.json"]["url"])
        assert as_json.mimetype == "application/json"
        assert json.loads(as_json.data) == api
        as_csv = client.get(files[f"statistics-{name}.csv"]["url"]).get_data(as_text=True)
        rows = list(csv.DictReader(io.StringIO(as_csv)))
        assert len(rows) == len(api["items"]) == files[f"statistics-{name}.csv"]["row_count"]
        assert list(rows[0]) == list(api["items"][0])
    by_month = client.get(files["statistics-reports-by-month.csv"]["url"]).get_data(as_text=True)
    assert by_month.splitlines() == [
        "month,category,commune,source,reports,suppressed",
        "2026-02,pothole,21231,app,3,False",
        "2026-02,pothole,21231,open311,,True",
    ]
