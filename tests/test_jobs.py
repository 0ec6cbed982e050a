"""Queueing after commit (app/jobs.py), on the real Redis and database: a job goes to the rq
queue when its transaction commits, never on rollback, once per transaction; a Redis outage
at commit loses no row; a coalesced job waits in the queue once, and a job queued on a
condition is queued only while it holds."""

import logging
import uuid

import pytest
from flask import current_app
from rq import Queue
from sqlalchemy import select

from app.extensions import db
from app.jobs import Job, after_commit, worker_queues
from app.notifications.models import Device
from tests.conftest import make_app

PING = Job("worker.jobs.ping")


@pytest.fixture
def rq_queue(redis_conn):
    """The run's own rq queue (SIGNALE_QUEUES), empty before and after the test."""
    queue = Queue(worker_queues()[0], connection=redis_conn)
    queue.empty()
    yield queue
    queue.empty()


def queued(rq_queue) -> list[tuple]:
    return sorted((job.func_name, job.args) for job in rq_queue.jobs)


def device(uid: str) -> Device:
    return Device(uid=uid, token=f"{uid}-{uuid.uuid4().hex}", platform="android", locale="fr")


def devices_of(uid: str) -> list[Device]:
    return list(db.session.scalars(select(Device).where(Device.uid == uid)))


def test_a_job_is_queued_when_its_transaction_commits(session, rq_queue):
    session.add(device("ana"))
    after_commit(session, PING, "ana")
    session.flush()
    assert queued(rq_queue) == []  # not before the commit: the job could not see the row
    session.commit()
    assert queued(rq_queue) == [("worker.jobs.ping", ("ana",))]
    # The next transaction starts with nothing pending.
    session.add(device("bob"))
    session.commit()
    assert queued(rq_queue) == [("worker.jobs.ping", ("ana",))]


def test_a_job_is_dropped_when_its_transaction_rolls_back(session, rq_queue):
    session.add(device("ana"))
    after_commit(session, PING, "ana")
    session.rollback()
    assert queued(rq_queue) == []
    # Nor does it come back with the next transaction's commit.
    session.add(device("bob"))
    session.commit()
    assert queued(rq_queue) == []
    assert devices_of("ana") == [] and len(devices_of("bob")) == 1


def test_the_same_job_and_arguments_are_queued_once_per_transaction(session, rq_queue):
    for _ in range(3):
        after_commit(session, PING, "ana")
    after_commit(session, PING, "bob")
    session.commit()
    assert queued(rq_queue) == [("worker.jobs.ping", ("ana",)), ("worker.jobs.ping", ("bob",))]
    # Another transaction queues it again.
    after_commit(session, PING, "ana")
    session.commit()
    assert queued(rq_queue) == [
        ("worker.jobs.ping", ("ana",)),
        ("worker.jobs.ping", ("ana",)),
        ("worker.jobs.ping", ("bob",)),
    ]


def test_a_redis_outage_at_commit_is_swallowed_and_the_rows_are_committed(
    app, database_url, caplog
):
    down = make_app(database_url, REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    with down.app_context(), caplog.at_level(logging.WARNING, logger="app.jobs"):
        db.session.add(device("offline"))
        after_commit(db.session, PING, "offline")
        db.session.commit()  # no error: a sweep queues the job once Redis is back
        db.session.remove()
    assert "job not queued (Redis unavailable)" in caplog.text
    with app.app_context():
        assert [d.uid for d in devices_of("offline")] == ["offline"]
        db.session.remove()


def test_a_coalesced_job_waits_in_the_queue_once_until_it_starts(session, rq_queue, redis_conn):
    job = Job("worker.jobs.ping", coalesce_key=f"signale:test:coalesced-{uuid.uuid4().hex}")
    try:
        after_commit(session, job)
        session.commit()
        after_commit(session, job)  # a run waits: it will see this transaction's rows too
        session.commit()
        assert queued(rq_queue) == [("worker.jobs.ping", ())]
        assert job.enqueue(coalesce=False) is True  # a sweep's: queued whatever waits
        assert len(queued(rq_queue)) == 2
        job.started()  # the run starts: what commits from now on queues another
        after_commit(session, job)
        session.commit()
        assert len(queued(rq_queue)) == 3
    finally:
        redis_conn.delete(job.waiting_key())


def test_a_job_on_a_condition_is_queued_only_if_it_holds_at_commit(session, rq_queue):
    job = Job("worker.jobs.ping", when=lambda: bool(current_app.config.get("TEST_JOBS_ON")))
    after_commit(session, job, "off")
    session.commit()
    assert queued(rq_queue) == []
    after_commit(session, job, "on")
    current_app.config["TEST_JOBS_ON"] = True  # checked at commit, not before
    try:
        session.commit()
    finally:
        current_app.config.pop("TEST_JOBS_ON")
    assert queued(rq_queue) == [("worker.jobs.ping", ("on",))]


def test_a_sweep_queues_again_a_job_taken_off_its_queue_but_not_one_awaiting_its_retry(
    app, rq_queue, redis_conn
):
    from datetime import UTC, datetime, timedelta

    from rq.job import Job as RqJob

    keyed = Job("worker.jobs.ping", id_prefix="ping-sweep")
    with app.app_context():
        assert keyed.enqueue("a") is True
        assert keyed.requeue("a") is False  # waits in the queue: one run is enough
        # A worker took it off the queue and died before starting it: its record still
        # says queued, but nothing would run it.
        rq_queue.remove("ping-sweep-a")
        assert keyed.requeue("a") is True
        assert rq_queue.job_ids == ["ping-sweep-a"]
        # Failed once, it waits for its retry's time: the scheduler will queue it.
        rq_queue.remove("ping-sweep-a")
        job = RqJob.fetch("ping-sweep-a", connection=redis_conn)
        rq_queue.schedule_job(job, datetime.now(UTC) + timedelta(minutes=5))
        assert keyed.requeue("a") is False
        assert rq_queue.job_ids == []
        # Redis lost it: queued again.
        job.delete()
        assert keyed.requeue("a") is True
        assert rq_queue.job_ids == ["ping-sweep-a"]
