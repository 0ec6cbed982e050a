"""The worker's cron process (worker/cron.py): the sweeps' pace comes from the settings."""

from datetime import timedelta

from tests.conftest import make_app
from tests.factories import make_report


def test_the_sweeps_run_as_often_as_the_settings_say(app, database_url):
    from worker import cron

    def intervals(application) -> dict[str, int]:
        with application.app_context():
            jobs = cron.scheduler(application.config).get_jobs()
        return {job.func_name: job.interval for job in jobs}

    defaults = intervals(app)
    assert defaults["worker.jobs.sweep_photos"] == 60
    assert defaults["worker.jobs.sweep_notifications"] == 30
    assert defaults["worker.jobs.dispatch_feed_polls"] == 10
    tuned = intervals(
        make_app(
            database_url, PHOTOS_SWEEP_INTERVAL_SECONDS=5, NOTIFICATIONS_SWEEP_INTERVAL_SECONDS=3
        )
    )
    assert tuned["worker.jobs.sweep_photos"] == 5
    assert tuned["worker.jobs.sweep_notifications"] == 3
    assert tuned["worker.jobs.dispatch_feed_polls"] == 10


def test_the_photo_sweep_waits_the_configured_delay(app, database_url, redis_conn):
    """A photo still processing is taken for lost only after PHOTOS_SWEEP_AFTER_SECONDS."""
    from rq import Queue
    from sqlalchemy import func

    from app.extensions import db
    from app.jobs import worker_queues
    from app.photos.models import Photo
    from worker import jobs

    queue = Queue(worker_queues()[0], connection=redis_conn)
    queue.empty()
    report_id = make_report(app, reporter="ana")
    with app.app_context():
        photo = Photo(
            report_id=report_id,
            upload_key="uploads/lost",
            uploaded_by="ana",
            created_at=func.now() - timedelta(seconds=30),
        )
        db.session.add(photo)
        db.session.commit()
        photo_id = photo.id
        assert jobs.sweep_photos() == 0  # 120 s by default: its job may still be coming
        db.session.remove()
    with make_app(database_url, PHOTOS_SWEEP_AFTER_SECONDS=15).app_context():
        assert jobs.sweep_photos() == 1
        db.session.remove()
    assert queue.job_ids == [f"photo-{photo_id}"]
    queue.empty()


def test_of_two_cron_processes_one_queues_the_jobs_and_the_other_takes_over(app, redis_conn):
    """One cron process per worker machine: the one holding the lease queues the periodic
    jobs; when it stops (or its machine is gone and its lease runs out), the other does."""
    from rq import Queue

    from app.jobs import worker_queues
    from worker import cron

    queue = Queue(worker_queues()[0], connection=redis_conn)
    queue.empty()
    with app.app_context():
        first, second = cron.scheduler(app.config), cron.scheduler(app.config)
    every = {job.func_name for job in first.get_jobs() if job.interval}
    for scheduler in (first, second):
        scheduler.register_birth()  # as start() does
    try:
        assert {job.func_name for job in first.enqueue_jobs()} == every
        assert second.enqueue_jobs() == []
        assert second.calculate_sleep_interval() == cron.STANDBY_SECONDS
        assert len(queue) == len(every)
        # The leader's machine is gone: its lease runs out, the other takes over.
        redis_conn.delete(first.lease.name)
        assert {job.func_name for job in second.enqueue_jobs()} == every
        assert not first.leads()
        # Stopped, a leader hands the lease back at once.
        second.register_death()
        assert first.leads()
        assert not second.leads()
    finally:
        first.register_death()
        queue.empty()
