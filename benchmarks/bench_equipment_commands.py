"""Equipment commands on the simulator: sending speed and accepted-to-confirmed time, on
`signale_bench_equipment` (migrated with `flask db upgrade`).

3,000 street lights (BL-00001...) are the register's and the feed simulator's (its own
process, `python -m tools.simulator`, the lights obeying after --delay seconds, none
failing), polled as a feed. Each round:

- one selection of the 3,000 lights (switch_off / switch_on in turn) accepted in one
  transaction (request_selection, as POST /v1/equipment-commands/selections does);
- the dispatcher (claim with SKIP LOCKED, PATCH /ngsi-ld/v1/entities/{id}/attrs on 16
  threads, record) sends them: commands sent per second;
- the feed is polled back to back until every command is confirmed (the lights' reported
  state matches): per command, accepted -> confirmed (created_at -> settled_at, both the
  database's clock), median and p95. The delay the lights take and the polling period
  (one poll of 3,000 lights) are part of it, as in production.

Baseline measured in the same run: the same 3,000 PATCHes (same bodies, same 16 threads)
sent to the simulator by a plain httpx client, nothing recorded.

    python benchmarks/bench_equipment_commands.py [--rounds N] [--delay S]
"""

import argparse
import logging
import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_http_ceiling import free_port  # noqa: E402
from benchmarks.harness import own_database, start_listening  # noqa: E402
from tools.pg import libpq_url  # noqa: E402

DATABASE = "signale_bench_equipment"
LIGHTS = 3_000
FEED = "bench-lights"
THREADS = 16


def prepare(env: dict) -> None:
    with psycopg.connect(libpq_url(env["DATABASE_URL"])) as conn:
        # What an earlier run left (live states and commands go with the assets).
        conn.execute("DELETE FROM assets WHERE reference LIKE 'BL-%%'")
        conn.execute(f"DELETE FROM feeds WHERE name = '{FEED}'")
        # A grid of lights over central Dijon, about 20 m apart.
        conn.execute(
            "INSERT INTO assets (reference, kind, geom) "
            "SELECT 'BL-' || lpad(i::text, 5, '0'), 'street_light', "
            "ST_SetSRID(ST_MakePoint(5.02 + (i %% 60) * 0.00027, 47.31 + (i / 60) * 0.00018),"
            " 4326) FROM generate_series(1, %s) AS i",
            (LIGHTS,),
        )


def start_simulator(env: dict, delay: float) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "tools.simulator",
        "--port",
        str(port),
        "--streetlights",
        str(LIGHTS),
        "--command-delay",
        str(delay),
        "--command-failure-rate",
        "0",
    ]
    return start_listening(command, env, port, "the simulator"), f"http://127.0.0.1:{port}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def plain_patches(url: str, references: list[str], name: str) -> float:
    """The baseline: the same PATCHes by a plain httpx client; PATCHes per second."""
    client = httpx.Client(limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))

    def one(reference: str) -> None:
        entity = f"urn:ngsi-ld:Streetlight:dijon:{reference}"
        body = {"command": {"type": "Property", "value": {"id": str(uuid.uuid4()), "name": name}}}
        response = client.patch(f"{url}/ngsi-ld/v1/entities/{entity}/attrs", json=body)
        assert response.status_code == 204, response.text

    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, references))
    elapsed = time.perf_counter() - start
    client.close()
    return len(references) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--delay", type=float, default=2.0, help="seconds the lights take")
    args, _ = parser.parse_known_args()
    env = own_database(DATABASE)
    prepare(env)
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]
    simulator, url = start_simulator(env, args.delay)
    try:
        run(env, url, args)
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)


