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
