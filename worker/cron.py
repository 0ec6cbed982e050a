"""Periodic jobs, enqueued by rq's cron scheduler: ``python -m worker.cron``.

Every worker machine may run one: a lease in Redis (one per queue) makes one of them queue
the periodic jobs, and another takes over within LEASE_SECONDS (and its next look, every
STANDBY_SECONDS) when the leader's machine is gone; a leader stopped hands the lease
back at once. At a takeover a job may be queued twice: each is safe to run twice.
"""

from flask import current_app
from redis.exceptions import LockError
from rq.cron import CronScheduler

from app import create_app
from app.extensions import redis_client
from app.jobs import worker_queues
from worker import jobs

# Each job and its interval: seconds, or the setting that holds them.
SCHEDULE = (
    (jobs.sweep_photos, "PHOTOS_SWEEP_INTERVAL_SECONDS"),
    (jobs.bring_photos_in_line, 600),
    (jobs.delete_withdrawn_photo_files, 3600),
    (jobs.purge_idempotency_keys, 3600),
    (jobs.sweep_open311_media, 600),
    # Each feed has its own interval: the dispatcher queues those due.
    (jobs.dispatch_feed_polls, 10),
    (jobs.purge_feed_observations, 3600),
    # Broker subscriptions: each is due when it needs renewing, checking or retrying.
    (jobs.maintain_feed_subscriptions, "FEEDS_SUBSCRIPTIONS_INTERVAL_SECONDS"),
    (jobs.sweep_notifications, "NOTIFICATIONS_SWEEP_INTERVAL_SECONDS"),
    (jobs.sweep_equipment_commands, "EQUIPMENT_SWEEP_INTERVAL_SECONDS"),
    (jobs.fold_workload_slots, 600),
    # Each subscription is told at most once an hour: the job finds those due.
    (jobs.send_area_alerts, 60),
)


# Longer than the scheduler's longest sleep (60 s): the leader renews it at every pass.
LEASE_SECONDS = 150
STANDBY_SECONDS = 10


class LeadingCronScheduler(CronScheduler):
    """rq's cron scheduler, queueing the jobs due only while it holds the lease."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lease = self.connection.lock(
            f"signale:cron:leader:{worker_queues()[0]}", timeout=LEASE_SECONDS, thread_local=False
        )

    def leads(self) -> bool:
        """Hold the lease (renewed), or take it if nobody does."""
        try:
            if self.lease.owned():
                self.lease.reacquire()
                return True
            return self.lease.acquire(blocking=False)
        except LockError:  # ran out between the two calls: another may hold it now
            return False

    def enqueue_jobs(self):
        return super().enqueue_jobs() if self.leads() else []

    def calculate_sleep_interval(self) -> float:
        if not self.lease.owned():
            return STANDBY_SECONDS  # its jobs look overdue: it would never sleep
        return super().calculate_sleep_interval()

    def register_death(self, pipeline=None) -> None:
        super().register_death(pipeline)
        if self.lease.owned():
            self.lease.release()


def scheduler(config) -> CronScheduler:
    """The cron scheduler with every periodic job registered (not started)."""
    cron = LeadingCronScheduler(connection=redis_client())
    for func, interval in SCHEDULE:
        seconds = int(config[interval]) if isinstance(interval, str) else interval
        cron.register(func, queue_name=worker_queues()[0], interval=seconds)
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
