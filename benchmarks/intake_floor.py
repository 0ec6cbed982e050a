"""The floor under intake: the SQL of real report submissions, replayed without our Python.

`capture` submits reports in-process through the Flask app and records every statement each
request sent to PostgreSQL, with its parameters. `replay` runs those transactions again from
several connections at once (threads: psycopg releases the GIL while it waits), each with a
fresh Idempotency-Key, as fast as the database allows. What separates intake through
gunicorn from this is the web stack and our Python; what separates this from the target is
PostgreSQL on this machine.

`pgbench_scripts` and `pgbench` replay them with PostgreSQL's own pgbench instead (C, one
process, prepared statements like psycopg's): Python threads replaying the SQL compete for
the same two cores as the server and measured the client as much as the database. Each
captured transaction becomes one script (BEGIN, its statements, COMMIT) with the point's
lon/lat bound as parameters (the routing lookup keeps its generic plan), a random
Idempotency-Key and advisory lock per run, everything else as the request sent it.
"""

import datetime
import json
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

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
        # The first request also reads the caller's identity, which later ones find cached.
        for i in range(-1, count):
            current.clear()
            response = client.post(
                "/v1/reports",
                json=body(max(i, 0)),
                headers={**headers, "Idempotency-Key": f"floor-{uuid.uuid4()}"},
            )
            if response.status_code != 201:
                raise SystemExit(f"capture failed: {response.status_code} {response.get_json()}")
            if i >= 0:
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


# Parameters bound by pgbench per run (names of the app's bind parameters -> pgbench
# variables): a fresh key and lock make each run a new request; the point stays a parameter.
PGBENCH_VARIABLES = {"lon": ":lon", "lat": ":lat", "lock": ":lock", "key": ":key", "key_1": ":key"}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _literal(value) -> str:
    """``value`` as SQL text pgbench sends untouched: strings as E'' literals with their colons
    escaped (pgbench would read ``:name`` as one of its variables)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if hasattr(value, "obj"):  # psycopg's Json/Jsonb wrappers
        value = json.dumps(value.obj, default=str)
    elif isinstance(value, dict | list):
        value = json.dumps(value, default=str)
    elif isinstance(value, datetime.timedelta):
        return f"'{value.total_seconds()} seconds'::interval"
    elif isinstance(value, datetime.time | datetime.datetime | datetime.date):
        value = value.isoformat()
    text = str(value).replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\x3a")
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return f"E'{text}'"


def pgbench_script(statements: list[tuple[str, dict]]) -> str:
    """One transaction as a pgbench script (see the module's docstring)."""
    point = next((p for _, p in statements if "lon" in p), None)
    lines = []
    if point is not None:
        lines += [f"\\set lon {point['lon']!r}", f"\\set lat {point['lat']!r}"]
    lines += [
        "\\set lock random(1, 4611686018427387903)",
        "\\set key random(1, 9223372036854775807)",
        "BEGIN;",
    ]
    for sql, params in statements:

        def value(match, params=params):
            name = match.group(1)
            if name in PGBENCH_VARIABLES:
                kind = {"lon": "float8", "lat": "float8", "lock": "bigint"}.get(name, "text")
                return f"CAST({PGBENCH_VARIABLES[name]} AS {kind})"
            return _literal(params[name])

        text = _PLACEHOLDER.sub(value, sql).replace("%%", "%")
        lines.append(text.replace("\n", " ") + ";")
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def pgbench(
    url: str, transactions: list, *, connections: int, seconds: float, scripts: int = 50
) -> tuple[float, float, float, float]:
    """Transactions per second and p50/p95/p99 latency (ms) of pgbench replaying (up to
    ``scripts`` of) ``transactions``, prepared statements, ``connections`` clients on 2
    threads."""
    folder = Path(tempfile.mkdtemp(prefix="signale-intake-floor-"))
    try:
        files = []
        for n, statements in enumerate(transactions[:scripts]):
            path = folder / f"intake{n}.sql"
            path.write_text(pgbench_script(statements))
            files += ["-f", f"{path}@1"]
        out = subprocess.run(
            [
                "pgbench",
                "-n",
                "-M",
                "prepared",
                "-c",
                str(connections),
                "-j",
                "2",
                "-T",
                str(int(seconds)),
                "-l",
                "--log-prefix",
                str(folder / "log"),
                *files,
                url,
            ],
            capture_output=True,
            text=True,
            cwd=folder,
        )
        if out.returncode != 0:
            raise SystemExit(f"pgbench failed:\n{out.stdout}\n{out.stderr}")
        tps = float(re.search(r"tps = ([\d.]+) \(without initial", out.stdout).group(1))
        done = sorted(
            int(line.split()[2]) / 1000
            for log in folder.glob("log*")
            for line in log.read_text().splitlines()
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def pct(q: float) -> float:
        return done[min(len(done) - 1, int(len(done) * q))]

    return tps, statistics.median(done), pct(0.95), pct(0.99)
