"""Pushed live state: notification ingestion against a poll of the same entities, on
`signale_bench_notifications`.

5,000 street lights (key-value NGSI-LD Streetlight entities, as the demo broker serves them),
each run observed a second after the last, so every entity is written:

- `poll`: one poll of the 5,000 from a stand-in broker on 127.0.0.1 (another process, pages
  of 1,000, pre-encoded), as the worker's poll does (fetch, parse, upsert, observations,
  faults);
- `notify xN`: the same 5,000 POSTed by one client to ``/v1/feeds/{name}/notifications`` of
  a gunicorn (one worker, as `make run` configures it) in notifications of N entities, one
  after the other (secret checked, body validated, replay recorded, parsed and stored by
  the same path as the poll);
- `notify x1`: 200 notifications of one entity each: the time from a broker's POST to its
  answer (the state stored), median and p95.

    python benchmarks/bench_feed_notifications.py [--repeat N]
"""

import argparse
import hashlib
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_http_ceiling import free_port, serve  # noqa: E402
from benchmarks.harness import encode_pages, own_database, start_page_broker  # noqa: E402

DATABASE = "signale_bench_notifications"
ENTITIES = 5_000
PAGE = 1_000
BATCHES = (100, 500)
SINGLES = 200
FEED = "bench-lights"
SECRET = "bench-secret-" + "x" * 32
SECRET_HEADER = "X-Signale-Notification-Secret"
WEST, SOUTH, EAST, NORTH = 4.96, 47.28, 5.11, 47.36


def lights(observed: datetime) -> list[dict]:
    rng = random.Random(5)  # the same places every run
    moment = observed.isoformat(timespec="seconds")
    return [
        {
            "id": f"urn:ngsi-ld:Streetlight:bench:SL-{n:06d}",
            "type": "Streetlight",
            "status": "ok",
            "powerState": "on" if n % 2 else "off",
            "streetPoleNum": f"SL-{n:06d}",
            "location": {
                "type": "Point",
                "coordinates": [
                    round(rng.uniform(WEST, EAST), 6),
                    round(rng.uniform(SOUTH, NORTH), 6),
                ],
            },
            "observationDateTime": moment,
        }
        for n in range(ENTITIES)
    ]


def notification(entities: list[dict], notified: datetime) -> bytes:
    return json.dumps(
        {
            "id": f"urn:ngsi-ld:Notification:{uuid.uuid4()}",
            "type": "Notification",
            "subscriptionId": "urn:ngsi-ld:Subscription:bench",
            "notifiedAt": notified.isoformat(),
            "data": entities,
        },
        separators=(",", ":"),
    ).encode()


