"""Beyond one machine: two API nodes (gunicorn, as `make run` starts it) behind Debian's
HAProxy, two rq workers and two cron processes, sharing one PostgreSQL, one Redis, an S3
bucket (moto's server on 127.0.0.1) and FCM (the stand-in). Residents report through the
balancer, each report with a photo, and retry as the app does (same Idempotency-Key, same
body) until acknowledged; the desk acknowledges each report, which pushes to its reporter's
phone. Mid-run one API node is SIGKILLed (master and workers) and so is the worker holding
the push dispatcher with its batch at FCM's door. Afterwards every report acknowledged with
a 201 is in the database once, every photo is processed (its files in the bucket, none on a
node's disk) and every push reached FCM once."""

import contextlib
import csv
import io
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from rq import Queue, Worker
from sqlalchemy import select, text

from app.extensions import db
from app.jobs import worker_queues
from app.users.models import Role
from tests import servers
from tests.conftest import PROJECT_ID, redis_test_url
from tests.photos.images import jpeg
from tools.fcm_standin import FcmStandIn
from tools.launcher import HAPROXY

pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]
RESIDENTS = 6
REPORTS_EACH = 5
DISPATCH = "worker.jobs.dispatch_notifications"
S3 = {"S3_ACCESS_KEY_ID": "testing", "S3_SECRET_ACCESS_KEY": "testing", "S3_REGION": "eu-west-3"}
# Bounds for a loaded machine (each waits for something to happen), never measures.
DEADLINE = 90


# The balancer. L7 retries (retry-on beyond conn-failure) send again a request the node
# may have started on before it died: only safe where the API makes a repeat harmless, so
# they are kept for safe methods and requests carrying an Idempotency-Key (a retried POST
# replays the stored answer or does the work once). Any other POST is retried only when
# it never reached a node (conn-failure), and its client decides. A slow node is not a
# dead one: no retry on response-timeout (the key would answer 409 in progress meanwhile).
HAPROXY_CONFIG = """
global
    maxconn 1024

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 2s
    option forwardfor
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response junk-response

frontend api
    bind 127.0.0.1:{port}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    acl safe_method method GET HEAD OPTIONS
    acl idempotency_key req.hdr(Idempotency-Key) -m found
    http-request disable-l7-retry if !safe_method !idempotency_key
    default-server inter 500ms fastinter 250ms fall 2 rise 2
    server a 127.0.0.1:{a} check
    server b 127.0.0.1:{b} check

frontend stats
    bind 127.0.0.1:{stats}
    stats enable
    stats uri /stats
"""


