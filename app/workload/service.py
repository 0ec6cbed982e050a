"""Folding the slots of connections gone into slot 0 (every ten minutes, worker/cron.py);
checking the counters of open work against a fresh count of the reports, and repairing
them (``flask workload check [--repair]``, for operations: after a restore, or triggers
disabled for a bulk load)."""

from sqlalchemy import delete, func, insert, select, text, true
from sqlalchemy.orm import Session

from app.organisation.models import Crew, Desk
from app.reports.models import OPEN_WORK, Report
from app.routing.choice import counted_workload, fresh_workload
from app.worklists.models import DeskQueueVersion
from app.workload.models import BASE_SLOT, CrewWorkload, DeskOpenCount

# Taken by the fold and the repair, the only writers of slot 0, for their transaction.
_SLOT_ZERO_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('app.workload.slot_zero'))")

# Each counter's slots whose backend is no longer connected (slot = pid), moved into slot 0
# in one statement: the sum is unchanged. A slot locked by a writer (a new backend that got
# the same pid) is skipped, so the fold never waits for a writer; writers only wait for the
# fold's few milliseconds, and never on a row of their own that the fold holds for long.
_FOLD = """
WITH gone AS (
    SELECT ctid FROM {table}
    WHERE slot <> 0 AND slot NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)
    FOR UPDATE SKIP LOCKED
), folded AS (
    DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM gone) RETURNING {keys}, {value}
)
INSERT INTO {table} AS c ({keys}, slot, {value})
SELECT {keys}, 0, sum({value}) FROM folded GROUP BY {keys} ORDER BY {keys}
ON CONFLICT ({keys}, slot) DO UPDATE SET {value} = c.{value} + excluded.{value}
"""
# The desks' queue versions (app.worklists.cache) are kept in slots the same way.
_FOLDS = tuple(
    text(_FOLD.format(table=table, keys=keys, value=value))
    for table, keys, value in (
        ("crew_workload", "crew_id", "reports"),
        ("desk_open_counts", "desk_id, status", "reports"),
        ("desk_queue_versions", "desk_id", "changes"),
    )
)


def fold(session: Session) -> int:
    """Move the slots of backends gone into slot 0 (sums unchanged); commits. Returns how
    many rows were folded."""
    session.execute(_SLOT_ZERO_LOCK)
    before = _rows(session)
    for statement in _FOLDS:
        session.execute(statement)
    folded = before - _rows(session)
    session.commit()
    return folded


def _rows(session: Session) -> int:
    return sum(
        session.scalar(select(func.count()).select_from(table))
        for table in (CrewWorkload, DeskOpenCount, DeskQueueVersion)
    )


def drifts(session: Session) -> list[dict]:
    """Every counter that differs from a fresh count: ``{"crew": code, "counted": n,
    "fresh": m}`` or ``{"desk": code, "status": s, "counted": n, "fresh": m}``."""
    found = []
    kept = counted_workload(Crew.id).lateral("kept")
    fresh = fresh_workload(Crew.id).lateral("fresh")
    crews = (
        select(Crew.code, kept.c.workload, fresh.c.workload)
        .select_from(Crew)
        .join(kept, true())
        .join(fresh, true())
        .where(kept.c.workload != fresh.c.workload)
        .order_by(Crew.code)
    )
    for code, counted, counted_afresh in session.execute(crews):
        found.append({"crew": code, "counted": counted, "fresh": counted_afresh})
    by_desk = {}
    counted = select(
        DeskOpenCount.desk_id, DeskOpenCount.status, func.sum(DeskOpenCount.reports)
    ).group_by(DeskOpenCount.desk_id, DeskOpenCount.status)
    for desk_id, status, count in session.execute(counted):
        by_desk[desk_id, status] = [count, 0]
    afresh = (
        select(Report.desk_id, Report.status, func.count())
        .where(Report.desk_id.is_not(None), OPEN_WORK)
        .group_by(Report.desk_id, Report.status)
    )
    for desk_id, status, count in session.execute(afresh):
        by_desk.setdefault((desk_id, status), [0, 0])[1] = count
    codes = dict(session.execute(select(Desk.id, Desk.code)).all())
    for (desk_id, status), (count, count_afresh) in sorted(by_desk.items()):
        if count != count_afresh:
            found.append(
                {"desk": codes[desk_id], "status": status, "counted": count, "fresh": count_afresh}
            )
    return found


def check(session: Session, *, repair: bool = False) -> list[dict]:
    """The counters that drifted (see :func:`drifts`); with ``repair``, each is set to the
    fresh count in the same transaction, reports locked against writers meanwhile (their
    writers wait a moment; readers do not), and committed."""
    if repair:
        session.execute(_SLOT_ZERO_LOCK)
        session.execute(text("LOCK TABLE reports IN SHARE MODE"))
    found = drifts(session)
    if not repair or not found:
        session.rollback()
        return found
    crew_ids = dict(session.execute(select(Crew.code, Crew.id)).all())
    desk_ids = dict(session.execute(select(Desk.code, Desk.id)).all())
    for drift in found:
        if "crew" in drift:
            crew_id = crew_ids[drift["crew"]]
            session.execute(delete(CrewWorkload).where(CrewWorkload.crew_id == crew_id))
            rows = [{"crew_id": crew_id, "slot": BASE_SLOT, "reports": drift["fresh"]}]
            session.execute(insert(CrewWorkload), rows)
        else:
            desk_id = desk_ids[drift["desk"]]
            session.execute(
                delete(DeskOpenCount).where(
                    DeskOpenCount.desk_id == desk_id, DeskOpenCount.status == drift["status"]
                )
            )
            row = {"desk_id": desk_id, "status": drift["status"], "slot": BASE_SLOT}
            session.execute(insert(DeskOpenCount), [{**row, "reports": drift["fresh"]}])
    session.commit()
    return found
