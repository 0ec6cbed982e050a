"""The floor under intake: the SQL of real report submissions, replayed by psycopg alone.

`capture` submits reports in-process through the Flask app and records every statement each
request sent to PostgreSQL, with its parameters. `replay` runs those transactions again from
several connections at once (threads: psycopg releases the GIL while it waits), each with a
fresh Idempotency-Key, as fast as the database allows. What separates intake through
gunicorn from this is the web stack and our Python; what separates this from the target is
PostgreSQL on this machine.
"""

import random
import statistics
import threading
import time
import uuid

import psycopg
from sqlalchemy import event

from app import create_app
from app.extensions import db

# Parameters that make a replayed transaction a new request (the key and its lock).
KEY_PARAMS = ("key", "key_1")
LOCK_PARAM = "pg_try_advisory_xact_lock_1"


def capture(env: dict, count: int, body) -> list[list[tuple[str, dict]]]:
    """The statements of ``count`` submissions (``body(i)`` gives the JSON of the i-th)."""
    app = create_app(
        {
            "DATABASE_URL": env["DATABASE_URL"],
            "FIREBASE_AUTH_EMULATOR_HOST": env["FIREBASE_AUTH_EMULATOR_HOST"],
            "RATELIMIT_ENABLED": False,
            "LOG_LEVEL": "WARNING",
        }
    )
    client = app.test_client()
    headers = {"Authorization": f"Bearer {env['SIGNALE_TOKEN']}"}
    transactions: list[list[tuple[str, dict]]] = []
    current: list[tuple[str, dict]] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        current.append((statement, dict(parameters or {})))

    event.listen(engine, "before_cursor_execute", record)
    try:
        for i in range(count):
            current.clear()
            response = client.post(
                "/v1/reports", json=body(i), headers={**headers, "Idempotency-Key": f"f{i}"}
            )
            if response.status_code != 201:
                raise SystemExit(f"capture failed: {response.status_code} {response.get_json()}")
            transactions.append(list(current))
    finally:
        event.remove(engine, "before_cursor_execute", record)
        with app.app_context():
            db.engine.dispose()
    return transactions


def replay(
    url: str, transactions: list, *, connections: int, seconds: float
) -> tuple[float, float, float, float]:
    """Transactions per second and p50/p95/p99 latency (ms) of replaying ``transactions``."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    stop = time.monotonic() + seconds
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        rnd = random.Random(n)
        try:
            with psycopg.connect(url) as conn:
                while time.monotonic() < stop:
                    statements = rnd.choice(transactions)
                    key = uuid.uuid4().hex
                    start = time.perf_counter()
                    with conn.transaction():
                        for sql, params in statements:
                            params = {
                                **params,
                                **{k: key for k in KEY_PARAMS if k in params},
                            }
                            if LOCK_PARAM in params:
                                params[LOCK_PARAM] = rnd.getrandbits(63)
                            cursor = conn.execute(sql, params)
                            if cursor.description is not None:  # rows to read
                                cursor.fetchall()
                    latencies[n].append((time.perf_counter() - start) * 1000)
        except BaseException as error:  # reported by the caller
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    begun = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"replay failed: {errors[0]!r}")
    elapsed = time.monotonic() - begun
    done = sorted(value for per in latencies for value in per)

    def pct(q: float) -> float:
        return done[min(len(done) - 1, int(len(done) * q))]

    return len(done) / elapsed, statistics.median(done), pct(0.95), pct(0.99)
