"""Report intake: POST /v1/reports (JSON, no photo) through gunicorn, with 1,000,000
reports already in the database, for several gunicorn worker models, against two baselines
measured in the same run:

- the ceiling: the minimal Flask JSON endpoint through gunicorn (2 gthread workers);
- the floor: intake's own SQL (the statements of real submissions, captured with their
  parameters) replayed by pgbench, without HTTP, Flask or our Python (intake_floor.py).

For each worker model: intake as fast as the machine allows (16 connections), intake paced
at about 300 reports/s (32 connections, each pausing 100 ms after a response: the achieved
rate is printed, it falls when latency grows), and the desk queue page (the one
bench_queue.py measures, on this database) to choose the model for both.

Uses its own database (`signale_bench_intake`, BENCH_DATABASE names another; built by
benchmarks/dataset.py: 1M reports, 100k assets, 60 crews, 200 routing rules), filled once
and kept between runs. Rate limits are off (one token sends everything). Every round runs
every target once, in turn, so that the noise of the shared machine spreads over all.

    make bench            # or: python benchmarks/bench_intake.py [--rows N] [--models ...]
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.tokens import mint_emulator_token  # noqa: E402
from benchmarks import dataset, intake_floor  # noqa: E402
from benchmarks.bench_http_ceiling import ensure_wrk, free_port, serve  # noqa: E402
from tools.pg import libpq_url  # noqa: E402

# gunicorn worker models: name -> (processes, command-line options over gunicorn_conf.py).
# A sync worker needs --threads 1: with more, gunicorn runs gthread instead. No control
# socket: every gunicorn on the machine would share its default path.
MODELS = {
    "gthread-2": (2, ("--worker-class", "gthread", "--threads", "116")),
    "gthread-4": (4, ("--worker-class", "gthread", "--threads", "116")),
    "sync-2": (2, ("--worker-class", "sync", "--threads", "1")),
    "sync-4": (4, ("--worker-class", "sync", "--threads", "1")),
}
QUIET = ("--no-control-socket",)
DEFAULT_MODELS = "gthread-2,gthread-4,sync-2,sync-4"
QUEUE_AGENT = "bench-agent"
QUEUE_PAGE = "/v1/desks/voirie/queue?status=new&status=acknowledged&commune=21231&limit=50"
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


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


def submission(rnd: random.Random):
    """A report as intake.lua sends them: a pothole somewhere in central Dijon."""
    return lambda i: {
        "category": "pothole",
        "location": {"lon": 5.00 + rnd.random() * 0.07, "lat": 47.30 + rnd.random() * 0.04},
        "answers": {"size": "small"},
        "description": "Nid-de-poule (benchmark)",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--models", default=DEFAULT_MODELS, help=f"among {', '.join(MODELS)} (comma-separated)"
    )
    args = parser.parse_args()
    models = [name for name in args.models.split(",") if name]
    wrk = ensure_wrk()
    env = dataset.bench_env()
    sizes = dataset.prepare(env, args.rows)
    rows = sizes["reports"]
    subprocess.run(
        [*FLASK, "users", "set", QUEUE_AGENT, "--role", "agent", "--desk", "voirie"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    queue_env = {
        **env,
        "SIGNALE_TOKEN": mint_emulator_token(dataset.PROJECT, QUEUE_AGENT, lifetime_seconds=3600),
    }
    # The floor: the SQL of 50 real submissions (as intake.lua sends them), replayed.
    transactions = intake_floor.capture(env, 50, submission(random.Random(1)))
    statements = statistics.median(len(t) for t in transactions)

    servers = {}
    try:
        port = free_port()
        servers["ceiling"] = (serve("benchmarks.http_apps:flask_app", port, env, 2, QUIET), port)
        for model in models:
            processes, options = MODELS[model]
            port = free_port()
            servers[model] = (serve("wsgi:app", port, env, processes, (*options, *QUIET)), port)
        base = {name: f"http://127.0.0.1:{port}" for name, (_, port) in servers.items()}
        intake_script = ROOT / "benchmarks" / "intake.lua"
        queue_script = ROOT / "benchmarks" / "queue.lua"
        results: dict[str, list] = {"ceiling": [], "floor": []}
        for model in models:
            results.update({(model, "full"): [], (model, "paced"): [], (model, "queue"): []})
        for _ in range(args.rounds):
            results["ceiling"].append(
                wrk_run(
                    wrk, base["ceiling"] + "/healthz", connections=16, seconds=args.seconds, env=env
                )
            )
            results["floor"].append(
                intake_floor.pgbench(
                    libpq_url(env["DATABASE_URL"]),
                    transactions,
                    connections=16,
                    seconds=args.seconds,
                )
            )
            for model in models:
                url = base[model] + "/v1/reports"
                results[(model, "full")].append(
                    wrk_run(
                        wrk,
                        url,
                        connections=16,
                        seconds=args.seconds,
                        env=env,
                        script=intake_script,
                    )
                )
                # 32 connections pausing 100 ms after each response: ~300 requests/s while a
                # report takes a few ms.
                results[(model, "paced")].append(
                    wrk_run(
                        wrk,
                        url,
                        connections=32,
                        seconds=args.seconds,
                        env=env,
                        script=intake_script,
                        delay_ms=100,
                    )
                )
                results[(model, "queue")].append(
                    wrk_run(
                        wrk,
                        base[model] + QUEUE_PAGE,
                        connections=16,
                        seconds=args.seconds,
                        env=queue_env,
                        script=queue_script,
                    )
                )
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)

    def med(key, i):
        return statistics.median(r[i] for r in results[key])

    top, floor = med("ceiling", 0), med("floor", 0)
    print(
        f"\nReport intake: POST /v1/reports with {rows:,} reports in the database; wrk -t2, "
        f"{args.rounds} rounds x {args.seconds}s, every target once per round in turn, medians "
        f"({os.cpu_count()} cores shared with other work: compare within this run)"
    )
    print(f"{'load':<46}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'vs floor':>10}")
    print(f"{'minimal Flask JSON (ceiling), 2 gthread, c=16':<46}{top:>9,.0f}")
    print(
        f"{'floor: intake SQL by pgbench, c=16':<46}{floor:>9,.0f}{med('floor', 1):>9.1f}"
        f"{med('floor', 2):>9.1f}{med('floor', 3):>9.1f}{1:>9.0%}"
    )
    print(f"  ({statements:.0f} statements per report, BEGIN and COMMIT included)")
    for model in models:
        processes, _ = MODELS[model]
        for kind, label in (
            ("full", "intake, as fast as possible, c=16"),
            ("paced", "intake, paced ~300/s, c=32"),
            ("queue", "queue page, c=16"),
        ):
            key = (model, kind)
            ratio = f"{med(key, 0) / floor:>9.0%}" if kind == "full" else ""
            print(
                f"{model + ': ' + label:<46}{med(key, 0):>9,.0f}{med(key, 1):>9.1f}"
                f"{med(key, 2):>9.1f}{med(key, 3):>9.1f}{ratio:>10}"
            )
    best = max(models, key=lambda m: med((m, "full"), 0))
    rps, p99 = med((best, "full"), 0), med((best, "paced"), 3)
    print(
        f"\nTargets (issue 19), best model for intake {best}: at least 500 reports/s -> "
        f"{rps:,.0f} ({'met' if rps >= 500 else 'NOT met'}); p99 under 100 ms at ~300/s -> "
        f"{p99:.1f} ms at {med((best, 'paced'), 0):,.0f}/s "
        f"({'met' if p99 < 100 else 'NOT met'}); at least 80% of the SQL floor -> "
        f"{rps / floor:.0%} ({'met' if rps >= 0.8 * floor else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
