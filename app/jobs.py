"""Enqueueing background work on rq. Jobs take ids and are importable by path."""

from rq import Queue

from app.extensions import redis_client

DEFAULT_QUEUE = "signale"
QUEUES = (DEFAULT_QUEUE,)


def queue(name: str = DEFAULT_QUEUE) -> Queue:
    return Queue(name, connection=redis_client())