def post_all(client: httpx.Client, url: str, bodies: list[bytes]) -> list[float]:
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    seconds = []
    for body in bodies:
        started = time.perf_counter()
        response = client.post(url, content=body, headers=headers)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "stored", response.text
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    env = own_database(DATABASE)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    url = env["DATABASE_URL"]
    with psycopg.connect(url) as conn:
        latest = conn.execute("SELECT max(observed_at) FROM feed_entities").fetchone()[0]
    start = max(latest or datetime.min.replace(tzinfo=UTC), datetime.now(UTC) - timedelta(hours=2))
    start = start.replace(microsecond=0) + timedelta(seconds=1)
    runs = args.repeat + 1  # a warm-up run first
    # Each run: the poll, then each batch size, then the singles, each a second newer.
    steps = 2 + len(BATCHES)
    observed = {run: start + timedelta(seconds=run * steps) for run in range(runs)}

    broker, port = start_page_broker(
        lambda: {run: encode_pages(lights(moment), PAGE) for run, moment in observed.items()},
        PAGE,
    )
    source = f"http://127.0.0.1:{port}/ngsi-ld/v1/entities?type=Streetlight&options=keyValues"

    from sqlalchemy import delete, select

    from app import create_app
    from app.extensions import db
    from app.feeds import service
    from app.feeds.models import FeedSubscription

    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    limits = service.PollLimits(timeout_seconds=300, max_bytes=512 * 1024 * 1024, page_size=PAGE)
    with app.app_context():
        feed, _ = service.put_feed(
            db.session,
            FEED,
            {
                "kind": "streetlights",
                "format": "ngsi-ld",
                "source_url": source,
                "poll_interval_seconds": 60,
                "freshness_limit_seconds": 86400,
                "enabled": True,
                "subscribe": True,
            },
        )
        feed_id = feed.id
        # The subscription as the cron job leaves it once the broker made it (no broker
        # here: the benchmark is the broker).
        db.session.execute(delete(FeedSubscription).where(FeedSubscription.feed_id == feed_id))
        db.session.add(
            FeedSubscription(
                feed_id=feed_id,
                broker_url=f"http://127.0.0.1:{port}",
                entity_types="Streetlight",
                broker_id="urn:ngsi-ld:Subscription:bench",
                secret_hash=hashlib.sha256(SECRET.encode()).digest(),
                expires_at=datetime.now(UTC) + timedelta(days=1),
                due_at=datetime.now(UTC) + timedelta(days=1),
            )
        )
        db.session.commit()
        db.session.remove()

    gunicorn_port = free_port()
    gunicorn = serve("wsgi:app", gunicorn_port, env, workers=1)
    signale = f"http://127.0.0.1:{gunicorn_port}"
    endpoint = f"{signale}/v1/feeds/{FEED}/notifications"
    timings: dict[str, list[float]] = {"poll": [], **{f"notify x{n}": [] for n in BATCHES}}
    singles: list[float] = []
    try:
        with httpx.Client(timeout=120) as client:
            for run in range(runs):
                moment = observed[run]
                with app.app_context():
                    feed = service.get_feed(db.session, FEED)
                    feed.source_url = f"{source}&run={run}"
                    db.session.commit()
                    started = time.perf_counter()
                    outcome = service.poll_feed(db.session, feed_id, limits=limits)
                    poll_s = time.perf_counter() - started
                    db.session.remove()
                assert outcome["status"] == "ok", outcome
                assert outcome["changed"] == ENTITIES, outcome
                figures = {"poll": poll_s}
                for step, size in enumerate(BATCHES, start=1):
                    entities = lights(moment + timedelta(seconds=step))
                    notified = moment + timedelta(seconds=step)
                    bodies = [
                        notification(entities[i : i + size], notified)
                        for i in range(0, ENTITIES, size)
                    ]
                    figures[f"notify x{size}"] = sum(post_all(client, endpoint, bodies))
                last = moment + timedelta(seconds=len(BATCHES) + 1)
                one = lights(last)[:SINGLES]
                seconds = post_all(client, endpoint, [notification([e], last) for e in one])
                if run:
                    for name, value in figures.items():
                        timings[name].append(value)
                    singles.extend(seconds)
                print(
                    f"  run {run}{' (warm-up)' if not run else ''}: "
                    + ", ".join(f"{name} {value:.2f} s" for name, value in figures.items()),
                    flush=True,
                )
        with app.app_context():
            stored = db.session.scalar(
                select(FeedSubscription.notifications).where(FeedSubscription.feed_id == feed_id)
            )
            db.session.remove()
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)
        broker.terminate()

    poll_s = statistics.median(timings["poll"])
    print(
        f"\nIngestion of the same {ENTITIES:,} street lights, median of {args.repeat} runs "
        "(shared, noisy machine):"
    )
    for name, values in timings.items():
        seconds = statistics.median(values)
        print(
            f"  {name:<11} {seconds:6.2f} s  {ENTITIES / seconds:8,.0f} entities/s"
            f"  this/poll {seconds / poll_s:5.2f}x"
        )
    print(
        f"  notify x1   one entity per notification, {len(singles)} notifications: median "
        f"{statistics.median(singles) * 1000:.1f} ms, p95 "
        f"{statistics.quantiles(singles, n=20)[-1] * 1000:.1f} ms from POST to stored"
    )
    print(f"  notifications recorded on the subscription: {stored:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
