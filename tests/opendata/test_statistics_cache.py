"""The statistics answers' server-side cache (app/opendata/cache.py) and their time bound:
a hit is the miss byte for byte and sends no statistics SQL; a new report or a new event of
a history changes the next answer (never a stale one); Redis down still answers; a table
computing beyond OPENDATA_STATISTICS_TIMEOUT_MS is the nightly file of it when whole, else a
503 problem, never a 500."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.reports.models import Report
from app.triage.models import ReportEvent
from tests.conftest import make_app
from tests.opendata.conftest import database
from tests.opendata.test_statistics_views import STATISTICS, TABLES

# The caches' keys are the data's last change, stamped by PostgreSQL's clock: these tests
# need it to move between transactions, so they commit for real (see tests/conftest.py).
pytestmark = pytest.mark.processes

# A fragment of the data version's statement (app/opendata/cache.py): a hit sends it alone.
VERSION_SQL = "max(id) FROM report_events"


@pytest.fixture
def cache_settings(app):
    """``cache_settings(**config)``: the statistics settings changed for one test (the
    cache rebuilt). By default entries of a fresh version live an hour, so that a test
    passing because an entry expired would not go unnoticed."""

    def apply(**config):
        app.config.update(config)
        app.extensions.pop("signale.statistics_cache", None)

    saved = {k: v for k, v in app.config.items() if k.startswith("OPENDATA_STATISTICS_")}
    apply(OPENDATA_STATISTICS_CACHE_SETTLE_SECONDS=3600)
    yield apply
    apply(**saved)


def built(seen: list[str]) -> bool:
    """Whether a table was computed (not served from the cache)."""
    return any(VERSION_SQL not in s for s in seen)


def get(client, path, **kwargs):
    response = client.get(STATISTICS + path, **kwargs)
    assert response.status_code in (200, 304), response.get_data(as_text=True)
    return response


@pytest.mark.parametrize("table", TABLES)
def test_a_hit_is_the_miss_byte_for_byte_without_the_statistics_sql(
    client, february, statements, cache_settings, table
):
    with statements() as seen:
        miss = get(client, f"/{table}")
    assert built(seen) and miss.get_json()["items"]
    with statements() as seen:
        hit = get(client, f"/{table}")
    assert not built(seen) and len(seen) == 1  # the data version only
    assert hit.data == miss.data
    for header in ("Content-Type", "ETag", "Cache-Control", "Access-Control-Allow-Origin"):
        assert hit.headers.get(header) == miss.headers.get(header), header
    with statements() as seen:
        revalidated = get(client, f"/{table}", headers={"If-None-Match": miss.headers["ETag"]})
    assert revalidated.status_code == 304 and not built(seen)


def test_filters_and_the_threshold_have_their_own_entries(client, february, cache_settings):
    whole = get(client, "/sources").get_json()["items"]
    assert get(client, "/sources?from=2026-03").get_json()["items"] == []
    cache_settings(OPENDATA_STATISTICS_MIN_COUNT=1)
    detailed = get(client, "/sources").get_json()["items"]
    assert detailed != whole and not any(item["suppressed"] for item in detailed)


def _cached(client, statements, path: str) -> bytes:
    """The answer at ``path`` once it is served from the cache."""
    get(client, path)
    with statements() as seen:
        body = get(client, path).data
    assert not built(seen), path
    return body


def test_a_new_report_changes_the_next_answer(
    client, february, add_report, statements, cache_settings
):
    before = _cached(client, statements, "/reports-by-month")
    add_report()
    with statements() as seen:
        after = get(client, "/reports-by-month").data
    assert built(seen) and after != before


def test_a_new_event_alone_changes_the_times_to_resolve(
    app, client, february, statements, cache_settings
):
    before = _cached(client, statements, "/resolution-times")
    overall = [i for i in get(client, "/resolution-times").get_json()["items"] if not i["desk"]]
    assert overall[-1]["median_hours"] == 20.0
    # The report resolved after 10 hours is reopened and resolved again after 100: events
    # only (the report's row stays as it was: resolved).
    with database(app) as session:
        report = session.scalar(
            select(Report).where(Report.status == "resolved").order_by(Report.id).limit(1)
        )
        for to_status, from_status, hours in (
            ("reopened", "resolved", 11),
            ("resolved", "reopened", 100),
        ):
            session.add(
                ReportEvent(
                    report_id=report.id,
                    created_at=report.created_at + timedelta(hours=hours),
                    actor_uid="agent-1",
                    actor_role="agent",
                    action="step",
                    from_status=from_status,
                    to_status=to_status,
                    public=True,
                )
            )
        session.commit()
    with statements() as seen:
        after = get(client, "/resolution-times")
    assert built(seen) and after.data != before
    assert [i for i in after.get_json()["items"] if not i["desk"]][-1]["median_hours"] == 60.0


def test_with_redis_down_the_answers_are_served(app, database_url, client, february):
    expected = {table: get(client, f"/{table}").data for table in TABLES}
    down = make_app(database_url, REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    offline = down.test_client()
    for table in TABLES:
        response = offline.get(f"{STATISTICS}/{table}")
        assert response.status_code == 200 and response.data == expected[table], table


@contextmanager
def reports_locked(app):
    """Another transaction holds the reports table: any query of it waits."""
    with app.app_context():
        connection = db.engine.connect()
    transaction = connection.begin()
    connection.execute(text("LOCK TABLE reports IN ACCESS EXCLUSIVE MODE"))
    try:
        yield
    finally:
        transaction.rollback()
        connection.close()


@pytest.mark.parametrize("table", TABLES)
def test_a_table_beyond_the_time_bound_is_a_503_problem_saying_what_to_do(
    app, client, february, cache_settings, table
):
    # The cache off: its data version would wait on the lock too (it is not bounded).
    cache_settings(OPENDATA_STATISTICS_TIMEOUT_MS=1, OPENDATA_STATISTICS_CACHE_ENABLED=False)
    with reports_locked(app):
        french = client.get(f"{STATISTICS}/{table}")
        english = client.get(f"{STATISTICS}/{table}", headers={"Accept-Language": "en"})
    for response in (french, english):
        assert response.status_code == 503, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        assert response.headers["Retry-After"] == "60"
        problem = response.get_json()
        assert problem["code"] == "statistics_busy"
        assert "/v1/opendata/files" in problem["detail"]
    assert "fichiers de la nuit" in french.get_json()["detail"]
    assert "narrow the period" in english.get_json()["detail"]


@pytest.mark.parametrize("table", TABLES)
def test_a_whole_table_beyond_the_time_bound_is_the_nightly_file_of_it(
    app, client, february, cache_settings, table
):
    """Over tens of millions of reports a whole table takes minutes (benchmarks/
    bench_history.py): the nightly export computes it without a bound, and the API answers
    with that file, saying how old it is, rather than a 503. A narrowed one still is a 503,
    and so is a whole one whose file applied another threshold."""
    exported = app.test_cli_runner().invoke(
        args=["opendata", "export", "--format", "csv", "--no-daily"]
    )
    assert exported.exit_code == 0, exported.output
    computed = get(client, f"/{table}")
    cache_settings(OPENDATA_STATISTICS_TIMEOUT_MS=1, OPENDATA_STATISTICS_CACHE_ENABLED=False)
    with reports_locked(app):
        whole = client.get(f"{STATISTICS}/{table}")
        narrowed = client.get(f"{STATISTICS}/{table}?from=2026-01")
    assert whole.status_code == 200, whole.get_data(as_text=True)
    assert whole.get_json() == computed.get_json()
    assert whole.headers["Content-Location"].endswith(f"/v1/opendata/files/statistics-{table}.json")
    assert whole.last_modified is not None and "ETag" in whole.headers
    assert narrowed.status_code == 503
    assert narrowed.get_json()["code"] == "statistics_busy"
    cache_settings(OPENDATA_STATISTICS_MIN_COUNT=1)
    with reports_locked(app):
        other_threshold = client.get(f"{STATISTICS}/{table}")
    assert other_threshold.status_code == 503


def test_a_timed_out_answer_is_not_cached(app, client, february, statements, cache_settings):
    cache_settings(OPENDATA_STATISTICS_TIMEOUT_MS=1, OPENDATA_STATISTICS_CACHE_ENABLED=False)
    with reports_locked(app):
        assert client.get(f"{STATISTICS}/sources").status_code == 503
    cache_settings(OPENDATA_STATISTICS_TIMEOUT_MS=20_000, OPENDATA_STATISTICS_CACHE_ENABLED=True)
    with statements() as seen:
        assert get(client, "/sources").get_json()["items"]
    assert built(seen)
