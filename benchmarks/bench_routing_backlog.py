"""Routing under a backlog: the routing statement with each crew's workload read from its
counter (app.workload) against the same statement counting the crews' open reports (as
before the counters), in the same run, on the benchmarks' database (1,000,000 reports,
see benchmarks/dataset.py) plus 50,000 open reports held by crews in central Dijon.

Also measured, what the triggers that keep the counters cost their writers:
- per row, inserting the backlog and re-assigning 5,000 reports in one statement (a bulk
  action's worth), with the counting triggers and without them (rolled back);
- concurrent intake: 8 connections inserting open reports for one desk and one crew (the
  hot counters), each report its own transaction, with and without the triggers.

The backlog is added at the start and removed at the end (the counters follow both).

    make bench            # or: python benchmarks/bench_routing_backlog.py [--points N]
"""

import argparse
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.routing import intake as routing  # noqa: E402
from app.workload import service as workload  # noqa: E402
from benchmarks import dataset  # noqa: E402
from benchmarks.bench_routing import CATEGORIES, percentile  # noqa: E402
from tools.pg import libpq_url  # noqa: E402

BACKLOG = 50_000
BACKLOG_UID = "bench-backlog"
# Central Dijon, about 1.9 x 1.7 km around the city centre: the densest area.
WEST, SOUTH, EAST, NORTH = 5.025, 47.315, 5.050, 47.330
COUNTING_TRIGGERS = (
    "reports_count_open_work_insert",
    "reports_count_open_work_update",
    "reports_count_open_work_delete",
)
TARGET_P95_MS = 1.5

# Open reports in the box, each held by a crew routing would consider there (active, with
# the category's skill, its zone covering the point), at that crew's desk.
ADD_BACKLOG = f"""
WITH pts AS (
    SELECT ST_SetSRID(ST_MakePoint({WEST} + random() * {EAST - WEST},
                                   {SOUTH} + random() * {NORTH - SOUTH}), 4326) AS g,
           (%(codes)s::text[])[1 + floor(random() * cardinality(%(codes)s::text[]))::int]
               AS code,
           random() AS v
    FROM generate_series(1, %(n)s)
)
INSERT INTO reports (category_id, status, geom, commune_insee, reporter_uid, language,
                     source, desk_id, crew_id, priority, due_at)
SELECT cat.id,
       CASE WHEN v < 0.3 THEN 'new' WHEN v < 0.7 THEN 'assigned' ELSE 'in_progress' END,
       pts.g, '21231', '{BACKLOG_UID}', 'fr', 'generated', crew.desk_id, crew.id, 3,
       now() + interval '2 days'
FROM pts
JOIN categories cat ON cat.code = pts.code
CROSS JOIN LATERAL (
    SELECT c.id, c.desk_id FROM crews c
    WHERE c.active AND pts.code = ANY (c.skills) AND (c.zone IS NULL OR ST_Covers(c.zone, pts.g))
    ORDER BY random() LIMIT 1
) AS crew
"""
FORGET_BACKLOG = f"DELETE FROM reports WHERE reporter_uid = '{BACKLOG_UID}'"


def points(count: int, seed: int = 3) -> list[tuple[str, float, float]]:
    """Random (category, lon, lat) in the backlog's area."""
    rnd = random.Random(seed)
    return [
        (
            rnd.choice(CATEGORIES),
            WEST + rnd.random() * (EAST - WEST),
            SOUTH + rnd.random() * (NORTH - SOUTH),
        )
        for _ in range(count)
    ]


def compiled(env: dict, sample: list, *, fresh_count: bool) -> list:
    """The routing statement for each point, SQL text and parameters ready for psycopg."""
    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "LOG_LEVEL": "WARNING"})
    with app.app_context():
        dialect = db.engine.dialect
        db.engine.dispose()
    at = datetime.now(UTC)
    return [
        routing.lookup_statement(code, lon, lat, at, fresh_count=fresh_count)
        .compile(dialect=dialect)
        .construct_expanded_state()
        for code, lon, lat in sample
    ]


