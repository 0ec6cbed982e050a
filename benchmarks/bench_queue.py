"""Desk queue: a page of GET /v1/desks/{desk}/queue (50 items, default sort: priority then
due date, filtered on states and a commune) through gunicorn, with 1,000,000 reports of
which ~50,000 open, against two baselines measured in the same run:

- the ceiling: the minimal Flask JSON endpoint through the same gunicorn (2 gthread workers);
- the floor: the page's own SQL statement (its items as JSON built by PostgreSQL) run by
  psycopg (one connection for latency, two for throughput, as two workers would), without
  HTTP, Flask or auth.

Also measured, for the record: GET /v1/me (verifying the token, the caller's identity from
the cache: what every authenticated request pays before its own work), GET /v1/desks (the
same and one small read, as the queue's views read: app/readonly.py), the same page
for a small commune, and the desk header's counts: filtered (counted over the reports), and
the console's default header, all open states, from the desks' counters (app.workload)
against the same states listed in another order, which the service counts over the
reports as it did before the counters (same answer, same run).

Uses its own database, `signale_bench_queue` (filled once by
`python -m tools.demo reports generate`, kept; BENCH_QUEUE_DATABASE names another): the
intake benchmark adds thousands of new
reports to `signale_bench` on every run, which would drift the open work this one is about.

    make bench            # or: python benchmarks/bench_queue.py [--rows N] [--seconds S]
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.tokens import mint_emulator_token  # noqa: E402
from benchmarks import dataset  # noqa: E402
from benchmarks.bench_http_ceiling import ensure_wrk, free_port, serve  # noqa: E402
from benchmarks.bench_intake import wrk_run  # noqa: E402
from tools.pg import ensure_database, libpq_url, with_database  # noqa: E402

DESK = "voirie"
OPEN = ("new", "acknowledged", "assigned", "in_progress", "reopened")
AGENT = "bench-agent"
PAGE = "status=new&status=acknowledged&commune={commune}&limit=50"
DIJON, CHENOVE = "21231", "21166"
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def page_statement(env: dict, commune: str) -> tuple[str, dict]:
    """The SQL the queue runs for the page, and its parameters (psycopg's format)."""
    from app import create_app
    from app.extensions import db
    from app.worklists import queries

    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "LOG_LEVEL": "WARNING"})
    with app.app_context():
        filters = queries.Filters(statuses=("new", "acknowledged"), communes=(commune,))
        statement = queries.desk_queue_query(
            queries.desk_id_of(DESK), filters, "priority", None, 50, documents=True
        )
        compiled = statement.compile(
            dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
        )
        db.session.remove()
        db.engine.dispose()
    return str(compiled), dict(compiled.params)


def header_statement(env: dict, *, counters: bool) -> tuple[str, dict]:
    """The SQL of the desk header for all open states: from the counters (the default
    request), or counted over the reports (as a filtered request is)."""
    from app import create_app
    from app.extensions import db
    from app.worklists import queries

    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "LOG_LEVEL": "WARNING"})
    with app.app_context():
        desk_id = queries.desk_id_of(DESK)
        if counters:
            statement = queries.open_counts_query(desk_id)
        else:
            statement = queries.counts_query(desk_id, queries.Filters(statuses=OPEN[::-1]))
        compiled = statement.compile(
            dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
        )
        db.session.remove()
        db.engine.dispose()
    return str(compiled), dict(compiled.params)


def sql_floor(
    url: str, sql: str, params: dict, seconds: float, *, setup: str | None = None
) -> tuple[float, float, float]:
    """(median ms, p95 ms) on one connection, and statements/s on two in parallel (with
    ``setup`` run first in the timing connection's transaction, then rolled back; and no
    throughput, as the setup may lock the table)."""
    timings = []
    # As the application's read-only pool plans them (app/readonly.py): for their values.
    url = with_options(url)
    with psycopg.connect(url) as conn:
        if setup:
            conn.execute(setup)
        conn.execute(sql, params).fetchall()  # plan cached, pages warm
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            conn.execute(sql, params).fetchall()
            timings.append((time.perf_counter() - start) * 1000)
        conn.rollback()
    timings.sort()
    if setup:
        return statistics.median(timings), timings[int(len(timings) * 0.95)], float("nan")
    counts = [0, 0]

    def hammer(slot: int) -> None:
        with psycopg.connect(url) as conn:
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                conn.execute(sql, params).fetchall()
                counts[slot] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statistics.median(timings), timings[int(len(timings) * 0.95)], sum(counts) / seconds