def run(env: dict, url: str, args) -> None:
    from sqlalchemy import select, text

    from app import create_app
    from app.assets.models import Asset
    from app.auth.identity import Identity
    from app.equipment import dispatch, service
    from app.extensions import db
    from app.feeds import service as feeds
    from app.users.models import Role

    app = create_app({"DATABASE_URL": env["DATABASE_URL"], "LOG_LEVEL": "WARNING"})
    # Faulty lights would open tickets (warnings without the catalogue): not measured here.
    logging.getLogger("app.feeds").setLevel(logging.ERROR)
    supervisor = Identity(uid="bench-supervisor", role=Role.SUPERVISOR, anonymous=False, email=None)
    with app.app_context():
        session = db.session
        feed, _ = feeds.put_feed(
            session,
            FEED,
            {
                "kind": "streetlights",
                "format": "ngsi-ld",
                "source_url": f"{url}/ngsi-ld/v1/entities?type=Streetlight&options=keyValues",
                "poll_interval_seconds": 30,
                "freshness_limit_seconds": 3600,
                "enabled": True,
            },
        )
        feed_id = feed.id
        outcome = feeds.poll_feed(session, feed_id)
        assert outcome["seen"] == LIGHTS, outcome
        references = list(
            session.scalars(
                select(Asset.reference).where(Asset.reference.like("BL-%")).order_by(Asset.id)
            )
        )
        session.rollback()
        policy = dispatch.Policy.from_config(app.config)
        broker = dispatch.HttpBroker()
        plain_patches(url, references[:300], "switch_on")  # warm-up: connections, threads
        sent_rates, plain_rates, latencies, polls = [], [], [], []
        for round_ in range(args.rounds):
            name = ("switch_off", "switch_on")[round_ % 2]
            accepted = time.perf_counter()
            out = service.request_selection(
                session,
                actor=supervisor,
                data={
                    "command": name,
                    "reason": "benchmark",
                    "selection": {"references": references},
                },
                config=app.config,
                claim={
                    "owner": supervisor.uid,
                    "scope": "bench",
                    "key": str(uuid.uuid4()),
                    "request_fingerprint": "-",
                },
                render=lambda commands: [{"id": c.id} for c in commands],
            )
            accept_seconds = time.perf_counter() - accepted
            ids = [c["id"] for c in out.body["commands"]]
            assert len(ids) == LIGHTS
            start = time.perf_counter()
            counts = dispatch.dispatch(session, broker, policy)
            sending = time.perf_counter() - start
            assert counts["sent"] == LIGHTS, counts
            sent_rates.append(LIGHTS / sending)
            # A light reporting a fault does not obey: its command expires (not waited for).
            faulty = session.scalar(
                text(
                    "SELECT count(*) FROM asset_live_states WHERE feed_id = :feed"
                    " AND fault IS NOT NULL"
                ),
                {"feed": feed_id},
            )
            deadline = time.monotonic() + 120
            n_polls = 0
            while True:
                feeds.poll_feed(session, feed_id)
                n_polls += 1
                confirmed = session.scalar(
                    text(
                        "SELECT count(*) FROM equipment_commands WHERE id = ANY(:ids)"
                        " AND state = 'confirmed'"
                    ),
                    {"ids": ids},
                )
                session.rollback()
                if confirmed >= LIGHTS - faulty or time.monotonic() > deadline:
                    break
            assert confirmed >= LIGHTS - faulty, f"{confirmed} of {LIGHTS} confirmed in 2 min"
            polls.append(n_polls)
            latencies += list(
                session.scalars(
                    text(
                        "SELECT extract(epoch FROM settled_at - created_at) FROM"
                        " equipment_commands WHERE id = ANY(:ids) AND state = 'confirmed'"
                    ),
                    {"ids": ids},
                )
            )
            session.rollback()
            plain_rates.append(plain_patches(url, references, name))
            print(
                f"  round {round_ + 1}: {name}, accepted in {accept_seconds:.2f} s, sent in "
                f"{sending:.2f} s, {confirmed:,} confirmed after {n_polls} polls ({faulty} "
                "lights reporting a fault do not obey: their commands expire)",
                flush=True,
            )
        broker.close()
    ours, plain = statistics.median(sent_rates), statistics.median(plain_rates)
    latencies = [float(v) for v in latencies]
    print(
        f"equipment commands, a selection of {LIGHTS:,} street lights, {args.rounds} rounds "
        f"(median; shared, noisy machine):"
    )
    print(f"  baseline, plain httpx PATCHes to the simulator ({THREADS} threads): {plain:7,.0f}/s")
    print(
        f"  outbox -> dispatcher -> PATCH -> recorded:                    {ours:7,.0f}/s "
        f"({ours / plain:.2f} x baseline)"
    )
    print(
        f"  accepted -> confirmed (lights obey after {args.delay:g} s; feed polled back to "
        f"back): median {statistics.median(latencies):.2f} s, p95 "
        f"{percentile(latencies, 0.95):.2f} s over {len(latencies):,} commands"
    )
    print(
        f"  rounds: ours {[round(v) for v in sent_rates]}, "
        f"baseline {[round(v) for v in plain_rates]}"
    )


if __name__ == "__main__":
    main()
