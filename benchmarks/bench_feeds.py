"""City sensor feeds: ingestion speed and the residents' reads, on `signale_bench_feeds`.

Ingestion: one poll of 50,000 NGSI-LD entities (normalized OffStreetParking) from a
stand-in context broker on 127.0.0.1 (another process, pages of 1,000 by limit/offset,
pre-encoded so serving costs nothing measurable): fetch, parse, validate, upsert the
latest states and add the observations, as `poll_feed` does. Each run brings newer
observations, so every entity is written. Baselines measured in the same run:

- `fetch+json`: the same pages fetched and json-decoded, nothing else (the floor of
  reading them in Python, as first measured);
- `fetch+orjson`: the same, decoded as the poll does (orjson, cycle collector paused): the
  floor of reading them today;
- `copy`: PostgreSQL's COPY of the same 50,000 rows (entity values, WKT point) into a
  temporary table (the floor of writing them);
- `poll one-shot`: the same poll storing its states in one chunk (FEEDS store_chunk at
  50,000): every page fetched and parsed, then PostgreSQL writes them, one after the other,
  as polls did before the store was pipelined. `poll` stores chunk by chunk
  (--store-chunk, default the poll's own): PostgreSQL writes a chunk while the next is read.
  The two alternate which goes first from one run to the next.

Reads: `parkings` near a point (the query of GET /v1/mobility/parkings, radius 500 m,
first page of 50) at random points over Dijon, and a parking's 24-hour hourly history,
with the observation table topped up to --observations rows (default 20,000,000; kept
between runs). Baseline: a `SELECT 1` round trip on the same connection.

The poll's CPU time is printed too: this process's (fetch, parse, COPY rows) and its
PostgreSQL backend's (read from /proc when the server runs here), less sensitive than wall
time to the other programs sharing the machine.

Target (issue 7, issue 19): at least 20,000 entities/s; both queries' p95 under 20 ms.

    python benchmarks/bench_feeds.py [--repeat N] [--observations N] [--queries N]
                                     [--database NAME] [--store-chunk N]
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import encode_pages, own_database, start_page_broker  # noqa: E402

DATABASE = "signale_bench_feeds"
ENTITIES = 50_000
PAGE = 1_000
# Dijon Métropole, roughly: where the car parks are spread.
WEST, SOUTH, EAST, NORTH = 4.96, 47.28, 5.11, 47.36
# Observations: this many entities, one every 5 minutes each, in time order (BRIN).
HISTORY_ENTITIES = 2_000
STEP = timedelta(minutes=5)
FEED = "bench-parkings"


def entity(number: int, observed: str, rng: random.Random) -> dict:
    total = rng.randint(50, 800)
    return {
        "id": f"urn:ngsi-ld:OffStreetParking:bench:{number}",
        "type": "OffStreetParking",
        "name": {"type": "Property", "value": f"Parking {number}"},
        "availableSpotNumber": {"type": "Property", "value": rng.randint(0, total)},
        "totalSpotNumber": {"type": "Property", "value": total},
        "status": {"type": "Property", "value": ["open"]},
        "location": {
            "type": "GeoProperty",
            "value": {
                "type": "Point",
                "coordinates": [
                    round(rng.uniform(WEST, EAST), 6),
                    round(rng.uniform(SOUTH, NORTH), 6),
                ],
            },
        },
        "observationDateTime": {
            "type": "Property",
            "value": {"@type": "DateTime", "@value": observed},
        },
    }


def pages_for(run: int, base: datetime) -> list[bytes]:
    """The broker's pages for run ``run``: every run observed a second after the last (so
    that runs after runs never reach the future)."""
    observed = (base + timedelta(seconds=run)).isoformat(timespec="seconds")
    rng = random.Random(7)  # the same places and sizes every run
    return encode_pages([entity(n, observed, rng) for n in range(ENTITIES)], PAGE)


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def fetch_and_parse(url: str, loads=json.loads) -> int:
    import httpx

    count, offset = 0, 0
    with httpx.Client() as client:
        while True:
            page = loads(client.get(f"{url}&limit={PAGE}&offset={offset}").content)
            count += len(page)
            if len(page) < PAGE:
                return count
            offset += len(page)


def fetch_and_parse_as_polls(url: str) -> int:
    import orjson

    from app.feeds.adapters import cyclic_gc_paused

    with cyclic_gc_paused():
        return fetch_and_parse(url, orjson.loads)


def backend_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a PostgreSQL backend, when the server runs on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def copy_rows(conn, run: int, base: datetime) -> None:
    """The baseline writer: COPY the same rows into a temporary table."""
    observed = base + timedelta(minutes=run)
    rng = random.Random(7)
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS copy_floor (entity_id text, name text, wkt text,"
        " observed_at timestamptz, available int, capacity int) ON COMMIT DELETE ROWS"
    )
    with conn.cursor().copy("COPY copy_floor FROM STDIN") as copy:
        for n in range(ENTITIES):
            e = entity(n, "", rng)
            lon, lat = e["location"]["value"]["coordinates"]
            copy.write_row(
                (
                    e["id"],
                    e["name"]["value"],
                    f"POINT({lon} {lat})",
                    observed,
                    e["availableSpotNumber"]["value"],
                    e["totalSpotNumber"]["value"],
                )
            )
    conn.commit()


def top_up_observations(url: str, target: int) -> int:
    """Fill feed_observations to ``target`` rows: HISTORY_ENTITIES car parks, one row each
    5 minutes, oldest first (as polls write them), in committed chunks; kept between runs."""
    with psycopg.connect(url) as conn:
        have = conn.execute("SELECT count(*) FROM feed_observations").fetchone()[0]
        if have >= target:
            return have
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT e.id FROM feed_entities e JOIN feeds f ON f.id = e.feed_id"
                " WHERE f.name = %s ORDER BY e.id LIMIT %s",
                (FEED, HISTORY_ENTITIES),
            )
        ]
        steps = (target - have + len(ids) - 1) // len(ids)
        oldest = conn.execute("SELECT min(observed_at) FROM feed_observations").fetchone()[0]
        end = oldest or datetime.now(UTC)
        chunk = 1_000_000 // len(ids)
        started = time.perf_counter()
        # Written newest chunk last, each chunk in time order.
        for first in range(steps, 0, -chunk):
            last = max(first - chunk, 0)
            conn.execute(
                """
                INSERT INTO feed_observations (entity_pk, observed_at, status, available,
                                               capacity, occupancy, measures)
                SELECT e, %(end)s - s * %(step)s, 'open', (e * 7 + s) %% 400, 400,
                       ((e * 7 + s) %% 400) / 400.0, '{}'
                FROM generate_series(%(first)s, %(last)s + 1, -1) AS s,
                     unnest(%(ids)s::bigint[]) AS e
                ON CONFLICT DO NOTHING
                """,
                {"end": end, "step": STEP, "first": first, "last": last, "ids": ids},
            )
            conn.commit()
            print(
                f"  observations: {steps - last:,} of {steps:,} steps"
                f" ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE feed_observations")
        return conn.execute("SELECT count(*) FROM feed_observations").fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--observations", type=int, default=20_000_000)
    parser.add_argument("--queries", type=int, default=500)
    # Another name when several checkouts measure on one server at the same time.
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--store-chunk", type=int, default=None)
    args = parser.parse_args()

    url = own_database(args.database)["DATABASE_URL"]

    # Observation times after anything earlier runs stored, so every run writes them all.
    # The entities vacuumed first, as autovacuum would have done (it may be off on a
    # development server): every poll leaves 50,000 dead rows, and earlier runs' would slow
    # this one's reads of the table.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE feed_entities")
        latest = conn.execute("SELECT max(observed_at) FROM feed_entities").fetchone()[0]
    base = max(latest or datetime.min.replace(tzinfo=UTC), datetime.now(UTC) - timedelta(hours=1))
    base = base.replace(microsecond=0) + timedelta(seconds=1)
    runs = args.repeat + 1  # a warm-up run first
    polls = 2 * runs  # each run: a one-shot poll and a pipelined one, each with newer data
    broker, port = start_page_broker(
        lambda: {run: pages_for(run, base) for run in range(polls)}, PAGE
    )
    broker_url = f"http://127.0.0.1:{port}/ngsi-ld/v1/entities?type=OffStreetParking"

    from app import create_app
    from app.extensions import db
    from app.feeds import service
    from app.mobility import queries

    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    limits = service.PollLimits(timeout_seconds=300, max_bytes=512 * 1024 * 1024, page_size=PAGE)
    if args.store_chunk:
        limits = replace(limits, store_chunk=args.store_chunk)
    one_shot = replace(limits, store_chunk=ENTITIES)
    modes = {"poll one-shot": one_shot, "poll": limits}
    timings = {"fetch+json": [], "fetch+orjson": [], "copy": [], **{m: [] for m in modes}}
    cpu = {m: {"poller": [], "backend": []} for m in modes}
    loads = []
    try:
        with app.app_context():
            feed, _ = service.put_feed(
                db.session,
                FEED,
                {
                    "kind": "parking",
                    "format": "ngsi-ld",
                    "source_url": broker_url,
                    "poll_interval_seconds": 60,
                    "freshness_limit_seconds": 86400,
                    "enabled": True,
                },
            )
            feed_id = feed.id
            with psycopg.connect(url) as floor_conn:
                for run in range(runs):
                    run_url = f"{broker_url}&run={2 * run}"
                    started = time.perf_counter()
                    assert fetch_and_parse(run_url) == ENTITIES
                    parse_s = time.perf_counter() - started

                    started = time.perf_counter()
                    assert fetch_and_parse_as_polls(run_url) == ENTITIES
                    orjson_s = time.perf_counter() - started

                    started = time.perf_counter()
                    copy_rows(floor_conn, run, base)
                    copy_s = time.perf_counter() - started

                    order = list(modes) if run % 2 else list(modes)[::-1]
                    said = []
                    for number, mode in enumerate(order):
                        feed = service.get_feed(db.session, FEED)
                        feed.source_url = f"{broker_url}&run={2 * run + number}"
                        db.session.commit()
                        # The poll's session reuses this connection (the only one in the pool).
                        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
                        db.session.rollback()
                        backend_before = backend_cpu_seconds(pid)
                        started, cpu_started = time.perf_counter(), time.process_time()
                        outcome = service.poll_feed(db.session, feed_id, limits=modes[mode])
                        poll_s = time.perf_counter() - started
                        poller_cpu = time.process_time() - cpu_started
                        backend_after = backend_cpu_seconds(pid)
                        assert outcome["status"] == "ok", outcome
                        assert outcome["changed"] == ENTITIES, outcome
                        if run:  # the first is a warm-up
                            timings[mode].append(poll_s)
                            cpu[mode]["poller"].append(poller_cpu)
                            if backend_before is not None and backend_after is not None:
                                cpu[mode]["backend"].append(backend_after - backend_before)
                        said.append(f"{mode} {poll_s:.2f} s (CPU {poller_cpu:.2f} s here)")
                    if run:
                        timings["fetch+json"].append(parse_s)
                        timings["fetch+orjson"].append(orjson_s)
                        timings["copy"].append(copy_s)
                        loads.append(os.getloadavg()[0])
                    print(
                        f"  run {run}{' (warm-up)' if not run else ''}: {', '.join(said)};"
                        f" fetch+json {parse_s:.2f} s, fetch+orjson {orjson_s:.2f} s,"
                        f" copy {copy_s:.2f} s; load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
            db.session.remove()
    finally:
        broker.terminate()

    poll_s = median(timings["poll"])
    print(
        f"\nIngestion: one poll of {ENTITIES:,} normalized NGSI-LD entities,"
        f" median of {args.repeat} (store chunk {limits.store_chunk:,});"
        f" load average (1 min) median {median(loads):.2f} over the runs"
    )
    for name in ("fetch+json", "fetch+orjson", "copy", "poll one-shot", "poll"):
        seconds = median(timings[name])
        print(
            f"  {name:<14} {seconds:6.2f} s  {ENTITIES / seconds:9,.0f} entities/s"
            f"  poll/this {poll_s / seconds:5.2f}x"
        )
    for mode in modes:
        poller = median(cpu[mode]["poller"])
        backend = median(cpu[mode]["backend"]) if cpu[mode]["backend"] else None
        wall = median(timings[mode])
        print(
            f"  {mode} CPU: {poller:.2f} s in this process"
            + (
                f", {backend:.2f} s in its PostgreSQL backend:"
                f" {ENTITIES / (poller + backend):,.0f} entities per CPU-second;"
                f" wall / (sum of CPU) {wall / (poller + backend):.2f},"
                f" wall / (larger CPU) {wall / max(poller, backend):.2f}"
                if backend is not None
                else " (the backend's is not readable here)"
            )
        )
    target_met = ENTITIES / poll_s >= 20_000
    print(f"  target >= 20,000 entities/s: {'met' if target_met else 'NOT met'}")

    print(f"\nObservations: topping up to {args.observations:,} rows", flush=True)
    rows = top_up_observations(url, args.observations)

    rng = random.Random(11)
    with app.app_context():
        session = db.session
        # Car parks with a long history, and random 24-hour windows inside it.
        history_ids = list(
            session.scalars(
                text(
                    "SELECT e.id FROM feed_entities e JOIN feeds f ON f.id = e.feed_id"
                    " WHERE f.name = :feed ORDER BY e.id LIMIT :n"
                ),
                {"feed": FEED, "n": HISTORY_ENTITIES},
            )
        )
        first, last = session.execute(
            text("SELECT min(observed_at), max(observed_at) FROM feed_observations")
        ).one()
        span = max((last - first - timedelta(hours=24)).total_seconds(), 0)
        session.rollback()
        latencies = {"select 1": [], "parkings near": [], "history 24 h": []}
        results = []
        for _ in range(args.queries):
            lon, lat = (
                rng.uniform(WEST + 0.02, EAST - 0.02),
                rng.uniform(SOUTH + 0.01, NORTH - 0.01),
            )
            started = time.perf_counter()
            session.execute(text("SELECT 1")).scalar()
            latencies["select 1"].append(time.perf_counter() - started)
            started = time.perf_counter()
            page = queries.near(session, "parking", lon=lon, lat=lat, radius=500, limit=50)
            latencies["parkings near"].append(time.perf_counter() - started)
            results.append(len(page["items"]))
            entity_pk = rng.choice(history_ids)
            start = first + timedelta(seconds=rng.uniform(0, span))
            started = time.perf_counter()
            queries.hourly_history(
                session, "parking", entity_pk, start, start + timedelta(hours=24)
            )
            latencies["history 24 h"].append(time.perf_counter() - started)
            session.rollback()
        db.session.remove()

    print(
        f"\nReads: {args.queries} queries each, feed_entities {ENTITIES:,} car parks,"
        f" feed_observations {rows:,} rows; near: radius 500 m, first page of 50"
        f" (median {median(results):.0f} items)"
    )
    floor = median(latencies["select 1"])
    for name, values in latencies.items():
        print(
            f"  {name:<14} median {median(values) * 1000:6.2f} ms  p95 {p95(values) * 1000:6.2f} ms"
            f"  median/select 1 {median(values) / floor:6.1f}x"
        )
    met = all(p95(latencies[n]) < 0.020 for n in ("parkings near", "history 24 h"))
    print(f"  target p95 < 20 ms: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
