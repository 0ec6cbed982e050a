"""Open311 list: GET /open311/v2/requests.json, a page of 1000 (the spec's defaults: the
last 90 days, newest first), through gunicorn, with the 1,000,000 reports of
`signale_bench`, cold (OPEN311_CACHE_ENABLED off: every GET builds its page, the SQL path)
and warm (the server-side cache of app/open311/cache.py: a GET reads the data version and
the page from Redis; the default window moves by the minute, so a page is built again once
a minute, counted in), against two baselines measured in the same run:

- the ceiling: the minimal Flask JSON endpoint through the same gunicorn (2 gthread workers);
- the floor: the SQL the endpoint sends for that page (recorded in-process, every
  statement of the request), replayed by psycopg alone: one connection for latency, two for
  throughput, as two workers would; without HTTP, Flask or any Python of ours.

Also measured, for the record: a filtered page (status=open&service_code=pothole) and the
same default page in XML. ``--profile`` also prints where an in-process request spends
its time (cProfile, the functions of most own time).

`signale_bench` is filled on the first run (benchmarks/dataset.py, a few minutes) and kept.
A database already filled is used as it is, without `prepare` (which would migrate the
shared database to this branch's head): the list's indexes (app/open311/models.py) are
created if missing, as their migration does.

    make bench            # or: python benchmarks/bench_open311.py [--seconds S] [--profile]
"""

import argparse
import cProfile
import io
import pstats
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import dataset  # noqa: E402
from benchmarks.bench_http_ceiling import ensure_wrk, free_port, serve  # noqa: E402
from benchmarks.bench_intake import wrk_run  # noqa: E402
from tools.pg import libpq_url  # noqa: E402

PAGE = "/open311/v2/requests.json"
TARGETS = {
    "page": PAGE,
    "page, c=2": PAGE,
    "filtered": PAGE + "?status=open&service_code=pothole",
    "xml": "/open311/v2/requests.xml",
}
TARGET_RPS = 200
# A page can take seconds on a loaded machine: wrk's default 2 s would count it as an error.
TIMEOUT_S = 60


def _app(env: dict):
    from app import create_app

    # Cold: the statements recorded and profiled are the page's, not a cache hit's.
    return create_app(
        {
            "DATABASE_URL": env["DATABASE_URL"],
            "LOG_LEVEL": "WARNING",
            "OPEN311_CACHE_ENABLED": False,
        }
    )


def ensure_indexes(env: dict) -> None:
    """The list's indexes on the shared database, as their migration creates them."""
    from sqlalchemy.schema import CreateIndex

    from app.extensions import db
    from app.open311 import models

    app = _app(env)
    with app.app_context():
        for index in getattr(models, "LIST_INDEXES", ()):
            db.session.execute(CreateIndex(index, if_not_exists=True))
        db.session.commit()
        db.session.execute(db.text("ANALYZE reports"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def capture(env: dict, path: str) -> list[tuple[str, dict]]:
    """Every statement one GET of ``path`` sends to PostgreSQL, with its parameters."""
    from sqlalchemy import event

    from app.extensions import db

    app = _app(env)
    statements: list[tuple[str, dict]] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, dict(parameters or {})))

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = app.test_client().get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.get_data(as_text=True)}")
    finally:
        event.remove(engine, "before_cursor_execute", record)
        engine.dispose()
    return statements


def sql_floor(url: str, statements, seconds: float) -> tuple[float, float, float]:
    """(median ms, p95 ms) on one connection, and pages/s on two in parallel."""

    def page(conn) -> None:
        with conn.transaction():
            for sql, params in statements:
                cursor = conn.execute(sql, params or None)
                if cursor.description:
                    cursor.fetchall()

    timings = []
    with psycopg.connect(url) as conn:
        page(conn)  # pages warm
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            page(conn)
            timings.append((time.perf_counter() - start) * 1000)
    counts = [0, 0]

    def hammer(slot: int) -> None:
        with psycopg.connect(url) as conn:
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                page(conn)
                counts[slot] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95)], sum(counts) / seconds


def profile(env: dict, path: str, requests: int = 30) -> str:
    """Where in-process GETs of ``path`` spend their time (own time, top 20)."""
    app = _app(env)
    client = app.test_client()
    client.get(path)  # warm: imports, connection, plans
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(path)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
    out.write(f"{requests} in-process GETs of {path}\n")
    stats.print_stats(20)
    return out.getvalue()


def stop(server: subprocess.Popen) -> None:
    """Stop a gunicorn: gracefully, then for good (a slow page outlives its grace time)."""
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(10)


