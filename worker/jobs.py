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
