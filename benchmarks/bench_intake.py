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
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

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


def wrk_run(
    wrk,
    url,
    *,
    connections,
    seconds,
    env,
    script=None,
    delay_ms=0,
    timeout_s=2,
    allow_errors=False,
):
    """req/s, p50, p95, p99 (ms) of a wrk run; with ``allow_errors``, also the count of
    non-2xx answers and socket errors (else they stop the benchmark)."""
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
        if (bad_status or socket_errors) and not allow_errors:
            raise SystemExit(
                f"errors under load ({bad_status:.0f} non-2xx, {socket_errors:.0f} socket):\n{out}"
            )
        figures = requests / (micros / 1e6), p50 / 1000, p95 / 1000, p99 / 1000
        return (*figures, bad_status + socket_errors) if allow_errors else figures
    rps = float(next(row for row in out.splitlines() if "Requests/sec" in row).split()[1])
    return rps, None, None, None


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) process ``pid`` used so far, 0 if gone (Linux's /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def workers_of(master: int) -> list[int]:
    """gunicorn's worker processes (the master's children)."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()]


def backends(url: str) -> tuple[list[int], int]:
    """The server processes of the benchmark's database, and how many connections it has
    accepted so far (a new one costs a process, and has no prepared statements yet)."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [
            pid
            for (pid,) in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
        ]
        sessions = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]
    return pids, sessions


def measured(load, master: int, url: str) -> tuple:
    """``load()``'s figures, then the CPU ms per request of gunicorn's workers and of the
    database's server processes (those ending during the load are missed), and the
    connections opened per 1,000 requests."""
    workers = workers_of(master)
    pids, sessions = backends(url)
    python = sum(cpu_seconds(pid) for pid in workers)
    database = {pid: cpu_seconds(pid) for pid in pids}
    begun = time.monotonic()
    figures = load()
    requests = max(1.0, figures[0] * (time.monotonic() - begun))
    python = sum(cpu_seconds(pid) for pid in workers) - python
    pids, opened = backends(url)
    database = sum(cpu_seconds(pid) - database.get(pid, 0.0) for pid in pids)
    return (
        *figures,
        python / requests * 1000,
        database / requests * 1000,
        (opened - sessions) / requests * 1000,
    )


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
    database = libpq_url(env["DATABASE_URL"])

    servers = {}
    logs_dir = tempfile.mkdtemp(prefix="signale-bench-intake-")
    logs: dict[str, Path] = {}
    try:
        port = free_port()
        servers["ceiling"] = (serve("benchmarks.http_apps:flask_app", port, env, 2, QUIET), port)
        for model in models:
            processes, options = MODELS[model]
            port = free_port()
            logs[model] = Path(logs_dir) / f"{model}.log"
            # Each model's pools sized to wrk's 16 connections in all: the shared server
            # has 100 connections for everyone (app.config: DATABASE_POOL_SIZE).
            pool = str(max(1, 16 // processes))
            pooled = {
                **env,
                "SIGNALE_DATABASE_POOL_SIZE": pool,
                "SIGNALE_DATABASE_POOL_OVERFLOW": pool,
            }
            servers[model] = (
                serve("wsgi:app", port, pooled, processes, (*options, *QUIET), logs[model]),
                port,
            )
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
                    database,
                    transactions,
                    connections=16,
                    seconds=args.seconds,
                )
            )
            for model in models:
                url = base[model] + "/v1/reports"
                results[(model, "full")].append(
                    measured(
                        lambda url=url: wrk_run(
                            wrk,
                            url,
                            connections=16,
                            seconds=args.seconds,
                            env=env,
                            script=intake_script,
                            allow_errors=True,
                            timeout_s=10,
                        ),
                        servers[model][0].pid,
                        database,
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
                        allow_errors=True,
                        timeout_s=10,
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
                        allow_errors=True,
                        timeout_s=10,
                    )
                )
    finally:
        for process, _ in servers.values():
            process.terminate()
        for process, _ in servers.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def med(key, i):
        return statistics.median(r[i] for r in results[key])

    top, floor = med("ceiling", 0), med("floor", 0)
    print(
        f"\nReport intake: POST /v1/reports with {rows:,} reports in the database; wrk -t2, "
        f"{args.rounds} rounds x {args.seconds}s, every target once per round in turn, medians "
        f"({os.cpu_count()} cores shared with other work: compare within this run)"
    )
    print(
        f"{'load':<46}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'vs floor':>10}"
        f"{'failed':>8}"
    )
    print(f"{'minimal Flask JSON (ceiling), 2 gthread, c=16':<46}{top:>9,.0f}")
    print(
        f"{'floor: intake SQL by pgbench, c=16':<46}{floor:>9,.0f}{med('floor', 1):>9.1f}"
        f"{med('floor', 2):>9.1f}{med('floor', 3):>9.1f}{1:>9.0%}"
    )
    print(f"  ({statements + 2:.0f} round trips per report, BEGIN and COMMIT included)")
    for model in models:
        processes, _ = MODELS[model]
        for kind, label in (
            ("full", "intake, as fast as possible, c=16"),
            ("paced", "intake, paced ~300/s, c=32"),
            ("queue", "queue page, c=16"),
        ):
            key = (model, kind)
            ratio = f"{med(key, 0) / floor:>9.0%}" if kind == "full" else ""
            failed = sum(r[4] for r in results[key])
            print(
                f"{model + ': ' + label:<46}{med(key, 0):>9,.0f}{med(key, 1):>9.1f}"
                f"{med(key, 2):>9.1f}{med(key, 3):>9.1f}{ratio:>10}{failed:>8.0f}"
            )
    print(
        "\nCPU per report as fast as possible (ms; gunicorn's workers, the database's server"
        " processes), and new database connections per 1,000 reports:"
    )
    for model in models:
        key = (model, "full")
        print(
            f"  {model:<10} Python {med(key, 5):5.2f}  PostgreSQL {med(key, 6):5.2f}  "
            f"connections {med(key, 7):6.1f}"
        )
    for model in models:
        errors = sum(r[4] for kind in ("full", "paced", "queue") for r in results[(model, kind)])
        if errors:
            # The non-2xx answers, from the server's JSON access lines (a socket error or a
            # timeout has none).
            seen = [
                line
                for line in logs[model].read_text(errors="replace").splitlines()
                if '"status": ' in line and not re.search(r'"status": 2\d\d', line)
            ]
            print(f"  {model}: {errors:.0f} failed requests; the server's non-2xx lines:")
            for line in seen[:5]:
                print(f"    {line[:300]}")
    shutil.rmtree(logs_dir, ignore_errors=True)
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