def same_page(cold: str, warm: str) -> None:
    """The warm server's page, from its cache, is the cold server's byte for byte."""
    for _ in range(2):  # the first fills the cache
        with urllib.request.urlopen(warm, timeout=TIMEOUT_S) as response:
            cached = response.read()
    with urllib.request.urlopen(cold, timeout=TIMEOUT_S) as response:
        if response.read() != cached:
            raise SystemExit("the cached page differs from the page built afresh")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also print a cProfile")
    args = parser.parse_args()
    wrk = ensure_wrk()
    env = dataset.bench_env(LOG_LEVEL="WARNING")
    url = libpq_url(env["DATABASE_URL"])
    with psycopg.connect(url) as conn:
        filled = conn.execute("SELECT to_regclass('reports') IS NOT NULL").fetchone()[0]
        have = conn.execute("SELECT count(*) FROM reports").fetchone()[0] if filled else 0
    if have < dataset.REPORTS:
        have = dataset.prepare(env)["reports"]
    ensure_indexes(env)
    statements = capture(env, PAGE)
    floor = sql_floor(url, statements, seconds=args.seconds / 2)
    if args.profile:
        print(profile(env, PAGE))

    script = ROOT / "benchmarks" / "open311.lua"
    servers = {}
    try:
        for name, app_path, app_env in (
            ("ceiling", "benchmarks.http_apps:flask_app", env),
            ("cold", "wsgi:app", {**env, "SIGNALE_OPEN311_CACHE_ENABLED": "false"}),
            ("warm", "wsgi:app", {**env, "SIGNALE_OPEN311_CACHE_ENABLED": "true"}),
        ):
            port = free_port()
            servers[name] = (serve(app_path, port, app_env), port)
        same_page(*(f"http://127.0.0.1:{servers[c][1]}{PAGE}" for c in ("cold", "warm")))
        targets = {"ceiling": f"http://127.0.0.1:{servers['ceiling'][1]}/healthz"}
        for cache in ("cold", "warm"):
            base = f"http://127.0.0.1:{servers[cache][1]}"
            targets.update({f"{cache} {name}": base + path for name, path in TARGETS.items()})
        results = {name: [] for name in targets}
        for _ in range(args.rounds):  # interleaved: noise of the shared machine spreads
            for name, target in targets.items():
                # Two connections, one per worker: a page's latency without queueing.
                connections = 2 if name.endswith("c=2") else 16
                results[name].append(
                    wrk_run(
                        wrk,
                        target,
                        connections=connections,
                        seconds=args.seconds,
                        env=env,
                        script=script,
                        timeout_s=TIMEOUT_S,
                    )
                )
    finally:
        for process, _ in servers.values():
            stop(process)

    def med(name, i):
        return statistics.median(r[i] for r in results[name])

    top = med("ceiling", 0)
    floor_ms, floor_p95, floor_rps = floor
    print(
        f"\nOpen311 list: GET {PAGE} (page of 1000, last 90 days), {have:,} reports; gunicorn "
        f"2 gthread workers, wrk -t2 -c16 (unless said), {args.rounds} rounds x {args.seconds}s, "
        "medians"
    )
    print(f"{'target':<50}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'vs ceiling':>12}")
    print(f"{'minimal Flask JSON (ceiling)':<50}{top:>9,.0f}{'':>27}{1.0:>11.2f}x")
    print(
        f"{'the page SQL alone, psycopg (floor)':<50}{floor_rps:>9,.1f}{floor_ms:>9.1f}"
        f"{floor_p95:>9.1f}{'':>9}{floor_rps / top:>11.3f}x"
    )
    for cache in ("cold", "warm"):
        for name, label in (
            ("page", "requests.json, page of 1000 (the target)"),
            ("page, c=2", "requests.json, page of 1000, c=2"),
            ("filtered", "requests.json?status=open&service_code=pothole"),
            ("xml", "requests.xml, page of 1000"),
        ):
            key = f"{cache} {name}"
            print(
                f"{cache + ': ' + label:<50}{med(key, 0):>9,.1f}{med(key, 1):>9.1f}"
                f"{med(key, 2):>9.1f}{med(key, 3):>9.1f}{med(key, 0) / top:>11.3f}x"
            )
    cold_rps, warm_rps = med("cold page", 0), med("warm page", 0)
    print(
        f"cold page vs its SQL alone: {cold_rps / floor_rps:.0%}; "
        f"warm vs cold: {warm_rps / cold_rps:.1f}x"
    )
    for cache, rps in (("cold", cold_rps), ("warm", warm_rps)):
        met = "met" if rps >= TARGET_RPS else "NOT met"
        print(f"target (issue 8) at least {TARGET_RPS} requests/s, {cache}: {rps:,.0f} ({met})")


if __name__ == "__main__":
    main()
