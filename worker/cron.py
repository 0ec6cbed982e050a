"""Periodic jobs, enqueued by rq's cron scheduler: ``python -m worker.cron``."""

from flask import current_app
from rq.cron import CronScheduler

from app import create_app
from app.extensions import redis_client
from app.jobs import worker_queues
from worker import jobs

SCHEDULE = (
    (jobs.sweep_photos, 60),
    (jobs.bring_photos_in_line, 600),
    (jobs.delete_withdrawn_photo_files, 3600),
    (jobs.purge_idempotency_keys, 3600),
    (jobs.sweep_open311_media, 600),
    # Each feed has its own interval: the dispatcher queues those due.
    (jobs.dispatch_feed_polls, 10),
    (jobs.purge_feed_observations, 3600),
    (jobs.sweep_notifications, 30),
    (jobs.fold_workload_slots, 600),
    # Each subscription is told at most once an hour: the job finds those due.
    (jobs.send_area_alerts, 60),
)


def scheduler(config) -> CronScheduler:
    """The cron scheduler with every periodic job registered (not started)."""
    cron = CronScheduler(connection=redis_client())
    for func, interval in SCHEDULE:
        cron.register(func, queue_name=worker_queues()[0], interval=interval)
    # Once a day (by default) and long: the open data files of every report.
    cron.register(
        jobs.export_open_data,
        queue_name=worker_queues()[0],
        cron=config["OPENDATA_EXPORT_CRON"],
        job_timeout=int(config["OPENDATA_EXPORT_TIMEOUT_SECONDS"]),
    )
    # Nightly: the personal data past its delay (device tokens among it).
    cron.register(
        jobs.apply_retention,
        queue_name=worker_queues()[0],
        cron=config["RETENTION_CRON"],
        job_timeout=int(config["RETENTION_TIMEOUT_SECONDS"]),
    )
    return cron


def main() -> None:
    app = create_app()
    with app.app_context():
        scheduler(current_app.config).start()


if __name__ == "__main__":
    main()
