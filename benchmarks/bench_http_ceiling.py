"""HTTP ceiling: requests/s through gunicorn for a bare WSGI app (baseline), the minimal
Flask JSON endpoint, and Signale's own /healthz (with request ids, metrics and JSON logs).

Each target is served by gunicorn (2 gthread workers, one per core) and loaded by wrk
(2 threads, 16 connections) for ROUNDS rounds of SECONDS seconds, interleaved so that noise
from the shared machine spreads over all targets. Prints medians and ratios to the
baseline measured in the same run.

    make bench            # or: python benchmarks/bench_http_ceiling.py [--rounds N]
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TARGETS = {
    "bare WSGI (baseline)": "benchmarks.http_apps:bare",
    "minimal Flask JSON": "benchmarks.http_apps:flask_app",
    "Signale /healthz": "wsgi:app",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    sys.path.insert(0, str(ROOT))
    from tools.launcher import apt_install

    apt_install("wrk")
    return shutil.which("wrk") or "/usr/bin/wrk"


def serve(
    app_path: str,
    port: int,
    env: dict,
    workers: int = 2,
    options: tuple[str, ...] = (),
    log: Path | None = None,
) -> subprocess.Popen:
    """gunicorn with make run's configuration on ``port``, ready when returned; ``options``:
    more of its command line (they win over the configuration file); ``log``: where its
    stderr goes (its JSON access lines), else nowhere."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *options,
            "--config",
            str(ROOT / "app" / "ops" / "gunicorn_conf.py"),
            app_path,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if log is None else log.open("ab"),
    )
    # Workers import the whole app: on a loaded shared machine, that takes a while.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{app_path} did not start")


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def load(wrk: str, port: int, seconds: int) -> tuple[float, float]:
    out = subprocess.run(
        [wrk, "-t2", "-c16", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}/healthz"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"50%\s+([\d.]+)(us|ms|s)", out).groups()
    if re.search(r"Non-2xx or 3xx responses", out):
        raise SystemExit(f"errors under load:\n{out}")
    return rps, float(value) * UNITS[unit]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    args = parser.parse_args()
    wrk = ensure_wrk()
    metrics_dir = tempfile.mkdtemp(prefix="signale-bench-metrics-")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    servers = {}
    try:
        for name, app_path in TARGETS.items():
            port = free_port()
            servers[name] = (serve(app_path, port, env), port)
        results = {name: [] for name in TARGETS}
        for _ in range(args.rounds):
            for name, (_, port) in servers.items():
                results[name].append(load(wrk, port, args.seconds))
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(10)
        shutil.rmtree(metrics_dir, ignore_errors=True)

    baseline = statistics.median(r for r, _ in results["bare WSGI (baseline)"])
    print(
        f"\nHTTP ceiling: gunicorn 2 gthread workers, wrk -t2 -c16, {args.rounds} rounds x "
        f"{args.seconds}s, {os.cpu_count()} cores"
    )
    print(f"{'target':<24}{'median req/s':>14}{'p50 latency':>14}{'vs baseline':>14}")
    for name, runs in results.items():
        rps = statistics.median(r for r, _ in runs)
        p50 = statistics.median(lat for _, lat in runs)
        print(f"{name:<24}{rps:>14,.0f}{p50:>12.2f}ms{rps / baseline:>13.2f}x")


if __name__ == "__main__":
    main()
