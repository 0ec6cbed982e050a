"""Entry point of the background worker: ``python -m worker [--burst]``."""

import argparse
import logging
import signal

from rq import Worker

from app import create_app
from app.extensions import db, redis_client
from app.jobs import worker_queues
from app.photos import detection

log = logging.getLogger("signale.worker")


class SignaleWorker(Worker):
    """rq's forking worker, with the application context in each work horse.

    The database pool is dropped in the child, not shared: connections inherited across
    fork() would be used by two processes at once.
    """

    app = None
    _stop_while_starting = False

    def bootstrap(self, *args, **kwargs):
        """rq registers the worker, then starts its scheduler, and only then installs its
        SIGTERM/SIGINT handlers: a stop in between killed the worker still registered.
        Until rq's handlers are in place, a stop is remembered instead."""

        def remember(signum, frame):
            self._stop_while_starting = True

        signal.signal(signal.SIGTERM, remember)
        signal.signal(signal.SIGINT, remember)
        super().bootstrap(*args, **kwargs)

    def _install_signal_handlers(self):
        super()._install_signal_handlers()
        if self._stop_while_starting:
            self.log.info("Worker %s: stop requested while starting", self.name)
            self._stop_requested = True  # the work loop stops at once, then unregisters

    def main_work_horse(self, job, queue):
        db.engine.dispose(close=False)
        with self.app.app_context():
            super().main_work_horse(job, queue)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Signale background worker")
    parser.add_argument("--burst", action="store_true", help="Stop when the queues are empty")
    args = parser.parse_args(argv)
    app = create_app()
    with app.app_context():
        SignaleWorker.app = app
        # No connection is held while waiting for jobs.
        db.engine.dispose()
        queues = worker_queues()
        # Each job runs in a process forked from this one: the face model read here once
        # (seconds) is every job's, instead of being read again for every photo.
        detection.load()
        worker = SignaleWorker(queues, connection=redis_client())
        log.info("worker starting", extra={"queues": queues})
        if not app.config.get("FCM_CREDENTIALS"):
            log.warning("push notifications off (FCM_CREDENTIALS unset): in-app feed only")
        worker.work(with_scheduler=True, burst=args.burst)


if __name__ == "__main__":
    main()
