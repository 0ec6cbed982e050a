"""Liveness and readiness checks."""

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import Migrate
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.extensions import redis_client


def migration_heads() -> set[str]:
    migrate: Migrate = current_app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    return set(ScriptDirectory.from_config(config).get_heads())


def readiness(session: Session) -> tuple[bool, dict]:
    """Each dependency's state; ready only when all are usable."""
    checks = {}
    try:
        connection = session.connection()
        connection.execute(text("SELECT 1"))
        current = set(MigrationContext.configure(connection).get_current_heads())
        heads = migration_heads()
        checks["database"] = {"ok": True}
        checks["migrations"] = {
            "ok": current == heads,
            "current": sorted(current),
            "head": sorted(heads),
        }
    except Exception as exc:  # any failure to reach the database means not ready
        checks["database"] = {"ok": False, "error": exc.__class__.__name__}
        checks["migrations"] = {"ok": False, "error": "database unreachable"}
    finally:
        session.rollback()
    try:
        redis_client().ping()
        checks["redis"] = {"ok": True}
    except Exception as exc:  # any failure to reach Redis means not ready
        checks["redis"] = {"ok": False, "error": exc.__class__.__name__}
    return all(c["ok"] for c in checks.values()), checks