def run_statements(url: str, statements: list) -> list[float]:
    """Milliseconds per execution, on one connection with the generic plan route() uses."""
    times = []
    with psycopg.connect(url) as conn:
        conn.execute(routing._GENERIC_PLANS.text)
        for state in statements[:50]:  # warm-up: prepared, pages in cache
            conn.execute(state.statement, state.parameters).fetchone()
        for state in statements:
            start = time.perf_counter()
            conn.execute(state.statement, state.parameters).fetchone()
            times.append((time.perf_counter() - start) * 1000)
        conn.rollback()
    return times


def timed(url: str, statement: str, params: dict | None = None, *, counting: bool) -> float:
    """Milliseconds of ``statement`` with or without the counting triggers, rolled back."""
    with psycopg.connect(url) as conn:
        if not counting:
            for trigger in COUNTING_TRIGGERS:
                conn.execute(f"ALTER TABLE reports DISABLE TRIGGER {trigger}")
        start = time.perf_counter()
        conn.execute(statement, params)
        elapsed = (time.perf_counter() - start) * 1000
        conn.rollback()
    return elapsed


def alternating(url: str, statement: str, params: dict, rounds: int) -> tuple[float, float]:
    """Median milliseconds of ``statement`` without, then with, the counting triggers."""
    runs = {False: [], True: []}
    for _ in range(rounds):
        for counting in (False, True):
            runs[counting].append(timed(url, statement, params, counting=counting))
    return statistics.median(runs[False]), statistics.median(runs[True])


def switch_triggers(url: str, on: bool) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for trigger in COUNTING_TRIGGERS:
            conn.execute(f"ALTER TABLE reports {'ENABLE' if on else 'DISABLE'} TRIGGER {trigger}")


