"""Background work on rq: the jobs, and the one way to queue them after a commit.

Jobs take ids and are importable by path. A job about rows written in a transaction is
queued with :func:`after_commit`: it goes to Redis when that transaction commits (a job
queued earlier could run before the rows exist) and is dropped when it rolls back. Workflow
state lives in PostgreSQL, so a job Redis lost or never got (an outage) is queued again by
the worker's sweeps: queueing swallows a Redis outage and says so in the log.
"""

import logging
import os
from dataclasses import dataclass, field

import redis
from rq import Queue, Retry
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import redis_client

DEFAULT_QUEUE = "signale"
_PENDING = "signale.after_commit"
log = logging.getLogger(__name__)


def worker_queues() -> list[str]:
    """Queues the worker listens to: ``SIGNALE_QUEUES`` (comma-separated) or the default."""
    names = os.environ.get("SIGNALE_QUEUES", DEFAULT_QUEUE)
    return [n.strip() for n in names.split(",") if n.strip()]


def queue(name: str | None = None) -> Queue:
    """The queue jobs go to: the first of ``SIGNALE_QUEUES`` unless named."""
    return Queue(name or worker_queues()[0], connection=redis_client())


@dataclass(frozen=True)
class Job:
    """A background job: the function's import path and how it is queued.

    With ``id_prefix``, the rq job id is the prefix and the arguments, so queueing the same
    work twice (a retry, a sweep) does not run it twice concurrently.
    """

    path: str
    id_prefix: str | None = None
    retry: tuple[int, ...] = ()
    timeout: int | None = None
    options: dict = field(default_factory=dict)

    def enqueue(self, *args) -> bool:
        """Queue it now; False (and a warning) when Redis is unavailable: a sweep recovers."""
        options = dict(self.options)
        if self.id_prefix:
            options["job_id"] = "-".join([self.id_prefix, *(str(a) for a in args)])
        if self.retry:
            options["retry"] = Retry(max=len(self.retry), interval=list(self.retry))
        if self.timeout:
            options["job_timeout"] = self.timeout
        try:
            queue().enqueue(self.path, *args, **options)
            return True
        except (redis.RedisError, OSError):
            log.warning(
                "job not queued (Redis unavailable): a sweep will queue it",
                extra={"job": self.path, "job_args": [str(a) for a in args]},
            )
            return False


def after_commit(session: Session, job: Job, *args) -> None:
    """Queue ``job(*args)`` when ``session``'s transaction commits; forget it on rollback.
    The same job with the same arguments is queued once per transaction."""
    pending = session.info.setdefault(_PENDING, [])
    if (job, args) not in pending:
        pending.append((job, args))


def _enqueue_pending(session: Session) -> None:
    for job, args in session.info.pop(_PENDING, []):
        job.enqueue(*args)


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


# Registered once for every Session of the process (the API's, the worker's, the CLI's).
if not event.contains(Session, "after_commit", _enqueue_pending):
    event.listen(Session, "after_commit", _enqueue_pending)
    event.listen(Session, "after_rollback", _drop_pending)
