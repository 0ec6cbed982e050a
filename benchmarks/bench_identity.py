"""Fixed cost per request: GET /v1/me (verify the ID token, know the caller) through
gunicorn, with the identity cache (app/auth/cache.py, the default) and without it
(IDENTITY_CACHE_SECONDS=0: one round trip to PostgreSQL, with its transaction, per
request), against the minimal Flask JSON endpoint measured in the same run (issue 19's
target: GET /v1/me at least 40% of it).

Each target is served by gunicorn (2 gthread workers, make run's configuration) and loaded
by wrk (2 threads, 16 connections), ROUNDS rounds of SECONDS seconds interleaved so that the
shared machine's noise spreads over all of them. Medians.

    make bench            # or: python benchmarks/bench_identity.py [--rounds N] [--seconds S]
"""

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.tokens import mint_emulator_token  # noqa: E402
from benchmarks import dataset  # noqa: E402
from benchmarks.bench_http_ceiling import ensure_wrk, free_port, serve  # noqa: E402
from benchmarks.bench_intake import wrk_run  # noqa: E402

AGENT = "bench-identity-agent"
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
SCRIPT = ROOT / "benchmarks" / "queue.lua"  # GET with the bearer token, percentiles


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    args, _ = parser.parse_known_args()
    wrk = ensure_wrk()
    env = {
        **os.environ,
        "FIREBASE_AUTH_EMULATOR_HOST": os.environ.get(
            "FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099"
        ),
        "PYTHONPATH": str(ROOT),
        "SIGNALE_TOKEN": mint_emulator_token(dataset.PROJECT, AGENT, lifetime_seconds=3600),
        "FIREBASE_PROJECT_ID": dataset.PROJECT,
    }
    subprocess.run(
        [*FLASK, "users", "set", AGENT, "--role", "agent", "--desk", "voirie"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    uncached = {**env, "SIGNALE_IDENTITY_CACHE_SECONDS": "0"}
    servers = {}
    try:
        for name, app_path, server_env in (
            ("ceiling", "benchmarks.http_apps:flask_app", env),
            ("cached", "wsgi:app", env),
            ("uncached", "wsgi:app", uncached),
        ):
            port = free_port()
            servers[name] = (serve(app_path, port, server_env), port)
        urls = {
            "ceiling": f"http://127.0.0.1:{servers['ceiling'][1]}/healthz",
            "cached": f"http://127.0.0.1:{servers['cached'][1]}/v1/me",
            "uncached": f"http://127.0.0.1:{servers['uncached'][1]}/v1/me",
        }
        results = {name: [] for name in urls}
        for _ in range(args.rounds):
            for name, url in urls.items():
                results[name].append(
                    wrk_run(wrk, url, connections=16, seconds=args.seconds, env=env, script=SCRIPT)
                )
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)

    def med(name, i):
        return statistics.median(run[i] for run in results[name])

    top = med("ceiling", 0)
    print(
        f"\nFixed cost per request: GET /v1/me through gunicorn (2 gthread workers), wrk -t2 "
        f"-c16, {args.rounds} rounds x {args.seconds}s, medians, {os.cpu_count()} cores"
    )
    print(f"{'target':<44}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'vs ceiling':>12}")
    for name, label in (
        ("ceiling", "minimal Flask JSON (ceiling)"),
        ("cached", "GET /v1/me, identity cache (default)"),
        ("uncached", "GET /v1/me, cache off (a read per request)"),
    ):
        print(
            f"{label:<44}{med(name, 0):>9,.0f}{med(name, 1):>9.2f}{med(name, 2):>9.2f}"
            f"{med(name, 0) / top:>11.2f}x"
        )
    print(f"cache on / off: {med('cached', 0) / med('uncached', 0):.2f}x the requests per second")


if __name__ == "__main__":
    main()