def concurrent_intake(url: str, seconds: float, connections: int = 8) -> float:
    """Open reports inserted per second by ``connections`` at once, one per transaction,
    all for the same desk and crew (the busiest crew of the backlog)."""
    with psycopg.connect(url) as conn:
        crew_id, desk_id, category_id = conn.execute(
            "SELECT r.crew_id, r.desk_id, r.category_id FROM reports r "
            "WHERE r.reporter_uid = %s GROUP BY 1, 2, 3 ORDER BY count(*) DESC LIMIT 1",
            (BACKLOG_UID,),
        ).fetchone()
    insert = (
        "INSERT INTO reports (category_id, status, geom, commune_insee, reporter_uid, language,"
        " source, desk_id, crew_id, priority, due_at) VALUES (%s, 'new',"
        f" ST_SetSRID(ST_MakePoint({(WEST + EAST) / 2}, {(SOUTH + NORTH) / 2}), 4326), '21231',"
        f" '{BACKLOG_UID}', 'fr', 'generated', %s, %s, 3, now())"
    )
    counts = [0] * connections
    start = threading.Barrier(connections)

    def hammer(slot: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            start.wait()
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                conn.execute(insert, (category_id, desk_id, crew_id))
                counts[slot] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    env = dataset.bench_env()
    sizes = dataset.prepare(env)
    url = libpq_url(env["DATABASE_URL"])
    codes = list(CATEGORIES)

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FORGET_BACKLOG)
    # What the counting triggers cost: the backlog inserted without and with them (rolled
    # back, alternating, after a warm-up), then for real.
    backlog_params = {"codes": codes, "n": BACKLOG}
    timed(url, ADD_BACKLOG, backlog_params, counting=True)
    inserts = alternating(url, ADD_BACKLOG, backlog_params, args.rounds)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ADD_BACKLOG, {"codes": codes, "n": BACKLOG})
        # As autovacuum leaves them: the reports' visibility map set (the count before the
        # counters reads the index only), the counters' dead versions gone.
        conn.execute("VACUUM ANALYZE reports")
        conn.execute("VACUUM ANALYZE crew_workload")
        conn.execute("VACUUM ANALYZE desk_open_counts")
        backlog = conn.execute(
            "SELECT count(*), count(DISTINCT crew_id) FROM reports WHERE reporter_uid = %s",
            (BACKLOG_UID,),
        ).fetchone()
        open_total = conn.execute(
            "SELECT count(*) FROM reports WHERE status IN "
            "('new', 'acknowledged', 'assigned', 'in_progress', 'reopened')"
        ).fetchone()[0]
    # A bulk re-assignment: 5,000 of the backlog's reports to the crew of others.
    reassign = (
        "UPDATE reports r SET crew_id = o.crew_id FROM (SELECT id, lead(crew_id) OVER "
        "(ORDER BY id) AS crew_id FROM reports WHERE reporter_uid = %(uid)s ORDER BY id "
        "LIMIT 5000) o WHERE r.id = o.id AND o.crew_id IS NOT NULL"
    )
    bulk = alternating(url, reassign, {"uid": BACKLOG_UID}, args.rounds)

    try:
        sample = points(args.points)
        counter_statements = compiled(env, sample, fresh_count=False)
        count_statements = compiled(env, sample, fresh_count=True)
        runs = {"count": [], "counter": []}
        for _ in range(args.rounds):  # alternating, so that both see the same machine
            runs["count"].append(run_statements(url, count_statements))
            runs["counter"].append(run_statements(url, counter_statements))

        intake = {True: [], False: []}
        for _ in range(args.rounds):
            for on in (True, False):
                switch_triggers(url, on)
                intake[on].append(concurrent_intake(url, args.seconds))
    finally:
        switch_triggers(url, True)
        app = create_app({"DATABASE_URL": env["DATABASE_URL"], "LOG_LEVEL": "WARNING"})
        with app.app_context():
            # Inserted while the triggers were off: the repair puts their counts right.
            repaired = workload.check(db.session, repair=True)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(FORGET_BACKLOG)
            after = workload.check(db.session)
            db.session.remove()
            db.engine.dispose()

    def summary(name: str) -> tuple[float, float]:
        return (
            statistics.median(statistics.median(r) for r in runs[name]),
            statistics.median(percentile(r, 0.95) for r in runs[name]),
        )

    print(
        f"\nRouting under a backlog: {sizes['reports']:,} reports + {backlog[0]:,} open in "
        f"central Dijon held by {backlog[1]} crews ({open_total:,} open in all); "
        f"{args.points:,} points in that area x {args.rounds} rounds, alternating, medians"
    )
    print(f"{'routing statement (generic plan, psycopg)':<52}{'p50 ms':>9}{'p95 ms':>9}")
    for name, label in (
        ("count", "before: counting each candidate crew's reports"),
        ("counter", "after: each crew's counter (app.workload)"),
    ):
        p50, p95 = summary(name)
        print(f"{label:<52}{p50:>9.2f}{p95:>9.2f}")
    p95 = summary("counter")[1]
    print(
        f"target p95 <= {TARGET_P95_MS} ms: {p95:.2f} ms "
        f"({'met' if p95 <= TARGET_P95_MS else 'NOT met'}); "
        f"{summary('count')[0] / summary('counter')[0]:.1f}x faster at p50"
    )
    print(
        "\nWhat the counting triggers cost their writers (one statement, rolled back; "
        f"{args.rounds} rounds alternating, medians)"
    )
    print(f"{'statement':<52}{'without ms':>11}{'with ms':>9}{'per row':>12}")
    for label, rows, (without, with_) in (
        (f"insert {BACKLOG:,} open reports", BACKLOG, inserts),
        ("re-assign 5,000 reports (bulk)", 5000, bulk),
    ):
        extra = (with_ - without) / rows * 1000
        print(f"{label:<52}{without:>11,.0f}{with_:>9,.0f}{extra:>9.1f} us")
    print(
        "\nConcurrent intake, 8 connections, one desk and one crew, a transaction per "
        f"report, {args.rounds} x {args.seconds:g}s alternating, medians"
    )
    for on, name in ((False, "without"), (True, "with")):
        rate = statistics.median(intake[on])
        print(f"  {'counting triggers ' + name:<50}{rate:>9,.0f} inserts/s")
    print(
        f"\nCounters repaired after the runs without triggers: {len(repaired)}; "
        f"drifted after removing the backlog: {len(after)}"
    )


if __name__ == "__main__":
    main()
