"""Push dispatch: 10,000 pending notifications drained through firebase-admin (send_each,
500 per call) to the FCM stand-in, and the time from a state change's commit to FCM's
acceptance with the rq worker idle, against baselines measured in the same run:
- throughput: the same HTTP calls (same JSON bodies, 500 concurrent per batch, as
  send_each makes them) posted to the same stand-in with a plain HTTP client (requests),
  with no database, no outbox and no firebase-admin;
- latency: one such plain call, made alone.

The stand-in runs in its own process on 127.0.0.1, started here. Targets (issue 6): at
least 1,000 notifications/s; p99 commit-to-accept under 2 s.

Uses its own database, `signale_bench_notify` (migrated with `flask db upgrade`; reference
data loaded once); what an earlier run left is removed first.

    make bench        # or: python benchmarks/bench_notifications.py [--rounds N] [--samples N]
"""

import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_http_ceiling import free_port  # noqa: E402
from benchmarks.dataset import PROJECT  # noqa: E402
from benchmarks.harness import FLASK, own_database, start_listening  # noqa: E402
from tools.pg import libpq_url  # noqa: E402

DATABASE = "signale_bench_notify"
QUEUE = "bench-notify"  # its own rq queue: nothing else's jobs in the way
PENDING = 10_000
REPORTER = "bench-notify-reporter"
RESIDENT = "bench-notify-{}"


def prepare(env: dict) -> None:
    with psycopg.connect(libpq_url(env["DATABASE_URL"])) as conn:
        have = conn.execute("SELECT count(*) FROM categories").fetchone()[0]
        # What an earlier run left (its events, notifications and deliveries go with them).
        conn.execute("DELETE FROM reports WHERE reporter_uid = %s", (REPORTER,))
        conn.execute("DELETE FROM devices WHERE uid LIKE 'bench-notify-%%'")
        conn.execute(
            "INSERT INTO devices (uid, token, platform, locale) "
            "SELECT 'bench-notify-' || i, 'bench-token-' || i, 'android', "
            "CASE WHEN i %% 5 = 0 THEN 'en-GB' ELSE 'fr-FR' END "
            "FROM generate_series(0, %s) AS i",
            (PENDING - 1,),
        )
    if not have:
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        subprocess.run([*FLASK, "reference", "load"], env=env, cwd=ROOT, check=True, **quiet)


def start_standin(env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "tools.fcm_standin", "--port", str(port)]
    process = start_listening(command, env, port, "the FCM stand-in", timeout=30)
    return process, f"http://127.0.0.1:{port}"


def app_for(env: dict, endpoint: str, *, push: bool):
    """The application on the benchmark's database; ``push``: FCM configured, so that a
    commit writing deliveries queues the dispatcher (the latency run)."""
    from app import create_app

    return create_app(
        {
            "DATABASE_URL": env["DATABASE_URL"],
            "LOG_LEVEL": "WARNING",
            "FCM_CREDENTIALS": "static-token" if push else "",
            "FCM_ENDPOINT": endpoint,
            "FCM_PROJECT_ID": PROJECT,
        }
    )


def a_report(app) -> int:
    from geoalchemy2 import WKTElement
    from sqlalchemy import select

    from app.categories.models import Category
    from app.extensions import db
    from app.reports.models import Report

    with app.app_context():
        report = Report(
            category_id=db.session.scalar(select(Category.id).order_by(Category.id).limit(1)),
            status="acknowledged",
            geom=WKTElement("POINT(5.0415 47.322)", srid=4326),
            commune_insee="21231",
            reporter_uid=REPORTER,
            routing={},
        )
        db.session.add(report)
        db.session.commit()
        report_id = report.id
        db.session.remove()
    return report_id


