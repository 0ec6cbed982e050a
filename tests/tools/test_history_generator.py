"""``benchmarks/history.py``: the generator of the 30-million-report history, run small on a
real database. Its figures are only worth what it builds: every index back, exact open-work
counters, the events of every closed report, and the spread over places and years that the
issue asks for."""

import psycopg
import pytest
from flask_migrate import upgrade

from app.extensions import db
from app.workload import service as workload
from benchmarks import history
from tests.conftest import create_database, drop_database, make_app, redis_test_url
from tools.demo import cli as demo_cli
from tools.pg import libpq_url

REPORTS, OPEN, CHUNK = 12_000, 400, 1_000
CLOSED = "('resolved', 'closed', 'rejected', 'duplicate')"


@pytest.fixture(scope="module")
def built():
    url = create_database("signale_test_history")
    app = make_app(url)
    with app.app_context():
        upgrade(directory="migrations")
        runner = app.test_cli_runner()
        assert runner.invoke(args=["reference", "load"]).exit_code == 0
        assert runner.invoke(demo_cli, args=["routing", "seed"]).exit_code == 0
    plain = libpq_url(url)
    with psycopg.connect(plain) as conn:
        indexes_before = set(
            conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename IN ('reports', 'report_events')"
            ).fetchall()
        )
    history.build(plain, REPORTS, redis_test_url(), open_work=OPEN, chunk=CHUNK)
    yield app, plain, indexes_before
    drop_database(url)


def one(url: str, sql: str):
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()


def test_it_writes_the_reports_asked_with_the_open_work_apart(built):
    _app, url, _ = built
    total, open_, closed, rejected = one(
        url,
        f"""SELECT count(*), count(*) FILTER (WHERE status NOT IN {CLOSED}),
                   count(*) FILTER (WHERE status = 'closed'),
                   count(*) FILTER (WHERE status = 'rejected') FROM reports""",
    )
    assert (total, open_) == (REPORTS, OPEN)
    assert closed + rejected == REPORTS - OPEN
    assert 0.03 < rejected / (REPORTS - OPEN) < 0.11


def test_every_index_is_back_after_the_load(built):
    _app, url, before = built
    with psycopg.connect(url) as conn:
        after = set(
            conn.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename IN ('reports', 'report_events')"
            ).fetchall()
        )
        invalid = conn.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone()[0]
    assert after == before
    assert invalid == 0


def test_the_open_work_counters_equal_a_fresh_count(built):
    app, _url, _ = built
    with app.app_context():
        assert workload.check(db.session) == []
        db.session.remove()


def test_each_closed_report_has_its_history_in_order(built):
    _app, url, _ = built
    wrong = one(
        url,
        """
        SELECT count(*) FROM reports r
        WHERE r.status IN ('closed', 'rejected')
          AND (SELECT array_agg(e.action ORDER BY e.created_at, e.id)
               FROM report_events e WHERE e.report_id = r.id)
              IS DISTINCT FROM CASE r.status
                  WHEN 'closed' THEN ARRAY['acknowledge', 'resolve', 'close']::varchar[]
                  ELSE ARRAY['acknowledge', 'reject']::varchar[] END
        """,
    )[0]
    assert wrong == 0
    # Each event leaves the state the next one starts from, and the last is the report's.
    broken = one(
        url,
        """
        SELECT count(*) FROM (
            SELECT r.status, e.to_status,
                   lead(e.from_status) OVER w AS next_from,
                   row_number() OVER (PARTITION BY e.report_id ORDER BY e.created_at DESC,
                                      e.id DESC) AS from_end
            FROM report_events e JOIN reports r ON r.id = e.report_id
            WINDOW w AS (PARTITION BY e.report_id ORDER BY e.created_at, e.id)
        ) chain
        WHERE (next_from IS NOT NULL AND next_from <> to_status)
           OR (from_end = 1 AND to_status <> status)
        """,
    )[0]
    assert broken == 0


def test_reports_spread_over_ten_growing_years_in_time_order(built):
    _app, url, _ = built
    first_year, last_year, oldest_days, newest_days, most_back = one(
        url,
        f"""
        SELECT count(*) FILTER (WHERE created_at < now() - interval '9 years'),
               count(*) FILTER (WHERE created_at >= now() - interval '1 year'),
               extract(day FROM now() - min(created_at)),
               extract(epoch FROM now() - max(created_at)) / 86400,
               max(extract(epoch FROM before - created_at))
        FROM (SELECT *, lag(created_at) OVER (ORDER BY id) AS before FROM reports) r
        WHERE status IN {CLOSED}
        """,
    )
    assert 3600 <= oldest_days <= 3660
    assert newest_days >= 2
    # Linear growth: the last year has about 19/1 times the first one's reports.
    assert last_year > 8 * first_year > 0
    # Ids follow time (a few minutes of jitter aside), and the heap nearly (two chunks are
    # written at a time, each into pages of its own).
    assert most_back < 3600
    assert (
        one(
            url,
            "SELECT correlation FROM pg_stats "
            "WHERE tablename = 'reports' AND attname = 'created_at'",
        )[0]
        > 0.95
    )


def test_nothing_happens_in_the_future(built):
    # A data version in the future would keep the exact caches from holding anything.
    _app, url, _ = built
    assert one(
        url,
        """SELECT greatest((SELECT max(greatest(created_at, updated_at))
                            FROM reports),
                           (SELECT max(created_at) FROM report_events)) <= now()""",
    )[0]


def test_places_follow_the_communes(built):
    _app, url, _ = built
    dijon_share, outside = one(
        url,
        """
        SELECT avg((commune_insee = '21231')::int),
               count(*) FILTER (WHERE NOT EXISTS (
                   SELECT 1 FROM communes c
                   WHERE c.insee_code = r.commune_insee AND ST_DWithin(c.geom::geography,
                                                                       r.geom::geography, 20)))
        FROM reports r
        """,
    )
    assert 0.55 < dijon_share < 0.65
    # Jittered by ten metres at most: never further from its commune.
    assert outside == 0
