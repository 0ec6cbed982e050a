"""End to end: the cron's dispatcher queues due feeds, the worker process polls them over
HTTP, and residents read the result."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rq import Queue

from app.extensions import db
from app.feeds import service
from tests.conftest import redis_test_url
from tests.feeds.factories import CENTRE, car_park
from worker import jobs

# Processes or threads of their own: these tests commit for real (see tests/conftest.py).
pytestmark = pytest.mark.processes

ROOT = Path(__file__).resolve().parents[2]


def test_a_due_feed_is_polled_by_the_worker_and_served(
    app, database_url, client, auth, feed_source, redis_conn, now
):
    url = feed_source.serve("/p.json", [car_park(1, available=42, now=now)])
    with app.app_context():
        service.put_feed(
            db.session,
            "parkings",
            {
                "kind": "parking",
                "format": "ngsi-ld-document",
                "source_url": url,
                "poll_interval_seconds": 60,
                "freshness_limit_seconds": 600,
                "enabled": True,
            },
        )
        assert jobs.dispatch_feed_polls() == 1
        assert jobs.dispatch_feed_polls() == 0  # claimed: not queued twice
        db.session.remove()
    queue_name = os.environ["SIGNALE_QUEUES"]
    run = subprocess.run(
        [sys.executable, "-m", "worker", "--burst"],
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_test_url(),
            "SIGNALE_QUEUES": queue_name,
            "LOG_LEVEL": "WARNING",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    items = client.get(
        f"/v1/mobility/parkings?lon={CENTRE[0]}&lat={CENTRE[1]}", headers=auth()
    ).get_json()["items"]
    assert [(i["name"], i["free_spaces"]) for i in items] == [("Parking 1", 42)]
    health = client.get("/v1/admin/feeds/parkings", headers=auth("admin")).get_json()["health"]
    assert health["state"] == "ok"
    Queue(queue_name, connection=redis_conn).delete(delete_jobs=True)