def state_change(session, report_id: int, uids, **notify_kwargs) -> int:
    """A public event of the report told to ``uids`` (the triage hook's own call); flushed,
    not committed. Returns its id."""
    from app.notifications import outbox
    from app.reports.models import Report
    from app.triage.models import ReportEvent

    report = session.get(Report, report_id)
    event = ReportEvent(
        report_id=report_id,
        actor_uid="bench-agent",
        actor_role="agent",
        action="start",
        from_status="assigned",
        to_status="in_progress",
        public=True,
        message_fr="L'équipe est sur place.",
        message_en="The crew is on site.",
        details={},
    )
    session.add(event)
    session.flush()
    outbox.notify(session, event=event, report=report, recipients=uids)
    return event.id


# --- throughput ------------------------------------------------------------------------------


def write_pending(app, report_id: int) -> None:
    from app.extensions import db

    with app.app_context():
        state_change(db.session, report_id, [RESIDENT.format(i) for i in range(PENDING)])
        db.session.commit()
        db.session.remove()


def drain(app, endpoint: str) -> tuple[float, int]:
    """Seconds to send every due delivery, and how many FCM accepted."""
    from app.extensions import db
    from app.notifications.dispatch import Policy, dispatch
    from app.notifications.fcm import FirebaseSender

    sender = FirebaseSender(project_id=PROJECT, credentials="static-token", endpoint=endpoint)
    with app.app_context():
        start = time.perf_counter()
        counts = dispatch(db.session, sender, Policy.from_config(app.config))
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed, counts["sent"]


def plain_bodies(count: int) -> list[bytes]:
    """The JSON firebase-admin posts for a push like ours (token, notification, data, the
    collapse settings of each platform)."""
    import json

    return [
        json.dumps(
            {
                "message": {
                    "token": f"bench-token-{i}",
                    "notification": {
                        "title": "Intervention en cours : 2026-000001",
                        "body": "L'équipe est sur place.",
                    },
                    "data": {
                        "report_id": "1",
                        "reference": "2026-000001",
                        "status": "in_progress",
                        "kind": "in_progress",
                        "notification_id": str(i),
                    },
                    "android": {"collapse_key": "report-1"},
                    "apns": {"headers": {"apns-collapse-id": "report-1"}},
                    "webpush": {"headers": {"Topic": "report-1"}},
                }
            }
        ).encode()
        for i in range(count)
    ]


def plain_session(endpoint: str) -> requests.Session:
    session = requests.Session()
    session.mount(endpoint, requests.adapters.HTTPAdapter(pool_connections=10, pool_maxsize=500))
    session.headers.update(
        {"Authorization": "Bearer plain", "Content-Type": "application/json; charset=UTF-8"}
    )
    return session


def plain_throughput(endpoint: str, bodies: list[bytes]) -> float:
    """Seconds to post ``bodies`` with a plain client, 500 at a time each on its own thread
    (as send_each does), waiting for a batch before the next."""
    url = f"{endpoint}/v1/projects/{PROJECT}/messages:send"
    session = plain_session(endpoint)
    start = time.perf_counter()
    for offset in range(0, len(bodies), 500):
        batch = bodies[offset : offset + 500]
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(batch)) as pool:
            statuses = list(pool.map(lambda body: session.post(url, data=body).status_code, batch))
        assert set(statuses) == {200}, set(statuses)
    elapsed = time.perf_counter() - start
    session.close()
    return elapsed


# --- latency ----------------------------------------------------------------------------------


def start_worker(env: dict, endpoint: str) -> subprocess.Popen:
    from redis import Redis
    from rq import Worker

    worker_env = {
        **env,
        "SIGNALE_FCM_CREDENTIALS": "static-token",
        "SIGNALE_FCM_ENDPOINT": endpoint,
        "SIGNALE_FCM_PROJECT_ID": PROJECT,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "worker"], env=worker_env, cwd=ROOT, stderr=subprocess.DEVNULL
    )
    redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    deadline = time.monotonic() + 60
    while not any(QUEUE in w.queue_names() for w in Worker.all(connection=redis)):
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError("the worker did not start")
        time.sleep(0.1)
    time.sleep(1)  # idle: its start-up done
    return process


