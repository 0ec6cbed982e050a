"""Report intake: POST /v1/reports (JSON, no photo) through gunicorn, with 1,000,000
reports already in the database, against the minimal Flask JSON endpoint (the ceiling)
measured in the same run.

Uses the benchmarks' database (`signale_bench`, see benchmarks/dataset.py: 1M reports, 100k
assets, 60 crews, 200 routing rules), filled once and kept between runs. Rate limits are off
(one token sends everything). Two loads: as fast as the machine allows, and about 300 reports/s.

    make bench            # or: python benchmarks/bench_intake.py [--rows N]
"""

import argparse
import random
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import dataset, intake_floor  # noqa: E402
from benchmarks.bench_http_ceiling import ensure_wrk, free_port, serve  # noqa: E402
from tools.pg import libpq_url  # noqa: E402


def wrk_run(wrk, url, *, connections, seconds, env, script=None, delay_ms=0, timeout_s=2):
    command = [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_s}s"]
    command.append("--latency")
    if script:
        command += ["-s", str(script)]
    out = subprocess.run(
        [*command, url],
        capture_output=True,
        text=True,
        check=True,
        env={**env, "DELAY_MS": str(delay_ms)},
    ).stdout
    if script:
        line = next(row for row in out.splitlines() if row.startswith("RESULT"))
        requests, bad_status, socket_errors, micros, p50, p95, p99 = map(float, line.split()[1:])
        if bad_status or socket_errors:
            raise SystemExit(
                f"errors under load ({bad_status:.0f} non-2xx, {socket_errors:.0f} socket):\n{out}"
            )
        return requests / (micros / 1e6), p50 / 1000, p95 / 1000, p99 / 1000
    rps = float(next(row for row in out.splitlines() if "Requests/sec" in row).split()[1])
    return rps, None, None, None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="gunicorn gthread workers for the intake (requests wait on SQL)",
    )
    args = parser.parse_args()
    wrk = ensure_wrk()
    env = dataset.bench_env()
    sizes = dataset.prepare(env, args.rows)
    rows = sizes["reports"]
    # The floor: the SQL of 300 real submissions (as intake.lua sends them), replayed.
    rnd = random.Random(1)
    transactions = intake_floor.capture(
        env,
        300,
        lambda i: {
            "category": "pothole",
            "location": {"lon": 5.00 + rnd.random() * 0.07, "lat": 47.30 + rnd.random() * 0.04},
            "answers": {"size": "small"},
            "description": "Nid-de-poule (benchmark)",
        },
    )

    servers = {}
    try:
        for name, app_path, workers in (
            ("ceiling", "benchmarks.http_apps:flask_app", 2),
            ("intake", "wsgi:app", args.workers),
        ):
            port = free_port()
            servers[name] = (serve(app_path, port, env, workers), port)
        ceiling_url = f"http://127.0.0.1:{servers['ceiling'][1]}/healthz"
        intake_url = f"http://127.0.0.1:{servers['intake'][1]}/v1/reports"
        script = ROOT / "benchmarks" / "intake.lua"
        ceiling, full, paced, floor = [], [], [], []
        for _ in range(args.rounds):
            ceiling.append(wrk_run(wrk, ceiling_url, connections=16, seconds=args.seconds, env=env))
            floor.append(
                intake_floor.replay(
                    libpq_url(env["DATABASE_URL"]),
                    transactions,
                    connections=16,
                    seconds=args.seconds,
                )
            )
            full.append(
                wrk_run(
                    wrk, intake_url, connections=16, seconds=args.seconds, env=env, script=script
                )
            )
            # 16 connections pausing 48 ms after each response: about 300 requests/s while a
            # report takes ~5 ms (the achieved rate is printed: it falls when latency grows).
            paced.append(
                wrk_run(
                    wrk,
                    intake_url,
                    connections=16,
                    seconds=args.seconds,
                    env=env,
                    script=script,
                    delay_ms=48,
                )
            )
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)

    def med(runs, i):
        return statistics.median(r[i] for r in runs)

    top = med(ceiling, 0)
    print(
        f"\nReport intake: POST /v1/reports with {rows:,} reports in the database; gunicorn "
        f"{args.workers} gthread workers (ceiling: 2), wrk -t2, {args.rounds} rounds x "
        f"{args.seconds}s, medians"
    )
    print(f"{'load':<42}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'vs ceiling':>12}")
    print(f"{'minimal Flask JSON (ceiling), c=16':<42}{top:>9,.0f}{'':>27}{1.0:>11.2f}x")
    for label, runs in (
        ("intake's SQL replayed by psycopg, c=16", floor),
        ("intake, as fast as possible, c=16", full),
        ("intake, paced ~300/s, c=16", paced),
    ):
        print(
            f"{label:<42}{med(runs, 0):>9,.0f}{med(runs, 1):>9.1f}{med(runs, 2):>9.1f}"
            f"{med(runs, 3):>9.1f}{med(runs, 0) / top:>11.2f}x"
        )
    print(f"intake as fast as possible / its SQL alone: {med(full, 0) / med(floor, 0):.0%}")


if __name__ == "__main__":
    main()
