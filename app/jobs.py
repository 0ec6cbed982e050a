"""Background work on rq: the jobs, and the one way to queue them after a commit.

Jobs take ids and are importable by path. A job about rows written in a transaction is
queued with :func:`after_commit`: it goes to Redis when that transaction commits (a job
queued earlier could run before the rows exist) and is dropped when it rolls back. Workflow
state lives in PostgreSQL, so a job Redis lost or never got (an outage) is queued again by
the worker's sweeps: queueing swallows a Redis outage and says so in the log.
"""

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job as RqJob
from rq.job import JobStatus
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

    With ``coalesce_key``, one run at most waits in the queue: a marker (the key and the
    queue's name, expiring after a minute) is set when it is queued and cleared by the job
    when it starts (:meth:`started`); queueing it meanwhile does nothing, as the waiting run
    will see the rows. ``when``: queued after a commit only if it holds then (a service the
    job needs is configured, say).
    """

    path: str
    id_prefix: str | None = None
    retry: tuple[int, ...] = ()
    timeout: int | None = None
    options: dict = field(default_factory=dict)
    when: Callable[[], bool] | None = None
    coalesce_key: str | None = None

    def enqueue(self, *args, coalesce: bool = True) -> bool:
        """Queue it now (unless a coalesced run waits and ``coalesce``; a sweep passes False);
        False (and a warning) when Redis is unavailable: a sweep recovers."""
        options = dict(self.options)
        if self.id_prefix:
            options["job_id"] = "-".join([self.id_prefix, *(str(a) for a in args)])
        if self.retry:
            options["retry"] = Retry(max=len(self.retry), interval=list(self.retry))
        if self.timeout:
            options["job_timeout"] = self.timeout
        try:
            if self.coalesce_key:
                first = redis_client().set(self.waiting_key(), "1", nx=True, ex=60)
                if not first and coalesce:
                    return False
            queue().enqueue(self.path, *args, **options)
            return True
        except (redis.RedisError, OSError):
            log.warning(
                "job not queued (Redis unavailable): a sweep will queue it",
                extra={"job": self.path, "job_args": [str(a) for a in args]},
            )
            return False

    def requeue(self, *args) -> bool:
        """Queue it again for a sweep that found its work still undone, unless its rq job
        (``id_prefix`` jobs: their id is known) still waits to run: in its queue, or for a
        retry. Queueing it then would put a second run behind the first, and a backlog
        older than the sweep's delay would grow by itself at every sweep (each waiting job
        once more). A job started is queued again: its worker may have died holding it (a
        live one makes the second run a no-op). False when not queued."""
        if self.id_prefix:
            job_id = "-".join([self.id_prefix, *(str(a) for a in args)])
            try:
                if _waits(job_id):
                    return False
            except (redis.RedisError, OSError):
                pass  # enqueue says so in the log
        return self.enqueue(*args)

    def waiting_key(self) -> str:
        """The marker of a coalesced run waiting in this process's queue."""
        return f"{self.coalesce_key}:{worker_queues()[0]}"

    def started(self) -> None:
        """Called by a coalesced job as it starts: rows committed from now on queue another
        run. With Redis down the marker expires on its own."""
        with contextlib.suppress(redis.RedisError, OSError):
            redis_client().delete(self.waiting_key())


def _waits(job_id: str) -> bool:
    """Whether the rq job will run without being queued again: in the queue jobs go to (a
    job's record alone says queued also when a worker took it and died before starting
    it), or scheduled there for its retry."""
    ours = queue()
    try:
        status = RqJob.fetch(job_id, connection=ours.connection).get_status()
    except NoSuchJobError:
        return False
    if status == JobStatus.QUEUED:
        return ours.connection.lpos(ours.key, job_id) is not None
    if status == JobStatus.SCHEDULED:
        return job_id in ours.scheduled_job_registry
    return False


def after_commit(session: Session, job: Job, *args) -> None:
    """Queue ``job(*args)`` when ``session``'s transaction commits; forget it on rollback.
    The same job with the same arguments is queued once per transaction."""
    pending = session.info.setdefault(_PENDING, [])
    if (job, args) not in pending:
        pending.append((job, args))


def _enqueue_pending(session: Session) -> None:
    for job, args in session.info.pop(_PENDING, []):
        if job.when is None or job.when():
            job.enqueue(*args)


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def init_app(app) -> None:
    """Listen to every Session's commits and rollbacks (once per process). Done when the
    application is built, never on first import: registering a listener while SQLAlchemy
    walks the after-commit listeners fails ("deque mutated during iteration")."""
    if not event.contains(Session, "after_commit", _enqueue_pending):
        event.listen(Session, "after_commit", _enqueue_pending)
        event.listen(Session, "after_rollback", _drop_pending)
