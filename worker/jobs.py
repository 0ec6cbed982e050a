"""Job functions run by the worker. Thin: they take ids and call service functions."""

import os
import socket

from sqlalchemy import text

from app.extensions import db, redis_client


def ping(nonce: str) -> dict:
    """Round trip through the worker, its database and Redis (operational self-check)."""
    database = db.session.execute(text("SELECT current_database()")).scalar_one()
    db.session.rollback()
    redis_client().set(f"signale:ping:{nonce}", "pong", ex=300)
    return {"nonce": nonce, "database": database, "host": socket.gethostname(), "pid": os.getpid()}


def process_photo(photo_id: int) -> str:
    """Process one uploaded photo (safe to run twice)."""
    from app.reports.photos import process_photo as run

    return run(db.session, photo_id)


def sweep_photos(older_than_seconds: float | None = None) -> int:
    """Queue again the photos still processing after ``older_than_seconds`` (by default
    PHOTOS_SWEEP_AFTER_SECONDS): their job was lost (Redis flush, crash)."""
    from datetime import timedelta

    from flask import current_app

    from app.photos.service import PROCESS_PHOTO, due_for_processing

    if older_than_seconds is None:
        older_than_seconds = float(current_app.config["PHOTOS_SWEEP_AFTER_SECONDS"])
    due = due_for_processing(db.session, timedelta(seconds=older_than_seconds))
    return sum(PROCESS_PHOTO.requeue(photo_id) for photo_id in due)


def bring_photos_in_line(batch: int = 50) -> int:
    """Blur a batch of the photos processed before blurring existed (detection never ran on
    them): their current display image becomes their private original."""
    from app.reports.photos import bring_in_line

    return bring_in_line(db.session, limit=batch)


def delete_withdrawn_photo_files() -> int:
    """Delete the photo files queued for deletion that no photo uses any more (a delete
    lost after its commit, by moderation or retention, is done here)."""
    from app.photos.service import delete_withdrawn_files

    return delete_withdrawn_files(db.session)


def purge_idempotency_keys() -> int:
    """Delete Idempotency-Key records older than their 24 hours (the retention schedule's
    rule, hourly rather than nightly: a key is of no use after its day)."""
    from flask import current_app

    from app.privacy.retention import purge

    return purge(db.session, current_app.config, "idempotency_keys")


def apply_retention() -> dict:
    """Apply the retention schedule (app.privacy.retention): delete or clear the personal
    data past its delay, and record the run with its counts (safe to run twice)."""
    from flask import current_app

    from app.privacy.retention import run

    return run(db.session, current_app.config).counts


def fetch_open311_media(report_id: int) -> str | None:
    """Fetch the photo an Open311 partner named by media_url (safe to run twice)."""
    from flask import current_app

    from app.open311.media import Policy
    from app.open311.service import fetch_media

    config = current_app.config
    policy = Policy(
        max_bytes=config["OPEN311_MEDIA_MAX_BYTES"], timeout_s=config["OPEN311_MEDIA_TIMEOUT_S"]
    )
    return fetch_media(db.session, report_id, policy)


def sweep_open311_media(older_than_seconds: int = 600) -> int:
    """Queue again the Open311 media_url fetches still pending: their job was lost."""
    from datetime import timedelta

    from app.open311.service import FETCH_MEDIA, pending_media

    due = pending_media(db.session, timedelta(seconds=older_than_seconds))
    return sum(FETCH_MEDIA.requeue(report_id) for report_id in due)


def dispatch_feed_polls() -> int:
    """Queue a poll for every enabled feed that is due (each feed has its own interval)."""
    from flask import current_app

    from app.feeds.service import PollLimits, claim_due_feeds
    from app.jobs import queue

    limits = PollLimits.from_config(current_app.config)
    # A poll that has not finished twice its time limit (and a minute) is taken for lost.
    lease = int(limits.timeout_seconds * 2) + 60
    due = claim_due_feeds(db.session, lease_seconds=lease)
    for feed_id in due:
        queue().enqueue(
            "worker.jobs.poll_feed", feed_id, job_timeout=lease, result_ttl=3600, failure_ttl=86400
        )
    return len(due)


def poll_feed(feed_id: int) -> dict:
    """Poll one feed and store what it says (its failures are recorded on its health)."""
    from flask import current_app

    from app.feeds.service import PollLimits
    from app.feeds.service import poll_feed as run

    return run(db.session, feed_id, limits=PollLimits.from_config(current_app.config))


def maintain_feed_subscriptions() -> dict:
    """Make, renew, check, re-make or delete the feeds' broker subscriptions that are due
    (safe to run twice, or at once; a broker out of reach is tried again later)."""
    from flask import current_app

    from app.feeds.subscriptions import SubscriptionPolicy, maintain

    return maintain(db.session, SubscriptionPolicy.from_config(current_app.config))


def purge_feed_observations() -> int:
    """Delete feed observations older than FEEDS_OBSERVATION_RETENTION_DAYS (90)."""
    from datetime import timedelta

    from flask import current_app

    from app.feeds.service import purge_observations

    days = int(current_app.config["FEEDS_OBSERVATION_RETENTION_DAYS"])
    return purge_observations(db.session, timedelta(days=days))


def dispatch_notifications() -> dict:
    """Send the due push deliveries through FCM (safe to run twice, or at once)."""
    from flask import current_app

    from app.notifications.dispatch import run

    return dict(run(db.session, current_app.config))


def fold_workload_slots() -> int:
    """Fold the open-work counters' slots of database connections gone into slot 0
    (app.workload: keeps each counter a few rows; safe to run twice, or at once)."""
    from app.workload.service import fold

    return fold(db.session)


def sweep_notifications() -> bool:
    """Queue the dispatcher when due pushes wait with no run on them (a lost job, a
    SIGKILLed worker's lease over, retries come due)."""
    from flask import current_app

    from app.notifications.dispatch import sweep

    return sweep(db.session, current_app.config)


def send_area_alerts() -> int:
    """Tell the due area subscriptions of new public reports (at most one alert an hour
    each; safe to run twice, or at once)."""
    from flask import current_app

    from app.notifications.areas import AlertPolicy, send_alerts

    return send_alerts(db.session, AlertPolicy.from_config(current_app.config))


def export_open_data() -> dict:
    """Produce the open data files (full and daily, every format) and publish those changed."""
    from flask import current_app

    from app.opendata.service import export_reports, settings
    from app.photos.service import storage

    return export_reports(db.session, storage(), **settings(current_app.config))


def dispatch_equipment_commands() -> dict:
    """Send the due equipment commands to the brokers (safe to run twice, or at once)."""
    from flask import current_app

    from app.equipment.dispatch import run

    return dict(run(db.session, current_app.config))


def sweep_equipment_commands() -> bool:
    """Expire the commands that waited too long, and queue the dispatcher when due commands
    wait with no run on them (a lost job, a killed worker's lease over, retries come due)."""
    from flask import current_app

    from app.equipment.dispatch import sweep

    return sweep(db.session, current_app.config)
