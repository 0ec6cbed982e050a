"""Console streams: does the API keep its speed while 100 consoles hold GET /v1/events open,
and how long does a committed change take to reach them?

Signale under gunicorn as `make run` starts it (app/ops/gunicorn_conf.py: gthread workers,
WEB_CONCURRENCY processes, GUNICORN_THREADS threads each). In the same run, interleaved
ROUNDS times so that the shared machine's noise spreads over both:

- GET /v1/me (the cheapest authenticated call: token, identity, JSON) loaded by wrk
  (2 threads, 16 connections) with no event stream open (the baseline), and with STREAMS
  streams open, each on its own connection as one console holds it (the two in turns,
  alternating which goes first); for the record, the same through sync workers (as
  before gthread; they cannot hold a stream without losing a process);
- the delay from a report's commit (returned to its writer) to its event read on the
  streams: each report of a burst committed alone, its event timed on every open stream.

Prints medians: requests/s and the server's CPU time per request (a figure the other
processes of a shared machine disturb less), with their ratios to 0 streams, and the
delay's median and p95.

Uses its own database, `signale_bench_console` (migrated and given the reference data on
each run; the reports it writes are deleted at the end).

    make bench            # or: python benchmarks/bench_console_streams.py [--streams N]
"""

import argparse
import os
import re
import selectors
import socket
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
from benchmarks.bench_http_ceiling import ensure_wrk, free_port, serve  # noqa: E402
from tools.pg import ensure_database, libpq_url, with_database  # noqa: E402

FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
SUPERVISOR = "bench-console-supervisor"
BENCH_REPORTER = "bench-console"
EVENT_ID = re.compile(rb"\nid: (\d+):")


