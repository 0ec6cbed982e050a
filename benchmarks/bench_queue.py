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

Cached against uncached, in the same run: the queue's views answer from an exact cache
(app/worklists/cache.py: the desk's version, moved by triggers, read in one statement; the
entry from the process's own LRU, else Redis). The same pages and counts are asked of a
second gunicorn with the cache off (the path before the cache), and of a third whose
processes keep nothing of their own (every hit a Redis round trip: what the per-process
LRU saves). Meanwhile a writer changes one of the desk's reports ``--changes`` times a
second (a no-op update: the version moves, the data stays), so entries go stale as in a
busy control room; the hit ratio is 1 - renders / requests, renders counted from the bytes
the cache stored (its per-minute budget counters in Redis) over the body's size.

Uses its own database, `signale_bench_queue` (filled once by
`python -m tools.demo reports generate`, kept; BENCH_QUEUE_DATABASE names another): the
intake benchmark adds thousands of new
reports to `signale_bench` on every run, which would drift the open work this one is about.

    make bench            # or: python benchmarks/bench_queue.py [--rows N] [--seconds S]
                          #     [--rounds R] [--changes PER_SECOND]
"""

import argparse
import collections
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.tokens import mint_emulator_token  # noqa: E402
from app.config import DEFAULT_REDIS_URL  # noqa: E402
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


def version_statement() -> tuple[str, dict]:
    """The statement a cache hit sends (app/worklists/cache.py), in psycopg's format."""
    from app.worklists.cache import VERSION

    return VERSION.text.replace(":desk", "%(desk)s"), {"desk": DESK}


class Writer(threading.Thread):
    """Changes one of the desk's open reports ``per_second`` times a second, each in its
    own transaction (a no-op update: the desk's version moves, its pages stay the same)."""

    def __init__(self, url: str, per_second: float):
        super().__init__(daemon=True)
        self.url, self.per_second, self.stop, self.changes = url, per_second, threading.Event(), 0

    def run(self) -> None:
        if self.per_second <= 0:
            return
        with psycopg.connect(self.url, autocommit=True) as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM reports WHERE desk_id = (SELECT id FROM desks WHERE code = %s)"
                    " AND status IN ('new', 'acknowledged') ORDER BY id LIMIT 100",
                    (DESK,),
                )
            ]
            while not self.stop.wait(1 / self.per_second):
                report = ids[self.changes % len(ids)]
                conn.execute("UPDATE reports SET priority = priority WHERE id = %s", (report,))
                self.changes += 1


def stored_bytes(client: redis.Redis) -> dict[bytes, int]:
    """The cache's per-minute counters of bytes stored (app/cache.py's budget)."""
    keys = list(client.scan_iter("desk-queue:stored-bytes:*"))
    return dict(zip(keys, (int(v or 0) for v in client.mget(keys)), strict=True)) if keys else {}


def renders(client: redis.Redis, before: dict, body_bytes: int) -> float:
    """How many pages the cache stored since ``before``: its renders."""
    after = stored_bytes(client)
    stored = sum(count - before.get(key, 0) for key, count in after.items())
    return stored / body_bytes if body_bytes else float("nan")


