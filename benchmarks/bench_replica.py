"""The read replica (app/replica.py) under load: how much public traffic it takes off the
primary, what serving from it costs, and how far it lags while the primary takes writes.

A throwaway primary and its streaming standby (tools/pg_cluster.py, on free ports; the
machine's own PostgreSQL untouched), the primary filled with ``--rows`` reports
(benchmarks/dataset.py) before the standby is copied from it. Both servers run on this
machine's 2 shared cores, so the replica adds no CPU here: the figures to read are the
primary's share of the work, and the cost of the routing, not a gain in throughput.

Two gunicorns (2 gthread workers each) over the same primary, one without a replica and one
with ``DATABASE_REPLICA_URL``; wrk loads each in turn (alternating rounds) with the public
reads a replica serves, uncached (the Open311 and public lists caches off: every request
reads the database):

- ``GET /v1/reports/geojson?bbox=...&limit=100`` (the map's page, a resident's token);
- ``GET /open311/v2/requests.json`` (no token).

For each: requests per second, p50 and p95, and the transactions each server ran per
request (``pg_stat_database`` of the benchmark's database on both servers, read before and
after each run). Then the lag: a writer commits small report updates on the primary as fast
as one connection allows while the public page is loaded, and the replica's replay lag
(``pg_stat_replication.replay_lag`` on the primary, PostgreSQL's own measure) is sampled
every 100 ms; the application's own verdict is read from ``/metrics``
(``signale_replica_state``, ``signale_public_reads_total``).

The throwaway clusters run with fsync off (as the replica tests' do): what is compared is
the same run's primary-only and replica figures.

    make bench            # or: python benchmarks/bench_replica.py [--rows N] [--seconds S]
"""

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psycopg
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import dataset  # noqa: E402
from benchmarks.bench_http_ceiling import ensure_wrk, free_port, serve  # noqa: E402
from benchmarks.bench_intake import wrk_run  # noqa: E402
from tools import pg_cluster  # noqa: E402

BBOX = "5.03,47.31,5.035,47.315"
READS = {
    "public map page (bbox, 100)": (f"/v1/reports/geojson?bbox={BBOX}&limit=100", True),
    "Open311 requests.json": ("/open311/v2/requests.json", False),
}
TOKEN_SCRIPT = ROOT / "benchmarks" / "queue.lua"  # GET with the bearer token, percentiles
PUBLIC_SCRIPT = ROOT / "benchmarks" / "open311.lua"  # GET without a token, percentiles
CONNECTIONS = 8
DATABASE = "signale_bench_replica"
TRANSACTIONS = (
    "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
    "SELECT pg_stat_clear_snapshot()",
)
WRITE = """
UPDATE reports SET updated_at = now()
WHERE id = (SELECT id FROM reports ORDER BY id OFFSET (random() * 10000)::int LIMIT 1)
"""


def transactions(cluster) -> int:
    with psycopg.connect(cluster.url(DATABASE), autocommit=True) as conn:
        conn.execute(TRANSACTIONS[1])
        return conn.execute(TRANSACTIONS[0], (DATABASE,)).fetchone()[0]


def caught_up(primary, standby, wait_s: float = 300) -> None:
    lsn = primary.execute("SELECT pg_current_wal_lsn()::text", database=DATABASE)[0]
    deadline = time.monotonic() + wait_s
    while not standby.execute(
        "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,), database=DATABASE
    )[0]:
        if time.monotonic() > deadline:
            raise SystemExit("the standby does not catch up")
        time.sleep(0.1)


def metrics(port: int) -> dict[tuple[str, str], float]:
    """The replica's samples of a gunicorn's /metrics, by (name, state or server): the
    workers' gauges at their maximum, the counters summed over the workers."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    found: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "signale_replica_state":
                key = (sample.name, sample.labels["state"])
                found[key] = max(found.get(key, 0.0), sample.value)
            elif sample.name == "signale_public_reads_total":
                key = (sample.name, sample.labels["served_by"])
                found[key] = found.get(key, 0.0) + sample.value
    return found


def wait_serving(port: int, path: str, token: str, wait_s: float = 120) -> None:
    """Until a worker of the replica's gunicorn has judged its replica serving (its lag is
    known only after a first check)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=30):
            pass
        if metrics(port).get(("signale_replica_state", "serving")):
            return
        time.sleep(0.5)
    raise SystemExit("the replica is never judged serving")


