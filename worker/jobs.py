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
    from app.photos.service import process_photo as run

    return run(db.session, photo_id)


def sweep_photos(older_than_seconds: int = 120) -> int:
    """Queue again the photos still processing: their job was lost (Redis flush, crash)."""
    from datetime import timedelta

    from app.photos.service import due_for_processing, enqueue

    due = due_for_processing(db.session, timedelta(seconds=older_than_seconds))
    return sum(enqueue(photo_id) for photo_id in due)


def purge_idempotency_keys() -> int:
    """Delete Idempotency-Key records older than their 24 hours."""
    from app.idempotency.service import purge_expired

    return purge_expired(db.session)


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

    from app.open311.service import enqueue_media, pending_media

    due = pending_media(db.session, timedelta(seconds=older_than_seconds))
    return sum(enqueue_media(report_id) for report_id in due)