def body_size(url: str, token: str) -> int:
    from urllib.request import Request, urlopen

    with urlopen(Request(url, headers={"Authorization": f"Bearer {token}"})) as response:
        return len(response.read())


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
    parser.add_argument("--changes", type=float, default=2.0, help="desk changes per second")
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
    floors["version"] = sql_floor(bench_db, *version_statement(), seconds=args.seconds / 2)
    # Before issue 19 the count had no index of its own: dropped in a rolled-back transaction.
    floors["no index"] = sql_floor(
        bench_db,
        *header_statement(env, counters=False),
        seconds=args.seconds / 2,
        setup="DROP INDEX ix_reports_open_desk_status_due_at",
    )

    script = ROOT / "benchmarks" / "queue.lua"
    servers = {}
    cache = redis.Redis.from_url(os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    writer = Writer(bench_db, args.changes)
    load = os.getloadavg()
    logs = tempfile.TemporaryDirectory(prefix="bench-queue-")
    try:

        def start(name, app_path="wsgi:app", **extra):
            port = free_port()
            log = Path(logs.name) / f"{name.replace(' ', '-')}.log"
            servers[name] = (serve(app_path, port, {**env, **extra}, log=log), port)

        def stop(name):
            process, _ = servers.pop(name)
            process.terminate()
            process.wait(60)

        def api(server):
            return f"http://127.0.0.1:{servers[server][1]}/v1/desks/{DESK}/queue"

        views = {
            "page": f"?{PAGE.format(commune=DIJON)}",
            "page, small commune": f"?{PAGE.format(commune=CHENOVE)}",
            "counts": f"/counts?status=new&status=acknowledged&commune={DIJON}",
            "header": "/counts",
            "header, counted": "/counts?" + "&".join(f"status={s}" for s in OPEN[::-1]),
        }
        results, hits, errors = {}, {}, collections.Counter()

        def measure(targets: dict) -> None:
            """Each target's figures, rounds interleaved (the shared machine's noise
            spreads over all), and the hit ratio of those the cache serves."""
            sizes = {
                name: body_size(url, env["SIGNALE_TOKEN"])
                for name, url in targets.items()
                if "/queue" in url
            }
            for name in targets:
                results[name], hits[name] = [], []
            for _ in range(args.rounds):
                for name, url in targets.items():
                    connections = 2 if name.endswith("c=2") else 16
                    before = stored_bytes(cache)
                    *figures, failed = wrk_run(
                        wrk,
                        url,
                        connections=connections,
                        seconds=args.seconds,
                        env=env,
                        script=script,
                        allow_errors=True,
                    )
                    results[name].append(figures)
                    errors[name] += failed
                    if name in sizes and "uncached" not in name:
                        done = renders(cache, before, sizes[name])
                        requests = figures[0] * args.seconds
                        hits[name].append(1 - done / requests if requests else float("nan"))

        # Two servers of the application at a time: three would hold more connections than
        # a shared PostgreSQL allows (max_connections 100: 503 service_unavailable).
        start("ceiling", "benchmarks.http_apps:flask_app")
        start("queue")
        start("uncached", SIGNALE_DESK_QUEUE_CACHE_ENABLED="false")
        writer.start()
        targets = {
            "ceiling": f"http://127.0.0.1:{servers['ceiling'][1]}/healthz",
            "me": f"http://127.0.0.1:{servers['queue'][1]}/v1/me",
            "desks": f"http://127.0.0.1:{servers['queue'][1]}/v1/desks",
        }
        for name, view in views.items():
            targets[name] = api("queue") + view
            targets[f"{name}, uncached"] = api("uncached") + view
        # Two connections, one per worker: the latency of a page itself, without queueing.
        targets["page, c=2"] = targets["page"]
        targets["page, uncached, c=2"] = targets["page, uncached"]
        measure(targets)
        stop("uncached")
        start("redis only", SIGNALE_DESK_QUEUE_CACHE_LOCAL_BYTES="0")
        measure(
            {
                "page, LRU": api("queue") + views["page"],
                "page, redis only": api("redis only") + views["page"],
                "header, LRU": api("queue") + views["header"],
                "header, redis only": api("redis only") + views["header"],
            }
        )
    finally:
        writer.stop.set()
        for process, _ in servers.values():
            process.terminate()
        for process, _ in servers.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    load_after = os.getloadavg()
    answered = collections.Counter(
        match.group(1)
        for log in Path(logs.name).glob("*.log")
        for match in re.finditer(r'"status": (\d+)', log.read_text(errors="replace"))
    )
    logs.cleanup()

    def med(name, i):
        return statistics.median(r[i] for r in results[name])

    top = med("ceiling", 0)
    print(
        f"\nDesk queue: GET /v1/desks/{DESK}/queue, {rows:,} reports of which {total_open:,} "
        f"open ({page_pool:,} new or acknowledged at this desk); gunicorn 2 gthread workers, "
        f"wrk -t2 -c16 (unless said), {args.rounds} rounds x {args.seconds}s, medians; "
        f"{writer.changes:,} changes to the desk meanwhile ({args.changes:g}/s)"
    )
    print(f"  load average (1, 5, 15 min): before {load}, after {load_after}")
    print(f"  page: ?{PAGE.format(commune=DIJON)} (default sort: priority, then due date)")
    print(f"  statuses answered (access logs): {dict(answered)}")
    if any(errors.values()):
        print(f"  non-2xx or socket errors: {dict(+errors)}")
    print(f"{'target':<40}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'vs ceiling':>12}")
    print(f"{'minimal Flask JSON (ceiling)':<40}{top:>9,.0f}{'':>27}{1.0:>11.2f}x")
    for name, label in (
        ("me", "GET /v1/me (identity cached, no SQL)"),
        ("desks", "GET /v1/desks (token, identity, 1 read)"),
    ):
        print(
            f"{label:<40}{med(name, 0):>9,.0f}{med(name, 1):>9.1f}{med(name, 2):>9.1f}"
            f"{med(name, 3):>9.1f}{med(name, 0) / top:>11.2f}x"
        )
    print(
        "\nCached (app/worklists/cache.py) against uncached (the cache off: the path before it),"
        " same run"
    )
    print(
        f"{'view':<34}{'cached':>9}{'p50':>7}{'p95':>7}{'hits':>8}"
        f"{'uncached':>10}{'p50':>7}{'p95':>7}{'ratio':>8}"
    )
    for name, label in (
        ("page", "queue page, Dijon (the target)"),
        ("page, c=2", "queue page, Dijon, c=2"),
        ("page, small commune", "queue page, Chenôve"),
        ("counts", "counts, Dijon (filtered)"),
        ("header", "header, all open (default)"),
        ("header, counted", "header, open states reordered"),
    ):
        plain = name.replace(", c=2", ", uncached, c=2") if "c=2" in name else f"{name}, uncached"
        ratio = statistics.median(hits[name]) if hits.get(name) else float("nan")
        print(
            f"{label:<34}{med(name, 0):>9,.0f}{med(name, 1):>7.1f}{med(name, 2):>7.1f}"
            f"{ratio:>8.1%}{med(plain, 0):>10,.0f}{med(plain, 1):>7.1f}{med(plain, 2):>7.1f}"
            f"{med(name, 0) / med(plain, 0):>7.1f}x"
        )
    print(
        "\nPer-process LRU (then Redis) against Redis alone (every hit a Redis GET of the"
        " entry), interleaved after the above"
    )
    for name in ("page", "header"):
        mine, other = f"{name}, LRU", f"{name}, redis only"
        print(
            f"{name:<8}LRU {med(mine, 0):>6,.0f} req/s, p50 {med(mine, 1):.1f} ms, hits "
            f"{statistics.median(hits[mine]):.1%};  Redis only {med(other, 0):>6,.0f} req/s, "
            f"p50 {med(other, 1):.1f} ms, hits {statistics.median(hits[other]):.1%};  "
            f"{med(mine, 0) / med(other, 0):.2f}x"
        )
    print("\nFloor: statements alone through psycopg (no HTTP, Flask, auth, JSON)")
    print(
        f"{'statement':<40}{'stmt/s (2 conns)':>17}{'p50 ms':>9}{'p95 ms':>9}{'uncached/floor':>15}"
    )
    for key, name, label in (
        (DIJON, "page, uncached", f"page SQL, {DIJON}"),
        (CHENOVE, "page, small commune, uncached", f"page SQL, {CHENOVE}"),
        ("no index", "header, counted, uncached", "header SQL, counted, without its index"),
        (False, "header, counted, uncached", "header SQL, counted"),
        (True, "header, uncached", "header SQL, counters"),
        ("version", "page", "cache hit: the desk's version"),
    ):
        median_ms, p95_ms, per_second = floors[key]
        print(
            f"{label:<40}{per_second:>17,.0f}{median_ms:>9.2f}{p95_ms:>9.2f}"
            f"{med(name, 0) / per_second:>14.2f}x"
        )
    rps = med("header", 0)
    print(
        f"Target (issue 19): the default header at least 500 requests/s -> {rps:,.0f} req/s "
        f"({'met' if rps >= 500 else 'NOT met'}), {rps / med('header, uncached', 0):.1f}x "
        "uncached"
    )
    p95, rps = med("page", 2), med("page", 0)
    print(
        f"Target (issue 19): page p95 under 30 ms and at least 800 requests/s -> p95 "
        f"{p95:.1f} ms ({'met' if p95 < 30 else 'NOT met'}), {rps:,.0f} req/s "
        f"({'met' if rps >= 800 else 'NOT met'}), {rps / med('page, uncached', 0):.1f}x uncached"
    )


if __name__ == "__main__":
    main()