def commit_to_accept(app, env: dict, report_id: int, samples: int) -> list[float]:
    """Seconds from the commit of a state change (one resident told, one device) to FCM's
    acceptance as recorded by the dispatcher (sent_at: taken right after FCM answered)."""
    from app.extensions import db

    timings = []
    with psycopg.connect(libpq_url(env["DATABASE_URL"]), autocommit=True) as watch:
        for i in range(samples):
            with app.app_context():
                event_id = state_change(db.session, report_id, [RESIDENT.format(i)])
                committed = time.time()
                db.session.commit()  # queues the dispatcher once committed
                db.session.remove()
            deadline = time.monotonic() + 30
            while True:
                row = watch.execute(
                    "SELECT extract(epoch FROM d.sent_at) FROM notification_deliveries d "
                    "JOIN notifications n ON n.id = d.notification_id "
                    "WHERE n.event_id = %s AND d.status = 'sent'",
                    (event_id,),
                ).fetchone()
                if row:
                    timings.append(float(row[0]) - committed)
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"sample {i} was not sent within 30 s")
                time.sleep(0.002)
            time.sleep(0.05)  # the worker idle again
    return timings


def plain_latency(endpoint: str, samples: int) -> list[float]:
    url = f"{endpoint}/v1/projects/{PROJECT}/messages:send"
    session = plain_session(endpoint)
    bodies = plain_bodies(samples)
    timings = []
    for body in bodies:
        start = time.perf_counter()
        assert session.post(url, data=body).status_code == 200
        timings.append(time.perf_counter() - start)
    session.close()
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    env = own_database(DATABASE, SIGNALE_QUEUES=QUEUE)
    os.environ["SIGNALE_QUEUES"] = QUEUE
    prepare(env)
    standin, endpoint = start_standin(env)
    worker = None
    try:
        quiet_app = app_for(env, endpoint, push=False)
        report_id = a_report(quiet_app)
        bodies = plain_bodies(PENDING)
        plain_throughput(endpoint, bodies[:1000])  # warm-up: connections, threads
        ours, plain = [], []
        for _ in range(args.rounds):  # interleaved: the shared machine's noise spreads
            plain.append(PENDING / plain_throughput(endpoint, bodies))
            write_pending(quiet_app, report_id)
            elapsed, sent = drain(quiet_app, endpoint)
            assert sent == PENDING, f"{sent} of {PENDING} accepted"
            ours.append(PENDING / elapsed)
        print(f"dispatch of {PENDING:,} pending notifications, {args.rounds} rounds (median):")
        print(f"  baseline, plain HTTP client to the stand-in: {statistics.median(plain):8,.0f}/s")
        print(
            f"  outbox -> firebase-admin send_each -> stand-in: {statistics.median(ours):6,.0f}/s"
            f"  ({statistics.median(ours) / statistics.median(plain):.2f} x baseline; "
            f"target >= 1,000/s: {'met' if statistics.median(ours) >= 1000 else 'NOT met'})"
        )
        print(f"  rounds: ours {[round(v) for v in ours]}, baseline {[round(v) for v in plain]}")

        worker = start_worker(env, endpoint)
        push_app = app_for(env, endpoint, push=True)
        latency = commit_to_accept(push_app, env, report_id, args.samples)
        baseline = plain_latency(endpoint, args.samples)
        median, p99 = statistics.median(latency), percentile(latency, 0.99)
        base_median, base_p99 = statistics.median(baseline), percentile(baseline, 0.99)
        print(f"commit-to-accept, worker idle, {args.samples} state changes one at a time:")
        print(
            f"  baseline, one plain HTTP call: median {base_median * 1000:7.1f} ms, "
            f"p99 {base_p99 * 1000:7.1f} ms"
        )
        print(
            f"  commit -> rq -> dispatcher -> FCM accepted: median {median * 1000:7.1f} ms, "
            f"p99 {p99 * 1000:7.1f} ms ({median / base_median:.0f} x baseline median; "
            f"target p99 < 2 s: {'met' if p99 < 2 else 'NOT met'})"
        )
    finally:
        for process in (worker, standin):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
