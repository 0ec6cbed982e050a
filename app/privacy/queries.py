"""What the privacy officer reads: the retention schedule's runs and the erasures, newest
first, keyset-paginated as every list of the API (app/pagination.py)."""

from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.pagination import decode_cursor, paginate
from app.privacy.models import RetentionRun
from app.privacy.service import DELETED, DETACHED, ERASURE, KINDS


def _page(session: Session, query, at, key, limit: int, after: list | None) -> dict:
    if after is not None:
        query = query.where(tuple_(at, key) < tuple(after))
    rows = list(session.scalars(query.order_by(at.desc(), key.desc()).limit(limit + 1)))
    return paginate(rows, limit, lambda row: [getattr(row, at.key).isoformat(), row.id])


def _since_until(query, at, since: datetime | None, until: datetime | None):
    if since is not None:
        query = query.where(at >= since)
    if until is not None:
        query = query.where(at < until)
    return query


def retention_runs(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    after: list | None = None,
    limit: int = 50,
) -> dict:
    """A page of the retention schedule's runs (dry runs too), by start, newest first."""
    query = _since_until(select(RetentionRun), RetentionRun.started_at, since, until)
    page = _page(session, query, RetentionRun.started_at, RetentionRun.id, limit, after)
    page["items"] = [
        {
            "id": run.id,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "dry_run": run.dry_run,
            "counts": run.counts,
            "delays": run.delays,
            "total": sum(run.counts.values()),
            "error": run.error,
        }
        for run in page["items"]
    ]
    return page


def erasures(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    after: list | None = None,
    limit: int = 50,
) -> dict:
    """A page of residents' erasures (``DELETE /v1/me``), newest first: when, and how many
    records of each kind were deleted or kept detached. Their audit events name nobody
    (a tombstone for actor), and nothing here names the resident either."""
    query = _since_until(
        select(AuditEvent).where(AuditEvent.action == ERASURE), AuditEvent.at, since, until
    )
    page = _page(session, query, AuditEvent.at, AuditEvent.id, limit, after)
    page["items"] = [_erasure(event) for event in page["items"]]
    return page


def _erasure(event: AuditEvent) -> dict:
    counts = event.details.get("counts", {})
    split = {DELETED: {}, DETACHED: {}}
    for kind, outcome, _ in KINDS:
        split[outcome][kind] = int(counts.get(kind, 0))
    return {
        "id": event.id,
        "at": event.at,
        "request_id": event.request_id,
        "deleted": split[DELETED],
        "detached": split[DETACHED],
    }


def parse_cursor(cursor: str | None) -> list | None:
    """(time, id) from a cursor issued by these lists."""
    return decode_cursor(cursor, 2, lambda k: [datetime.fromisoformat(k[0]), int(k[1])])