def with_options(url: str) -> str:
    """``url`` whose sessions plan every statement for its values, as app/readonly.py's."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-c%20plan_cache_mode%3Dforce_custom_plan"


def open_work(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FILTER (WHERE status IN ('new', 'acknowledged', 'assigned',"
            " 'in_progress', 'reopened')), count(*) FILTER (WHERE desk_id ="
            " (SELECT id FROM desks WHERE code = %s) AND status IN ('new', 'acknowledged'))"
            " FROM reports",
            (DESK,),
        ).fetchone()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    wrk = ensure_wrk()
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/signale")
    name = os.environ.get("BENCH_QUEUE_DATABASE", "signale_bench_queue")
    bench_db = with_database(libpq_url(base), name)
    ensure_database(bench_db)
    env = {
        **os.environ,
        "DATABASE_URL": bench_db,
        "FIREBASE_AUTH_EMULATOR_HOST": os.environ.get(
            "FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099"
        ),
        "PYTHONPATH": str(ROOT),
        "SIGNALE_TOKEN": mint_emulator_token(dataset.PROJECT, AGENT, lifetime_seconds=3600),
    }
    rows = dataset.prepare(env, args.rows)["reports"]
    subprocess.run(
        [*FLASK, "users", "set", AGENT, "--role", "agent", "--desk", DESK],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    total_open, page_pool = open_work(bench_db)
    floors = {
        commune: sql_floor(bench_db, *page_statement(env, commune), seconds=args.seconds / 2)
        for commune in (DIJON, CHENOVE)
    }
    for counters in (False, True):
        floors[counters] = sql_floor(
            bench_db, *header_statement(env, counters=counters), seconds=args.seconds / 2
        )
    # Before issue 19 the count had no index of its own: dropped in a rolled-back transaction.
    floors["no index"] = sql_floor(
        bench_db,
        *header_statement(env, counters=False),
        seconds=args.seconds / 2,
        setup="DROP INDEX ix_reports_open_desk_status_due_at",
    )

    script = ROOT / "benchmarks" / "queue.lua"
    servers = {}
    try:
        for name, app_path in (
            ("ceiling", "benchmarks.http_apps:flask_app"),
            ("queue", "wsgi:app"),
        ):
            port = free_port()
            servers[name] = (serve(app_path, port, env), port)
        api = f"http://127.0.0.1:{servers['queue'][1]}/v1/desks/{DESK}/queue"
        targets = {
            "ceiling": f"http://127.0.0.1:{servers['ceiling'][1]}/healthz",
            "me": f"http://127.0.0.1:{servers['queue'][1]}/v1/me",
            "desks": f"http://127.0.0.1:{servers['queue'][1]}/v1/desks",
            "page": f"{api}?{PAGE.format(commune=DIJON)}",
            "page, small commune": f"{api}?{PAGE.format(commune=CHENOVE)}",
            "counts": f"{api}/counts?status=new&status=acknowledged&commune={DIJON}",
            "header": f"{api}/counts",
            "header, counted": f"{api}/counts?" + "&".join(f"status={s}" for s in OPEN[::-1]),
        }
        # Two connections, one per worker: the latency of a page itself, without queueing.
        targets["page, c=2"] = targets["page"]
        results = {name: [] for name in targets}
        for _ in range(args.rounds):  # interleaved: noise of the shared machine spreads
            for name, url in targets.items():
                connections = 2 if name.endswith("c=2") else 16
                results[name].append(
                    wrk_run(
                        wrk,
                        url,
                        connections=connections,
                        seconds=args.seconds,
                        env=env,
                        script=script,
                    )
                )
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)

    def med(name, i):
        return statistics.median(r[i] for r in results[name])

    top = med("ceiling", 0)
    print(
        f"\nDesk queue: GET /v1/desks/{DESK}/queue, {rows:,} reports of which {total_open:,} "
        f"open ({page_pool:,} new or acknowledged at this desk); gunicorn 2 gthread workers, "
        f"wrk -t2 -c16 (unless said), {args.rounds} rounds x {args.seconds}s, medians"
    )
    print(f"  page: ?{PAGE.format(commune=DIJON)} (default sort: priority, then due date)")
    print(f"{'target':<40}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'vs ceiling':>12}")
    print(f"{'minimal Flask JSON (ceiling)':<40}{top:>9,.0f}{'':>27}{1.0:>11.2f}x")
    for name, label in (
        ("me", "GET /v1/me (identity cached, no SQL)"),
        ("desks", "GET /v1/desks (token, identity, 1 read)"),
        ("page", "queue page, Dijon (the target)"),
        ("page, c=2", "queue page, Dijon, c=2 (no queueing)"),
        ("page, small commune", "queue page, Chenôve"),
        ("counts", "desk header counts, Dijon"),
        ("header, counted", "header, all open: counted (before)"),
        ("header", "header, all open: counters (after)"),
    ):
        print(
            f"{label:<40}{med(name, 0):>9,.0f}{med(name, 1):>9.1f}{med(name, 2):>9.1f}"
            f"{med(name, 3):>9.1f}{med(name, 0) / top:>11.2f}x"
        )
    print("\nFloor: the page's SQL alone through psycopg (no HTTP, Flask, auth, JSON)")
    print(
        f"{'statement':<40}{'stmt/s (2 conns)':>17}{'p50 ms':>9}{'p95 ms':>9}{'page vs floor':>15}"
    )
    for key, name, label in (
        (DIJON, "page", f"page SQL, {DIJON}"),
        (CHENOVE, "page, small commune", f"page SQL, {CHENOVE}"),
        ("no index", "header, counted", "header SQL, counted, without its index"),
        (False, "header, counted", "header SQL, counted (before)"),
        (True, "header", "header SQL, counters (after)"),
    ):
        median_ms, p95_ms, per_second = floors[key]
        print(
            f"{label:<40}{per_second:>17,.0f}{median_ms:>9.2f}{p95_ms:>9.2f}"
            f"{med(name, 0) / per_second:>14.2f}x"
        )
    rps = med("header", 0)
    print(
        f"Target (issue 19): the default header at least 500 requests/s -> {rps:,.0f} req/s "
        f"({'met' if rps >= 500 else 'NOT met'}), {rps / med('header, counted', 0):.1f}x "
        "the count over the reports"
    )
    p95, rps = med("page", 2), med("page", 0)
    print(
        f"\nTarget (issue 5): p95 under 30 ms and at least 800 requests/s -> p95 {p95:.1f} ms "
        f"({'met' if p95 < 30 else 'NOT met'}), {rps:,.0f} req/s "
        f"({'met' if rps >= 800 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
