"""Entry point of the background worker: ``python -m worker [--burst]``."""

import argparse
import logging

from rq import Worker

from app import create_app
from app.extensions import db, redis_client
from app.jobs import worker_queues

log = logging.getLogger("signale.worker")


class SignaleWorker(Worker):
    """rq's forking worker, with the application context in each work horse.

    The database pool is dropped in the child, not shared: connections inherited across
    fork() would be used by two processes at once.
    """

    app = None

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
        worker = SignaleWorker(queues, connection=redis_client())
        log.info("worker starting", extra={"queues": queues})
        if not app.config.get("FCM_CREDENTIALS"):
            log.warning("push notifications off (FCM_CREDENTIALS unset): in-app feed only")
        worker.work(with_scheduler=True, burst=args.burst)


if __name__ == "__main__":
    main()
