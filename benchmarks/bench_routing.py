"""Routing cost, on the benchmarks' database (1,000,000 reports, 100,000 assets, 23
communes, 60 crews, 200 routing rules: see benchmarks/dataset.py).

Three measures in one run:
- the routing step alone, in-process: `app.routing.intake.route` (commune, desk, asset,
  duplicate, crew, priority and the explanation) on random points, median and p95;
- its floor: the same SQL statement, with the same parameters, run by psycopg directly;
- intake through gunicorn (as benchmarks/bench_intake.py) with routing, and with it
  switched off (SIGNALE_ROUTING_ENABLED=false: category and commune only), alternating.

    make bench            # or: python benchmarks/bench_routing.py [--points N]
"""

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.routing import intake as routing  # noqa: E402
from benchmarks import dataset  # noqa: E402
from benchmarks.bench_http_ceiling import ensure_wrk, free_port, serve  # noqa: E402
from benchmarks.bench_intake import wrk_run  # noqa: E402
from tools.pg import libpq_url  # noqa: E402

# What residents report most, with equipment-tied categories among them.
CATEGORIES = ("pothole", "streetlight_out", "traffic_light_fault", "illegal_dumping", "graffiti")


def points(count: int, seed: int = 1) -> list[tuple[str, float, float]]:
    """Random (category, lon, lat) in central Dijon, where most reports and assets are."""
    rnd = random.Random(seed)
    return [
        (rnd.choice(CATEGORIES), 5.00 + rnd.random() * 0.07, 47.30 + rnd.random() * 0.04)
        for _ in range(count)
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def in_process(env: dict, sample: list) -> list[float]:
    """Milliseconds per `route` call, inside one read-only transaction."""
    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "LOG_LEVEL": "WARNING"})
    times = []
    with app.app_context():
        session = db.session
        for code, lon, lat in sample[:200]:  # warm-up: plans, caches, pool
            routing.route(session, code, lon, lat)
        for code, lon, lat in sample:
            start = time.perf_counter()
            routing.route(session, code, lon, lat)
            times.append((time.perf_counter() - start) * 1000)
        session.rollback()
        db.engine.dispose()
    return times


def raw_sql(env: dict, sample: list) -> list[float]:
    """Milliseconds per execution of the same statement by psycopg, with no ORM around it."""
    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "LOG_LEVEL": "WARNING"})
    with app.app_context():
        dialect = db.engine.dialect
    at = datetime.now(UTC)
    times = []
    with psycopg.connect(libpq_url(env["DATABASE_URL"])) as conn:
        conn.execute(routing._GENERIC_PLANS.text)  # as route() does, once for the session
        # SQL text and parameters ready beforehand: only the execution is timed.
        statements = [
            routing.lookup_statement(code, lon, lat, at)
            .compile(dialect=dialect)
            .construct_expanded_state()
            for code, lon, lat in sample
        ]
        for state in statements[:200]:
            conn.execute(state.statement, state.parameters).fetchone()
        for state in statements:
            start = time.perf_counter()
            conn.execute(state.statement, state.parameters).fetchone()
            times.append((time.perf_counter() - start) * 1000)
        conn.rollback()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=3000)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = dataset.bench_env()
    sizes = dataset.prepare(env)
    sample = points(args.points)

    step, floor = [], []
    for _ in range(args.rounds):  # alternating, so that both see the same machine
        step.append(in_process(env, sample))
        floor.append(raw_sql(env, sample))

    wrk = ensure_wrk()
    servers = {}
    try:
        for name, enabled in (("routed", "true"), ("unrouted", "false")):
            port = free_port()
            servers[name] = (
                serve("wsgi:app", port, {**env, "SIGNALE_ROUTING_ENABLED": enabled}),
                port,
            )
        script = ROOT / "benchmarks" / "intake.lua"
        loads = {"routed": [], "unrouted": []}
        for _ in range(args.rounds):
            for name in ("unrouted", "routed"):
                url = f"http://127.0.0.1:{servers[name][1]}/v1/reports"
                loads[name].append(
                    wrk_run(wrk, url, connections=16, seconds=args.seconds, env=env, script=script)
                )
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)

    def summary(runs: list[list[float]]) -> tuple[float, float]:
        return (
            statistics.median(statistics.median(r) for r in runs),
            statistics.median(percentile(r, 0.95) for r in runs),
        )

    step_p50, step_p95 = summary(step)
    floor_p50, floor_p95 = summary(floor)
    print(
        f"\nRouting with {sizes['reports']:,} reports, {sizes['assets']:,} assets, "
        f"{sizes['communes']} communes, {sizes['crews']} crews, {sizes['routing_rules']} rules; "
        f"{args.points:,} random points x {args.rounds} rounds, medians of the rounds"
    )
    print(f"{'routing step':<52}{'p50 ms':>9}{'p95 ms':>9}{'p50 vs floor':>14}")
    print(
        f"{'in-process: routing.route() (SQLAlchemy + Python)':<52}{step_p50:>9.2f}"
        f"{step_p95:>9.2f}{step_p50 / floor_p50:>13.2f}x"
    )
    print(f"{'floor: the same SQL by psycopg':<52}{floor_p50:>9.2f}{floor_p95:>9.2f}{1.0:>13.2f}x")
    routed = statistics.median(r[0] for r in loads["routed"])
    unrouted = statistics.median(r[0] for r in loads["unrouted"])
    print(
        f"\nIntake POST /v1/reports, gunicorn 2 gthread workers, wrk -t2 -c16, {args.rounds} x "
        f"{args.seconds}s alternating, medians"
    )
    print(f"{'intake':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs unrouted':>13}")
    for name, label in (("unrouted", "routing switched off"), ("routed", "with routing")):
        runs = loads[name]
        rate = statistics.median(r[0] for r in runs)
        print(
            f"{label:<34}{rate:>9,.0f}{statistics.median(r[1] for r in runs):>9.1f}"
            f"{statistics.median(r[3] for r in runs):>9.1f}{rate / unrouted:>12.2f}x"
        )
    print(f"with routing / without: {routed / unrouted:.0%}")


if __name__ == "__main__":
    main()
