"""Open data statistics: the latency of each /v1/opendata/statistics endpoint (whole
history, and filtered to a year and a category) on the 1,000,000 reports of `signale_bench`,
against baselines measured in the same run on the same connection: ``SELECT count(*) FROM
reports`` (which PostgreSQL may answer from an index), and the count of the reports every
table reads (published, not duplicates): a pass over the table's rows, the floor of any
query that aggregates them.

The shared dataset has no histories (reports are generated closed, without events), and
times to resolve come from the history. So that the resolution tables have something to
compute, and without changing a database other benchmarks read, this one gives its own
connection a temporary ``report_events`` (PostgreSQL looks up temporary tables first):
the real events plus, for each closed report, an acknowledgement after 0 to 4 hours and a
resolution after 1 hour to twice its category's service level (spread by id, the same each
run), indexed as the real table is, and analysed. The application runs on that one
connection (a static pool), through Flask's test client: every layer but the socket.

Each endpoint is measured cold (the server-side cache of app/opendata/cache.py off, and no
statement timeout: the computation itself) and, unfiltered, warm (the cache on, the answer
already in Redis: the data version and a Redis read).

    python benchmarks/bench_statistics.py [--samples N]

Figures: median milliseconds per endpoint, its ratio to the baseline's median, and for the
unfiltered endpoints the ratio of the cold median to the warm one.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.pool import StaticPool

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.dataset import REPORTS, bench_env, prepare  # noqa: E402
from tools.pg import libpq_url  # noqa: E402

HISTORY = (
    "CREATE TEMP TABLE report_events (LIKE public.report_events INCLUDING DEFAULTS)",
    "INSERT INTO report_events SELECT * FROM public.report_events",
    """INSERT INTO report_events (report_id, created_at, actor_uid, actor_role, action,
                                  from_status, to_status, public, details)
       SELECT r.id, r.created_at + (r.id %% 240) * interval '1 minute', 'bench-history',
              'agent', 'acknowledge', 'new', 'acknowledged', true, '{}'
       FROM reports r WHERE r.status = 'closed'""",
    """INSERT INTO report_events (report_id, created_at, actor_uid, actor_role, action,
                                  from_status, to_status, public, details)
       SELECT r.id,
              r.created_at + interval '1 hour'
              + (r.id * 7919 %% 1000) / 1000.0 * 2 * c.service_level_hours * interval '1 hour',
              'bench-history', 'agent', 'resolve', 'acknowledged', 'resolved', true, '{}'
       FROM reports r JOIN categories c ON c.id = r.category_id WHERE r.status = 'closed'""",
    "CREATE UNIQUE INDEX ON report_events (id)",  # the primary key's (the data version reads it)
    "CREATE INDEX ON report_events (report_id, id)",
    "ANALYZE report_events",
)
ENDPOINTS = ("reports-by-month", "resolution-times", "service-level", "sources")
FILTERED = "?from=2025-01&to=2025-12&category=pothole"
BASELINE = "baseline: SELECT count(*)"
COUNTED = (
    "SELECT count(*) FROM reports"
    " WHERE geom IS NOT NULL AND duplicate_of_id IS NULL AND status <> 'duplicate'"
)


def _app(url: str, dbapi, **config):
    from app import create_app

    return create_app(
        {
            **config,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "poolclass": StaticPool,
                "creator": lambda: dbapi,
                "pool_reset_on_return": None,
            },
        }
    )


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=5, help="requests per endpoint")
    args = parser.parse_args()
    env = bench_env(LOG_LEVEL="WARNING")
    url = libpq_url(env["DATABASE_URL"])
    with psycopg.connect(url) as conn:
        have = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    if have < REPORTS:
        prepare(env)
    from app.extensions import db

    dbapi = psycopg.connect(url)
    app = _app(
        env["DATABASE_URL"],
        dbapi,
        OPENDATA_STATISTICS_CACHE_ENABLED=False,
        OPENDATA_STATISTICS_TIMEOUT_MS=0,  # PostgreSQL's "no timeout"
    )
    warm_app = _app(
        env["DATABASE_URL"],
        dbapi,
        OPENDATA_STATISTICS_CACHE_ENABLED=True,
        OPENDATA_STATISTICS_TIMEOUT_MS=0,
    )
    with app.app_context():
        started = time.perf_counter()
        for statement in HISTORY:
            db.session.execute(text(statement.replace("%%", "%")))
        db.session.commit()
        events = db.session.scalar(text("SELECT count(*) FROM report_events"))
        reports = db.session.scalar(text("SELECT count(*) FROM reports"))
        db.session.remove()
        print(f"history: {events:,} events in {time.perf_counter() - started:.0f} s (temporary)")
    clients = {"cold": app.test_client(), "warm": warm_app.test_client()}

    def baseline(sql: str):
        def call() -> None:
            with app.app_context():
                db.session.execute(text(sql)).scalar_one()
                db.session.remove()

        return call

    def get(path: str, state: str = "cold"):
        def call() -> None:
            response = clients[state].get(path)
            assert response.status_code == 200, response.get_data(as_text=True)

        return call

    measures = {
        BASELINE: baseline("SELECT count(*) FROM reports"),
        "floor: count of the counted": baseline(COUNTED),
    }
    for name in ENDPOINTS:
        measures[name] = get(f"/v1/opendata/statistics/{name}")
        measures[f"{name} (2025, pothole)"] = get(f"/v1/opendata/statistics/{name}{FILTERED}")
        measures[f"{name} warm"] = get(f"/v1/opendata/statistics/{name}", "warm")
    samples: dict[str, list[float]] = {label: [] for label in measures}
    for call in measures.values():
        call()  # warm: the first query of a kind plans it and reads the table into the cache
    for _ in range(args.samples):
        # Interleaved, so that a slow spell of the shared machine hits every measure alike.
        for label, call in measures.items():
            samples[label].append(timed(call))
    floor = statistics.median(samples[BASELINE])
    print(f"statistics on {reports:,} reports (signale_bench), median of {args.samples}")
    print(f"{'':38}{'ms':>9}{'x count(*)':>12}")
    for label, values in samples.items():
        median = statistics.median(values)
        print(f"{label:38}{median:9.1f}{median / floor:12.2f}")
    for name in ENDPOINTS:
        cold, warm = (statistics.median(samples[k]) for k in (name, f"{name} warm"))
        print(f"{name}: cold / warm {cold / warm:,.0f}")
    dbapi.close()


if __name__ == "__main__":
    main()
