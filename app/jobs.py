"""Enqueueing background work on rq. Jobs take ids and are importable by path."""

import os

from rq import Queue

from app.extensions import redis_client

DEFAULT_QUEUE = "signale"


def worker_queues() -> list[str]:
    """Queues the worker listens to: ``SIGNALE_QUEUES`` (comma-separated) or the default."""
    names = os.environ.get("SIGNALE_QUEUES", DEFAULT_QUEUE)
    return [n.strip() for n in names.split(",") if n.strip()]


def queue(name: str | None = None) -> Queue:
    """The queue jobs go to: the first of ``SIGNALE_QUEUES`` unless named."""
    return Queue(name or worker_queues()[0], connection=redis_client())