@contextlib.contextmanager
def haproxy(tmp_path: Path, a: int, b: int):
    """HAProxy in front of the nodes on ports a and b; yields (its URL, its stats' URL)."""
    port, stats = servers.free_port(), servers.free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=port, stats=stats, a=a, b=b))
    check = subprocess.run([str(HAPROXY), "-c", "-q", "-f", str(config)], capture_output=True)
    assert check.returncode == 0, check.stderr.decode()
    process = subprocess.Popen(
        [str(HAPROXY), "-db", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url, stats_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{stats}/stats;csv"
    try:
        until(lambda: both_up(stats_url), "the balancer sees both nodes up", process)
        yield url, stats_url
    finally:
        process.terminate()
        process.wait(30)


def backend_stats(stats_url: str) -> dict[str, dict]:
    """The balancer's counters of each node (HAProxy's CSV statistics)."""
    body = requests.get(stats_url, timeout=5).text.lstrip("# ")
    rows = csv.DictReader(io.StringIO(body))
    return {row["svname"]: row for row in rows if row["pxname"] == "nodes"}


def both_up(stats_url: str) -> bool:
    with contextlib.suppress(requests.RequestException):
        nodes = backend_stats(stats_url)
        return all(nodes[name]["status"] == "UP" for name in ("a", "b"))
    return False


def until(condition, what: str, *alive: subprocess.Popen, deadline: float = DEADLINE):
    """Wait until ``condition()`` holds (a bound, not a measure), while ``alive`` run."""
    end = time.monotonic() + deadline
    while not (result := condition()):
        for process in alive:
            assert process.poll() is None, f"{process.args} exited while waiting: {what}"
        assert time.monotonic() < end, f"not within {deadline}s: {what}"
        time.sleep(0.2)
    return result


@pytest.fixture
def bucket():
    """An S3 bucket on moto's server (127.0.0.1), as the nodes and workers see it."""
    port = servers.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3["S3_REGION"],
        aws_access_key_id=S3["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=S3["S3_SECRET_ACCESS_KEY"],
    )
    name = f"signale-{uuid.uuid4().hex[:8]}"
    client.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": S3["S3_REGION"]}
    )
    yield client, name, endpoint
    server.stop()


@pytest.fixture
def standin():
    server = FcmStandIn(PROJECT_ID).start()
    yield server
    server.release()
    server.stop()


def settings(database_url: str, bucket_name: str, endpoint: str, fcm: str) -> dict:
    """What every node, worker and the cron process is started with: the shared services,
    and sweeps and leases short enough for a test (real settings, shortened)."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_test_url(),
        "SIGNALE_ENV": "test",
        "LOG_LEVEL": "WARNING",
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": bucket_name,
        "S3_ENDPOINT_URL": endpoint,
        **S3,
        "FCM_CREDENTIALS": "static-token",
        "FCM_ENDPOINT": fcm,
        # HAProxy appends the client's address (option forwardfor); every client of this
        # test is 127.0.0.1, so the limits are lifted (tests/test_ratelimit.py has them).
        "SIGNALE_TRUSTED_PROXIES": "1",
        "SIGNALE_RATELIMIT_REPORTS_PER_USER": "100000/minute",
        "SIGNALE_RATELIMIT_REPORTS_PER_IP": "100000/minute",
        "SIGNALE_RATELIMIT_PHOTOS_PER_USER": "100000/minute",
        "SIGNALE_RATELIMIT_PHOTOS_PER_IP": "100000/minute",
        "SIGNALE_NOTIFICATIONS_LEASE_SECONDS": "5",
        "SIGNALE_NOTIFICATIONS_RETRY_BASE_SECONDS": "1",
        "SIGNALE_NOTIFICATIONS_SWEEP_INTERVAL_SECONDS": "3",
        "SIGNALE_PHOTOS_SWEEP_INTERVAL_SECONDS": "5",
        "SIGNALE_PHOTOS_SWEEP_AFTER_SECONDS": "20",
    }


@contextlib.contextmanager
def background(env: dict, *args: str):
    """``python -m <args>`` in a process group of its own; stopped on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


def descendants(pid: int) -> list[int]:
    """The process's children and theirs (from /proc): rq's work horse has a session of
    its own, out of the worker's process group."""
    found = []
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += [*descendants(int(child)), int(child)]
    return found


def holding(workers: list[subprocess.Popen], func_name: str, redis_conn):
    """Our worker process whose work horse runs a job of ``func_name`` now, if one does."""
    ours = {process.pid: process for process in workers if process.poll() is None}
    queue_ = Queue(worker_queues()[0], connection=redis_conn)
    for registered in Worker.all(queue=queue_):
        job = registered.get_current_job()
        if registered.pid in ours and job is not None and job.func_name == func_name:
            return ours[registered.pid]
    return None


class Resident:
    """A phone: files reports through the balancer and, as the app does, sends a request
    again with the same Idempotency-Key and body on a connection error, a 5xx, a timeout
    or a 409 "in progress", until it is answered."""

    def __init__(self, base: str, token: str, run: str):
        self.base, self.run = base, run
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.retries = 0

    def send(self, method: str, path: str, **kwargs) -> requests.Response:
        end = time.monotonic() + DEADLINE
        while True:
            with contextlib.suppress(requests.RequestException):
                response = self.http.request(method, self.base + path, timeout=30, **kwargs)
                busy = response.status_code == 409 and (
                    response.json().get("code") == "idempotency_in_progress"
                )
                if response.status_code < 500 and not busy:
                    return response
            self.retries += 1
            assert time.monotonic() < end, f"{method} {path} never answered"
            time.sleep(0.2)

    def report(self, number: int, lon: float, lat: float) -> tuple[str, int]:
        """A report and its photo; returns (its Idempotency-Key, its id)."""
        key = f"{self.run}-{uuid.uuid4().hex}"
        body = {
            "category": "pothole",
            "location": {"lon": lon, "lat": lat},
            "answers": {"size": "small"},
            "description": f"multinode {key}",
        }
        created = self.send("POST", "/v1/reports", json=body, headers={"Idempotency-Key": key})
        assert created.status_code == 201, created.text
        report_id = created.json()["id"]
        photo = jpeg(colour=(number * 7 % 256, 90, 40))
        uploaded = self.send(
            "POST",
            f"/v1/reports/{report_id}/photos",
            files={"file": ("photo.jpg", photo, "image/jpeg")},
            headers={"Idempotency-Key": f"{key}-photo"},
        )
        assert uploaded.status_code == 202, uploaded.text
        return key, report_id


class Desk:
    """The desk's agent acknowledging reports through the balancer. An action is sent with
    If-Match: sent again after an error it cannot apply twice (the ETag moved), and the
    report's state says whether the first one was."""

    def __init__(self, base: str, token: str):
        self.base = base
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def acknowledge(self, report_id: int) -> None:
        end = time.monotonic() + DEADLINE
        while True:
            assert time.monotonic() < end, f"report {report_id} never acknowledged"
            try:
                shown = self.http.get(f"{self.base}/v1/reports/{report_id}", timeout=30)
                if shown.status_code != 200:
                    continue
                if shown.json()["status"] == "acknowledged":
                    return
                acted = self.http.post(
                    f"{self.base}/v1/reports/{report_id}/actions/acknowledge",
                    headers={"If-Match": shown.headers["ETag"]},
                    json={},
                    timeout=30,
                )
                if acted.status_code == 200:
                    return
                assert acted.status_code >= 500 or acted.status_code == 412, acted.text
            except requests.RequestException:
                pass
            finally:
                time.sleep(0.05)


def desk_agent(app) -> str:
    """A token of an agent of every desk a report may be routed to."""
    from app.auth.tokens import mint_emulator_token
    from app.organisation.models import Desk as DeskRow
    from app.users.service import put_user

    uid = f"agent-{uuid.uuid4().hex[:8]}"
    with app.app_context():
        desks = list(db.session.scalars(select(DeskRow.code)))
        put_user(db.session, actor=None, uid=uid, role=Role.AGENT, desks=desks)
        db.session.remove()
    return mint_emulator_token(PROJECT_ID, uid)


def test_an_api_node_and_a_worker_killed_under_load_lose_and_double_nothing(
    app, database_url, token_for, bucket, standin, redis_conn, tmp_path
):
    Queue(worker_queues()[0], connection=redis_conn).empty()  # earlier tests' jobs
    s3, bucket_name, endpoint = bucket
    env = settings(database_url, bucket_name, endpoint, standin.url)
    run = uuid.uuid4().hex[:8]
    media = [tmp_path / "media-a", tmp_path / "media-b"]
    agent = desk_agent(app)
    with contextlib.ExitStack() as stack:
        nodes = [stack.enter_context(servers.gunicorn(database_url, m, env=env)) for m in media]
        node_a = servers.running[nodes[0]]
        base, stats_url = stack.enter_context(haproxy(tmp_path, *nodes))
        # Two worker machines, each with its worker and its cron process (one leads).
        workers = [stack.enter_context(background(env, "worker")) for _ in range(2)]
        for _ in range(2):
            stack.enter_context(background(env, "worker.cron"))

        residents = []
        for n in range(RESIDENTS):
            uid = f"resident-{run}-{n}"
            resident = Resident(base, token_for(Role.RESIDENT, uid=uid), run)
            device = resident.send(
                "POST", "/v1/me/devices", json={"token": f"tok-{uid}", "platform": "android"}
            )
            assert device.status_code == 200, device.text
            residents.append(resident)

        acknowledged: dict[str, int] = {}  # Idempotency-Key -> report id (201)
        lock = threading.Lock()
        third = threading.Event()
        to_desk: queue.Queue = queue.Queue()
        total = RESIDENTS * REPORTS_EACH
        errors: list[BaseException] = []

        def reporting(n: int, resident: Resident) -> None:
            try:
                for i in range(REPORTS_EACH):
                    # Apart (about 400 m): not taken for duplicates of each other.
                    spot = n * REPORTS_EACH + i
                    lon, lat = 5.005 + 0.006 * (spot % 8), 47.305 + 0.004 * (spot // 8)
                    key, report_id = resident.report(spot, lon, lat)
                    with lock:
                        acknowledged[key] = report_id
                        if len(acknowledged) >= total // 3:
                            third.set()
                    to_desk.put(report_id)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        def desk_work(desk: Desk) -> None:
            try:
                while (report_id := to_desk.get()) is not None:
                    desk.acknowledge(report_id)
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=reporting, args=(n, r), daemon=True)
            for n, r in enumerate(residents)
        ]
        desk_thread = threading.Thread(target=desk_work, args=(Desk(base, agent),), daemon=True)
        for thread in [*threads, desk_thread]:
            thread.start()

        # A third of the reports in: node a, which has served its share, is lost whole.
        assert third.wait(DEADLINE), errors
        served_by_a = int(backend_stats(stats_url)["a"]["hrsp_2xx"])
        assert served_by_a > 0
        os.killpg(node_a.pid, signal.SIGKILL)

        # The next push batch is held at FCM's door; the worker running it is SIGKILLed
        # (the worker and its work horse, as an OOM kill of the machine would), and the
        # connections die with it before FCM read the requests.
        standin.hold()
        until(
            lambda: (not errors and standin.in_flight.acquire(timeout=0.5)) or errors,
            "a push batch reaches FCM",
        )
        assert not errors, errors
        victim = until(lambda: holding(workers, DISPATCH, redis_conn), "the dispatcher's worker")
        for pid in [*descendants(victim.pid), victim.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        victim.wait(30)
        standin.release(drop=True)
        (survivor,) = [process for process in workers if process is not victim]

        for thread in threads:
            thread.join(DEADLINE)
        to_desk.put(None)
        desk_thread.join(DEADLINE)
        assert not errors, errors
        assert len(acknowledged) == total

        # The balancer sent traffic to both nodes, and node a is out of its rotation.
        nodes_after = backend_stats(stats_url)
        assert int(nodes_after["b"]["hrsp_2xx"]) > 0
        assert nodes_after["a"]["status"].startswith("DOWN")

        with app.app_context():
            # Every report acknowledged with a 201 is in the database, once.
            rows = db.session.execute(
                text("SELECT id, description FROM reports WHERE description LIKE :marker"),
                {"marker": f"multinode {run}-%"},
            ).all()
            stored = Counter(row.description.removeprefix("multinode ") for row in rows)
            assert stored == Counter(acknowledged.keys())
            assert {row.id for row in rows} == set(acknowledged.values())
            assert db.session.scalar(text("SELECT count(*) FROM reports")) == total

            # Every photo, one per report, is processed by the workers left.
            def photos():
                db.session.remove()
                return db.session.execute(
                    text("SELECT report_id, status, display_key, thumbnail_key FROM photos")
                ).all()

            until(
                lambda: (
                    len(found := photos()) == total
                    and all(photo.status == "ready" for photo in found)
                ),
                "every photo ready",
                survivor,
            )
            found = photos()
            assert sorted(photo.report_id for photo in found) == sorted(acknowledged.values())

            # Every push reached FCM once: one acknowledgement per report, one phone per
            # reporter; the worker killed mid-batch left its leases to run out, the sweep
            # queued the dispatcher again and the other worker sent them.
            def deliveries():
                db.session.remove()
                return db.session.execute(
                    text(
                        "SELECT d.notification_id, d.status, v.token "
                        "FROM notification_deliveries AS d JOIN devices AS v ON v.id = d.device_id"
                    )
                ).all()

            until(
                lambda: (
                    len(rows := deliveries()) == total and all(row.status == "sent" for row in rows)
                ),
                "every push sent",
                survivor,
            )
            sent = deliveries()
            db.session.remove()

        # The files are in the bucket, none on a node's disk.
        for photo in found:
            for key in (photo.display_key, photo.thumbnail_key):
                assert s3.head_object(Bucket=bucket_name, Key=key)["ContentLength"] > 0
        assert [p for m in media if m.exists() for p in m.rglob("*") if p.is_file()] == []

        pushed = Counter(
            (a["token"], a["message"]["data"]["notification_id"]) for a in standin.accepted
        )
        expected = Counter((row.token, str(row.notification_id)) for row in sent)
        assert pushed == expected
        assert max(pushed.values()) == 1


class StubNode:
    """A node as the balancer sees it, in this process: healthy to the health check, it
    answers requests (201, and 200 to GETs) or, ``dying``, reads each one and closes the
    connection without an answer, as a node killed after its work but before its answer.
    Records what it read: (method, Idempotency-Key)."""

    def __init__(self, *, dying: bool):
        self.seen: list[tuple[str, str | None]] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request_body(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if self.path == "/healthz":
                    return self.answer(200)
                node.seen.append((self.command, self.headers.get("Idempotency-Key")))
                if dying:
                    self.close_connection = True
                    return None
                return self.answer(200 if self.command == "GET" else 201)

            do_GET = do_POST = handle_one_request_body

            def answer(self, status):
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_the_balancer_sends_again_to_the_other_node_only_what_is_safe_to_repeat(tmp_path):
    """A node that dies between its work and its answer: HAProxy sends the request again
    to the other node when repeating it is harmless (a GET, a POST with an Idempotency-Key:
    the API replays its answer), and answers 502 otherwise (a staff action: its client
    reads the report again before deciding)."""
    dying, healthy = StubNode(dying=True), StubNode(dying=False)
    kinds = {"read": ("GET", None), "keyed": ("POST", "k"), "unkeyed": ("POST", None)}
    try:
        with haproxy(tmp_path, dying.port, healthy.port) as (base, _):
            # Round robin: of a few requests in a row, some go to the dying node first.
            answers = {
                kind: [
                    requests.request(
                        method,
                        f"{base}/v1/x",
                        headers={"Idempotency-Key": key} if key else {},
                        timeout=30,
                    ).status_code
                    for _ in range(4)
                ]
                for kind, (method, key) in kinds.items()
            }
    finally:
        dying.stop()
        healthy.stop()
    tried, answered = Counter(dying.seen), Counter(healthy.seen)
    # Each read and keyed POST the dying node took was sent again to the other: all answered.
    assert answers["read"] == [200] * 4 and answers["keyed"] == [201] * 4
    assert tried[kinds["read"]] >= 1 and tried[kinds["keyed"]] >= 1
    assert answered[kinds["read"]] == 4 and answered[kinds["keyed"]] == 4
    # An unkeyed POST the dying node took is answered 502, and went nowhere else.
    assert tried[kinds["unkeyed"]] == answers["unkeyed"].count(502) >= 1
    assert answered[kinds["unkeyed"]] == answers["unkeyed"].count(201)
    assert tried[kinds["unkeyed"]] + answered[kinds["unkeyed"]] == 4
