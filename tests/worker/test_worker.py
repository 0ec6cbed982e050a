"""The rq worker, as a real process, on the real Redis and database."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from rq import Queue, Worker
from rq.job import Job

from tests.conftest import redis_test_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.processes
def test_a_job_runs_in_the_worker_process_with_database_and_redis(app, database_url, redis_conn):
    queue_name = f"signale-test-{uuid.uuid4().hex[:8]}"
    queue = Queue(queue_name, connection=redis_conn)
    nonce = uuid.uuid4().hex
    job = queue.enqueue("worker.jobs.ping", nonce)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_test_url(),
        "SIGNALE_QUEUES": queue_name,
        "LOG_LEVEL": "WARNING",
    }
    run = subprocess.run(
        [sys.executable, "-m", "worker", "--burst"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    job = Job.fetch(job.id, connection=redis_conn)
    assert job.is_finished, run.stderr
    result = job.return_value()
    assert result["nonce"] == nonce
    assert result["database"] == database_url.rsplit("/", 1)[1]
    assert result["pid"] != os.getpid()
    assert redis_conn.get(f"signale:ping:{nonce}") == b"pong"
    queue.delete(delete_jobs=True)


STOP_WHILE_STARTING = """
import os, signal, sys
from redis import Redis
from rq import Queue, Worker
from worker.__main__ import SignaleWorker

redis = Redis.from_url(sys.argv[1])
queue = Queue(sys.argv[2], connection=redis)
worker = SignaleWorker([queue], connection=redis)

def bootstrap_then_stop(*args, **kwargs):
    # The stop arrives once the worker is registered, before rq's own handlers are in.
    SignaleWorker.bootstrap(worker, *args, **kwargs)
    assert Worker.all(queue=queue), "registered"
    os.kill(os.getpid(), signal.SIGTERM)

worker.bootstrap = bootstrap_then_stop
worker.work(with_scheduler=False)  # without the remembered stop: killed, or never returns
print("stopped", len(Worker.all(queue=queue)))
"""


def test_a_stop_while_the_worker_starts_unregisters_it_cleanly(redis_conn):
    queue_name = f"signale-test-{uuid.uuid4().hex[:8]}"
    run = subprocess.run(
        [sys.executable, "-c", STOP_WHILE_STARTING, redis_test_url(), queue_name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "stopped 0", run.stdout + run.stderr
    assert Worker.all(queue=Queue(queue_name, connection=redis_conn)) == []
