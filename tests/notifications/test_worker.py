"""End to end with the real rq worker process: the dispatcher job is queued after the
commit of a triage action, and nothing is lost when Redis loses the job or the worker is
SIGKILLed mid-batch: the sweep queues the dispatcher again and every push reaches FCM (the
stand-in) exactly once."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from rq import Queue

from app.jobs import worker_queues
from app.notifications.dispatch import DISPATCH
from app.users.models import Role
from tests.conftest import make_app, redis_test_url
from tests.factories import make_report
from tests.notifications.test_dispatch import RESIDENTS, deliveries, time_passes, told
from tests.triage.helpers import act

# Processes or threads of their own: these tests commit for real (see tests/conftest.py).
pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def push_app(app, database_url, standin):
    """The application configured to push through the stand-in (``app`` migrated the
    database and empties it after the test)."""
    return make_app(database_url, FCM_CREDENTIALS="static-token", FCM_ENDPOINT=standin.url)


def worker(database_url, standin, *, wait: bool = True) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_test_url(),
        "LOG_LEVEL": "WARNING",
        "FCM_CREDENTIALS": "static-token",
        "FCM_ENDPOINT": standin.url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "worker", "--burst"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if wait:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    return process


def descendants(pid: int) -> list[int]:
    """The process's children and theirs, deepest first (from /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found = [*descendants(int(child)), int(child), *found]
    return found


def sweep(push_app) -> bool:
    from worker.jobs import sweep_notifications

    with push_app.app_context():
        return sweep_notifications()


def queued(redis_conn) -> int:
    return Queue(worker_queues()[0], connection=redis_conn).count


def test_the_worker_sends_what_a_triage_action_committed(
    push_app, database_url, standin, redis_conn, auth
):
    # Jobs earlier tests left in the shared queue are not this test's.
    Queue(worker_queues()[0], connection=redis_conn).empty()
    redis_conn.delete(_queued_key_of(push_app))
    told(push_app, push_app.test_client(), auth)
    assert queued(redis_conn) == 1  # one dispatcher run for the three pushes
    worker(database_url, standin)
    assert sorted(standin.accepted_tokens()) == sorted(RESIDENTS.values())
    assert {d.status for d in deliveries(push_app).values()} == {"sent"}


def test_one_dispatcher_run_waits_for_many_commits_and_none_without_fcm(
    app, client, push_app, redis_conn, auth
):
    Queue(worker_queues()[0], connection=redis_conn).empty()
    redis_conn.delete(_queued_key_of(push_app))
    told(app, client, auth)  # pushes written, but nobody would send them
    assert {d.status for d in deliveries(app).values()} == {"pending"}
    assert queued(redis_conn) == 0

    def acknowledged(application) -> None:
        report_id = make_report(application, reporter="ana")  # ana has a device
        response = act(application.test_client(), auth(Role.AGENT), report_id, "acknowledge")
        assert response.status_code == 200

    acknowledged(push_app)
    acknowledged(push_app)  # the run queued will send both
    assert queued(redis_conn) == 1
    with push_app.app_context():
        DISPATCH.started()  # as the job does: what commits from now on queues another run
    acknowledged(push_app)
    assert queued(redis_conn) == 2
    Queue(worker_queues()[0], connection=redis_conn).empty()
    redis_conn.delete(_queued_key_of(push_app))


def test_a_job_lost_by_redis_is_queued_again_by_the_sweep(
    push_app, database_url, standin, redis_conn, auth
):
    told(push_app, push_app.test_client(), auth)
    # Redis loses the job. (Not FLUSHDB: database 15 may serve other runs; the queue and
    # the "already queued" marker are everything this run keeps there.)
    Queue(worker_queues()[0], connection=redis_conn).empty()
    redis_conn.delete(_queued_key_of(push_app))
    worker(database_url, standin)
    assert standin.accepted == []  # nothing ran: the pushes are still pending
    assert {d.status for d in deliveries(push_app).values()} == {"pending"}
    assert sweep(push_app) is True
    worker(database_url, standin)
    assert sorted(standin.accepted_tokens()) == sorted(RESIDENTS.values())


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_once(
    push_app, database_url, standin, redis_conn, auth
):
    told(push_app, push_app.test_client(), auth)
    standin.hold()
    process = worker(database_url, standin, wait=False)
    assert standin.in_flight.acquire(timeout=120)  # the batch is at FCM's door
    # The work horse rq forked (in a session of its own) and the worker, as an OOM kill
    # of the container would.
    for pid in [*descendants(process.pid), process.pid]:
        os.kill(pid, signal.SIGKILL)
    process.wait(timeout=60)
    # The connections died with the worker before FCM read the requests.
    standin.release(drop=True)
    assert standin.accepted == []
    # Claimed, so in flight until the lease is over: the sweep leaves them meanwhile.
    left = deliveries(push_app).values()
    assert {d.status for d in left} == {"pending"}
    assert all(d.lease_until is not None for d in left)  # nobody recorded anything
    assert sweep(push_app) is False
    time_passes(push_app)  # the lease of the dead worker runs out
    assert sweep(push_app) is True
    worker(database_url, standin)
    assert sorted(standin.accepted_tokens()) == sorted(RESIDENTS.values())
    assert {d.status for d in deliveries(push_app).values()} == {"sent"}


def _queued_key_of(push_app) -> str:
    with push_app.app_context():
        return DISPATCH.waiting_key()
