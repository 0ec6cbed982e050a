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