class Consoles:
    """``count`` open event streams, read by one thread: when each report's event arrived."""

    def __init__(self, port: int, token: str, count: int):
        self.arrivals: dict[int, list[float]] = {}
        self._selector = selectors.DefaultSelector()
        self._sockets = []
        self._buffers: dict[socket.socket, bytes] = {}
        self._lock = threading.Lock()
        self._stopping = False
        request = (
            f"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode()
        for _ in range(count):
            self._sockets.append(self._open(port, request))
        for sock in self._sockets:
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ)
            self._buffers[sock] = b""
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    @staticmethod
    def _open(port: int, request: bytes) -> socket.socket:
        # A process at its cap answers 503: another try may land on another process.
        for _ in range(50):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sock.sendall(request)
            head = b""
            while b"retry: 2000" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
            if head.startswith(b"HTTP/1.1 200") and b"retry: 2000" in head:
                return sock
            sock.close()
            time.sleep(0.2)
        raise SystemExit(f"could not open an event stream: {head[:200]!r}")

    def _read(self) -> None:
        while not self._stopping:
            for key, _ in self._selector.select(timeout=0.5):
                sock = key.fileobj
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                now = time.perf_counter()
                if not chunk:
                    self._selector.unregister(sock)
                    continue
                data = self._buffers[sock] + chunk
                *events, rest = data.split(b"\n\n")
                self._buffers[sock] = rest
                for event in events:
                    match = EVENT_ID.search(b"\n" + event)
                    if match:
                        with self._lock:
                            self.arrivals.setdefault(int(match.group(1)), []).append(now)

    def wait_for(self, report_id: int, count: int, timeout: float = 30) -> list[float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                got = list(self.arrivals.get(report_id, ()))
            if len(got) >= count:
                return got
            time.sleep(0.005)
        raise SystemExit(f"report {report_id}: {len(got)} of {count} streams heard it")

    def close(self) -> None:
        self._stopping = True
        self._thread.join(5)
        for sock in self._sockets:
            sock.close()


def cpu_seconds(master: int) -> float:
    """CPU time used so far by gunicorn's master and its workers (user + system)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == master or ppid == master:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wrk_me(wrk: str, port: int, token: str, seconds: int, master: int) -> tuple[float, float]:
    """Requests per second, and the server's CPU milliseconds per request (what other
    processes of a shared machine take from it does not count there)."""
    before = cpu_seconds(master)
    out = subprocess.run(
        [
            wrk,
            "-t2",
            "-c16",
            f"-d{seconds}s",
            # A loaded shared machine stalls now and then: not an error of the server.
            "--timeout",
            "10s",
            "-H",
            f"Authorization: Bearer {token}",
            f"http://127.0.0.1:{port}/v1/me",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    used = cpu_seconds(master) - before
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out:
        raise SystemExit(f"errors under load:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, used * 1000 / requests


def commit_delays(url: str, consoles: Consoles, streams: int, reports: int) -> list[float]:
    """Reports committed one by one; for each, the delay to its event on every stream (s)."""
    delays = []
    with psycopg.connect(url) as conn:
        for _ in range(reports):
            report_id = conn.execute(
                "INSERT INTO reports (category_id, reporter_uid, desk_id) "
                "SELECT (SELECT min(id) FROM categories), %s, "
                "(SELECT id FROM desks WHERE code = 'voirie') RETURNING id",
                (BENCH_REPORTER,),
            ).fetchone()[0]
            conn.commit()
            committed = time.perf_counter()
            arrivals = consoles.wait_for(report_id, streams)
            delays += [arrival - committed for arrival in arrivals]
            time.sleep(0.05)
    return delays


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--reports", type=int, default=20, help="per round, for the delay")
    args = parser.parse_args()
    wrk = ensure_wrk()
    base = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/signale")
    url = with_database(libpq_url(base), "signale_bench_console")
    ensure_database(url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FIREBASE_AUTH_EMULATOR_HOST": os.environ.get(
            "FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099"
        ),
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
    }
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    for command in (
        [*FLASK, "db", "upgrade"],
        [*FLASK, "reference", "load"],
        [*FLASK, "users", "set", SUPERVISOR, "--role", "supervisor", "--desk", "voirie"],
    ):
        subprocess.run(command, env=env, cwd=ROOT, check=True, **quiet)
    token = mint_emulator_token("demo-signale", SUPERVISOR, lifetime_seconds=3600)
    workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
    port, sync_port = free_port(), free_port()
    server = serve("wsgi:app", port, env, workers=workers)
    # For the record: sync workers, as before the console (no stream can be held there).
    sync_server = serve_sync(sync_port, env, workers)
    throughput = {"sync workers, 0 streams": [], "0 streams": [], f"{args.streams} streams": []}
    delays = {1: [], args.streams: []}
    try:
        for round_ in range(args.rounds):
            throughput["sync workers, 0 streams"].append(
                wrk_me(wrk, sync_port, token, args.seconds, sync_server.pid)
            )
            # Alternate which comes first, so that a drift of the machine's load spreads.
            for streams in (0, args.streams) if round_ % 2 == 0 else (args.streams, 0):
                if streams == 0:
                    throughput["0 streams"].append(
                        wrk_me(wrk, port, token, args.seconds, server.pid)
                    )
                    one = Consoles(port, token, 1)
                    try:
                        delays[1] += commit_delays(url, one, 1, args.reports)
                    finally:
                        one.close()
                    continue
                consoles = Consoles(port, token, streams)
                try:
                    throughput[f"{streams} streams"].append(
                        wrk_me(wrk, port, token, args.seconds, server.pid)
                    )
                    delays[streams] += commit_delays(url, consoles, streams, args.reports)
                finally:
                    consoles.close()
    finally:
        for process in (server, sync_server):
            process.terminate()
            process.wait(30)
        with psycopg.connect(url) as conn:
            conn.execute("DELETE FROM reports WHERE reporter_uid = %s", (BENCH_REPORTER,))

    from app.ops import gunicorn_conf

    threads = gunicorn_conf.threads  # GUNICORN_THREADS, or its default
    print(
        f"\nConsole streams: gunicorn {workers} gthread workers x {threads} threads "
        f"(GUNICORN_THREADS), wrk -t2 -c16 on GET /v1/me, {args.rounds} rounds x "
        f"{args.seconds}s, {os.cpu_count()} cores"
    )
    baseline = statistics.median(rps for rps, _ in throughput["0 streams"])
    cpu_baseline = statistics.median(cpu for _, cpu in throughput["0 streams"])
    print(f"{'':<26}{'median req/s':>14}{'ratio':>8}{'CPU ms/req':>12}{'ratio':>8}")
    for name, runs in throughput.items():
        rps = statistics.median(r for r, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(
            f"{name:<26}{rps:>14,.0f}{rps / baseline:>7.2f}x{cpu:>12.2f}{cpu / cpu_baseline:>7.2f}x"
        )
    print(f"\n{'commit -> event':<26}{'median':>10}{'p95':>10}{'events':>8}")
    for streams, values in delays.items():
        print(
            f"{f'{streams} stream(s) open':<26}{statistics.median(values) * 1000:>8.1f}ms"
            f"{percentile(values, 0.95) * 1000:>8.1f}ms{len(values):>8}"
        )


def serve_sync(port: int, env: dict, workers: int) -> subprocess.Popen:
    """gunicorn as make run starts it, with sync workers instead."""
    return serve("wsgi:app", port, env, workers, options=("--worker-class", "sync"))


if __name__ == "__main__":
    main()