def lag_under_writes(primary, port: int, token: str, seconds: float, wrk: str, env: dict):
    """Replay lag samples (ms) while a writer commits updates and the page is loaded."""
    stop = threading.Event()
    samples: list[float] = []
    writes = [0]

    def writer() -> None:
        with psycopg.connect(primary.url(DATABASE), autocommit=True) as conn:
            while not stop.is_set():
                conn.execute(WRITE)
                writes[0] += 1

    def sampler() -> None:
        with psycopg.connect(primary.url(DATABASE), autocommit=True) as conn:
            while not stop.is_set():
                row = conn.execute(
                    "SELECT COALESCE(EXTRACT(epoch FROM replay_lag), 0) * 1000"
                    " FROM pg_stat_replication"
                ).fetchone()
                if row:
                    samples.append(float(row[0]))
                time.sleep(0.1)

    threads = [threading.Thread(target=writer), threading.Thread(target=sampler)]
    for thread in threads:
        thread.start()
    try:
        path, _ = READS["public map page (bbox, 100)"]
        load = wrk_run(
            wrk,
            f"http://127.0.0.1:{port}{path}",
            connections=CONNECTIONS,
            seconds=int(seconds),
            env=env,
            script=TOKEN_SCRIPT,
            timeout_s=10,
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return samples, writes[0] / seconds, load


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args()
    wrk = ensure_wrk()
    parent = pg_cluster.temporary_parent()
    clusters = []
    servers: list = []
    metrics_dirs = []
    try:
        primary = pg_cluster.primary(parent)
        clusters.append(primary)
        pg_cluster.create_database(primary, DATABASE)
        os.environ["BENCH_DATABASE"] = DATABASE
        os.environ["DATABASE_URL"] = primary.url(DATABASE)
        env = dataset.bench_env(
            SIGNALE_PUBLIC_LISTS_CACHE_ENABLED="false",
            SIGNALE_OPEN311_CACHE_ENABLED="false",
            SIGNALE_DATABASE_REPLICA_MAX_LAG_SECONDS="10",
        )
        started = time.monotonic()
        sizes = dataset.prepare(env, args.rows)
        print(f"primary filled in {time.monotonic() - started:.0f} s: {sizes}", flush=True)
        standby = pg_cluster.standby(primary, parent)
        clusters.append(standby)
        caught_up(primary, standby)
        token = env["SIGNALE_TOKEN"]
        ports = {}
        for name, extra in (
            ("primary only", {}),
            ("with replica", {"DATABASE_REPLICA_URL": standby.url(DATABASE)}),
        ):
            directory = tempfile.mkdtemp(prefix="signale-bench-replica-metrics-")
            metrics_dirs.append(directory)
            port = free_port()
            server_env = {**env, **extra, "PROMETHEUS_MULTIPROC_DIR": directory}
            servers.append(serve("wsgi:app", port, server_env))
            ports[name] = port
        wait_serving(ports["with replica"], READS["public map page (bbox, 100)"][0], token)
        results = {(read, name): [] for read in READS for name in ports}
        for _ in range(args.rounds):
            for read, (path, with_token) in READS.items():
                for name, port in ports.items():
                    before = transactions(primary), transactions(standby)
                    rps, p50, p95, _p99 = wrk_run(
                        wrk,
                        f"http://127.0.0.1:{port}{path}",
                        connections=CONNECTIONS,
                        seconds=args.seconds,
                        env=env,
                        script=TOKEN_SCRIPT if with_token else PUBLIC_SCRIPT,
                        timeout_s=10,
                    )
                    after = transactions(primary), transactions(standby)
                    served = rps * args.seconds
                    results[read, name].append(
                        (
                            rps,
                            p50,
                            p95,
                            (after[0] - before[0]) / served,
                            (after[1] - before[1]) / served,
                        )
                    )
        served_by = metrics(ports["with replica"])
        lags, write_rate, load = lag_under_writes(
            primary, ports["with replica"], token, args.seconds * 2, wrk, env
        )
    finally:
        for process in servers:
            process.terminate()
            with contextlib.suppress(Exception):
                process.wait(10)
        for cluster in reversed(clusters):
            with contextlib.suppress(pg_cluster.ProvisioningError):
                cluster.stop("immediate")
        pg_cluster.remove(parent)
        for directory in metrics_dirs:
            shutil.rmtree(directory, ignore_errors=True)

    def med(read, name, i):
        return statistics.median(r[i] for r in results[read, name])

    print(
        f"\nRead replica: {sizes['reports']:,} reports, caches off, gunicorn 2 gthread workers"
        f" each, wrk -t2 -c{CONNECTIONS}, {args.rounds} alternating rounds x {args.seconds}s,"
        " medians; primary and standby on the same 2 shared cores"
    )
    print(
        f"{'public read':<30}{'server':<15}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'ratio':>7}{'tx/req primary':>16}{'tx/req replica':>16}"
    )
    for read in READS:
        base = med(read, "primary only", 0)
        for name in ports:
            print(
                f"{read:<30}{name:<15}{med(read, name, 0):>8,.0f}{med(read, name, 1):>8.1f}"
                f"{med(read, name, 2):>8.1f}{med(read, name, 0) / base:>6.2f}x"
                f"{med(read, name, 3):>16.2f}{med(read, name, 4):>16.2f}"
            )
    reads = {k[1]: v for k, v in served_by.items() if k[0] == "signale_public_reads_total"}
    total = sum(reads.values()) or 1
    print(
        "the replica's gunicorn, public reads by server (/metrics): "
        + ", ".join(f"{k} {v:,.0f} ({v / total:.1%})" for k, v in sorted(reads.items()))
    )
    if lags:
        ordered = sorted(lags)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(
            f"replay lag while one writer commits {write_rate:,.0f} updates/s and the map page"
            f" is loaded ({load[0]:,.0f} req/s): median {statistics.median(lags):.1f} ms,"
            f" p95 {p95:.1f} ms, max {ordered[-1]:.1f} ms over {len(lags)} samples"
            " (the app's bound: DATABASE_REPLICA_MAX_LAG_SECONDS, 10 s by default)"
        )


if __name__ == "__main__":
    main()
