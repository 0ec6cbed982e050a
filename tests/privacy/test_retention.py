"""The retention schedule (app.privacy.retention): per rule, rows just past the delay go and
rows just inside it stay; a dry run changes nothing; each run is recorded; the CLI and the
worker's nightly cron job. Every instant counts from the test's ``now`` (the database's
clock), never the host's."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import ProgrammingError

from app.audit.models import AuditEvent
from app.audit.service import REPORT_CONTACT_READ
from app.idempotency.models import IdempotencyKey
from app.notifications.models import Delivery, Device, Notification
from app.photos.models import Photo
from app.photos.service import storage
from app.privacy import retention
from app.privacy.models import RetentionRun
from app.reports.models import Report, ReportContact
from app.triage.models import ReportEvent
from tests.factories import make_report

CONTACT = {"name": "Ana Martin", "email": "ana@example.org", "phone": "0601020304"}
MINUTE = timedelta(minutes=1)
YEAR = timedelta(days=365)
# The rows of each table a rule works on, as they are: a dry run must leave them so.
TABLES = (
    ReportContact,
    Device,
    Notification,
    Delivery,
    AuditEvent,
    IdempotencyKey,
    Report,
    Photo,
)
MONTH = timedelta(days=30)


def closed_report(session, *, closed_at, status="closed", contact=CONTACT, **columns) -> int:
    """A report with contact details, closed (its last change of state) at ``closed_at``."""
    report_id = make_report(
        session,
        status=status,
        contact=dict(contact),
        created_at=closed_at - timedelta(days=10),
        **columns,
    )
    event(session, report_id, closed_at, "in_progress", status)
    return report_id


def event(session, report_id, at, from_status, to_status, action="step") -> None:
    session.add(
        ReportEvent(
            report_id=report_id,
            created_at=at,
            actor_uid="agent-1",
            actor_role="agent",
            action=action,
            from_status=from_status,
            to_status=to_status,
            public=True,
        )
    )
    session.commit()


def photo_with_original(session, report_id, name) -> int:
    """A ready photo of the report with its unblurred original in the storage."""
    key = f"originals/{name}.jpg"
    storage().put(key, b"unblurred " + name.encode())
    row = Photo(
        report_id=report_id,
        status="ready",
        display_key=f"display/ab/{name}.jpg",
        original_key=key,
        uploaded_by="ana",
    )
    session.add(row)
    session.commit()
    return row.id


def device(session, token, last_seen_at) -> int:
    row = Device(
        uid="ana", token=token, platform="android", locale="fr-FR", last_seen_at=last_seen_at
    )
    session.add(row)
    session.commit()
    return row.id


def notification(session, created_at, device_id) -> int:
    row = Notification(
        uid="ana",
        kind="update",
        language="fr",
        title="t",
        body="b",
        data={},
        collapse_key="k",
        created_at=created_at,
    )
    session.add(row)
    session.flush()
    session.add(Delivery(notification_id=row.id, device_id=device_id, status="sent"))
    session.commit()
    return row.id


def audit(session, at, action=REPORT_CONTACT_READ) -> int:
    row = AuditEvent(
        at=at,
        actor_uid="agent-1",
        actor_role="agent",
        action=action,
        subject_type="report",
        subject_id="1",
    )
    session.add(row)
    session.commit()
    return row.id


def idempotency_key(session, key, created_at) -> int:
    row = IdempotencyKey(
        owner="ana",
        scope="POST /v1/reports",
        key=key,
        fingerprint="f" * 64,
        status_code=201,
        body={},
        created_at=created_at,
        expires_at=created_at + timedelta(hours=24),
    )
    session.add(row)
    session.commit()
    return row.id


@pytest.fixture
def seeded(session, now) -> dict:
    """For each rule, a row just past its delay (``past``) and one just inside (``kept``),
    and rows that look old but are not due; returns their ids by name."""
    keeper = device(session, "keeper", now)
    return {
        # Contact details: 12 months after the report's closure.
        "contact_past": closed_report(session, closed_at=now - YEAR - MINUTE),
        "contact_kept": closed_report(session, closed_at=now - YEAR + MINUTE),
        # Resolved (closed too), long ago: then a note, which does not move the closure.
        "contact_noted": _noted(session, now),
        # Closed long ago, reopened since: being dealt with again.
        "contact_reopened": _reopened(session, now),
        # Open for two years: the author may still be needed.
        "contact_open": make_report(
            session, status="in_progress", contact=dict(CONTACT), created_at=now - 2 * YEAR
        ),
        # A duplicate found at intake, closed from its creation (no history).
        "contact_duplicate": make_report(
            session, status="duplicate", contact=dict(CONTACT), created_at=now - YEAR - MINUTE
        ),
        # Unblurred originals of photos: 30 days after the report's closure (files too).
        "original_past": photo_with_original(
            session, closed_report(session, closed_at=now - MONTH - MINUTE), "past"
        ),
        "original_kept": photo_with_original(
            session, closed_report(session, closed_at=now - MONTH + MINUTE), "kept"
        ),
        # Device tokens: 270 days unseen.
        "device_past": device(session, "old", now - timedelta(days=270) - MINUTE),
        "device_kept": device(session, "recent", now - timedelta(days=270) + MINUTE),
        # Notifications: 12 months (their pushes go with them).
        "notification_past": notification(session, now - YEAR - MINUTE, keeper),
        "notification_kept": notification(session, now - YEAR + MINUTE, keeper),
        # Staff reads of personal data: 12 months; other audit events are not access traces.
        "read_past": audit(session, now - YEAR - MINUTE),
        "read_kept": audit(session, now - YEAR + MINUTE),
        "staff_change": audit(session, now - 2 * YEAR, action="user.delete"),
        # Idempotency keys: 24 hours.
        "key_past": idempotency_key(session, "k-old", now - timedelta(days=1) - MINUTE),
        "key_kept": idempotency_key(session, "k-new", now - timedelta(days=1) + MINUTE),
    }


def _noted(session, now) -> int:
    report_id = closed_report(session, closed_at=now - YEAR - MINUTE, status="resolved")
    event(session, report_id, now - timedelta(days=2), "resolved", "resolved", action="note")
    return report_id


def _reopened(session, now) -> int:
    report_id = closed_report(session, closed_at=now - 2 * YEAR)
    event(session, report_id, now - YEAR - timedelta(days=2), "closed", "reopened")
    session.execute(update(Report).where(Report.id == report_id).values(status="reopened"))
    session.commit()
    return report_id


EXPECTED = {
    "contact_details": 3,
    "unblurred_photos": 1,
    "device_tokens": 1,
    "notifications": 1,
    "personal_data_reads": 1,
    "idempotency_keys": 1,
}


def contact_of(session, report_id) -> dict:
    row = session.get(ReportContact, report_id, populate_existing=True)
    return {"name": row.name, "email": row.email, "phone": row.phone, "by_push": row.by_push}


def ids(session, model) -> set[int]:
    return set(session.scalars(select(model.id)))


def snapshot(session) -> dict:
    """Every row of the tables the rules work on, as tuples of their columns."""
    session.expire_all()
    return {
        model.__tablename__: sorted(
            tuple(str(v) for v in row)
            for row in session.execute(select(*model.__table__.columns)).all()
        )
        for model in TABLES
    }


def test_each_rule_removes_the_rows_just_past_its_delay_and_keeps_those_just_inside(
    app, session, now, seeded
):
    done = retention.run(session, app.config, now=now)
    assert done.counts == EXPECTED

    # Contact details cleared, the reports and the preferences kept.
    cleared = {"name": None, "email": None, "phone": None, "by_push": True}
    for past in ("contact_past", "contact_noted", "contact_duplicate"):
        assert contact_of(session, seeded[past]) == cleared, past
    for kept in ("contact_kept", "contact_reopened", "contact_open"):
        assert contact_of(session, seeded[kept]) == {**CONTACT, "by_push": True}, kept
    assert session.scalar(select(func.count()).select_from(Report)) == 8

    # The original's key cleared and its file deleted (once the batch committed); the
    # photo and its public file kept.
    past = session.get(Photo, seeded["original_past"], populate_existing=True)
    assert past.original_key is None and past.display_key is not None
    assert not storage().exists("originals/past.jpg")
    kept = session.get(Photo, seeded["original_kept"], populate_existing=True)
    assert kept.original_key == "originals/kept.jpg" and storage().exists(kept.original_key)

    devices = set(session.scalars(select(Device.token)))
    assert devices == {"keeper", "recent"}
    assert ids(session, Notification) == {seeded["notification_kept"]}
    assert session.scalars(select(Delivery.notification_id)).all() == [seeded["notification_kept"]]
    assert ids(session, AuditEvent) == {seeded["read_kept"], seeded["staff_change"]}
    assert ids(session, IdempotencyKey) == {seeded["key_kept"]}


def test_a_dry_run_changes_nothing_and_counts_what_the_run_then_does(app, session, now, seeded):
    before = snapshot(session)
    dry = retention.run(session, app.config, now=now, dry_run=True)
    assert dry.counts == EXPECTED
    assert snapshot(session) == before
    assert retention.run(session, app.config, now=now).counts == dry.counts
    assert snapshot(session) != before


def test_each_run_is_recorded_with_its_counts_and_a_second_run_removes_nothing_more(
    app, session, now, seeded
):
    retention.run(session, app.config, now=now, dry_run=True)
    retention.run(session, app.config, now=now)
    retention.run(session, app.config, now=now)
    runs = session.scalars(select(RetentionRun).order_by(RetentionRun.id)).all()
    assert [(r.dry_run, r.counts) for r in runs] == [
        (True, EXPECTED),
        (False, EXPECTED),
        (False, dict.fromkeys(EXPECTED, 0)),
    ]
    for recorded in runs:
        assert recorded.started_at == now
        assert recorded.finished_at is not None
        assert recorded.error is None
        assert recorded.delays == {
            "contact_details": 365,
            "unblurred_photos": 30,
            "device_tokens": 270,
            "notifications": 365,
            "personal_data_reads": 365,
            "idempotency_keys": 1,
        }


def test_a_failing_rule_is_recorded_with_its_error_and_the_counts_before_it(
    app, session, now, seeded
):
    # The last rule's table is gone (in this test's transaction only): its statement fails.
    session.execute(text("DROP TABLE idempotency_keys"))
    session.commit()
    with pytest.raises(ProgrammingError):
        retention.run(session, app.config, now=now)
    [failed] = session.scalars(select(RetentionRun)).all()
    assert failed.counts == {k: v for k, v in EXPECTED.items() if k != "idempotency_keys"}
    assert failed.error.startswith("ProgrammingError: ") and "idempotency_keys" in failed.error
    assert failed.finished_at is not None
    # What the rules before it did is kept (each batch committed).
    assert contact_of(session, seeded["contact_past"])["email"] is None


def test_a_delay_is_set_by_configuration_and_never_below_its_minimum(app, session, now, seeded):
    config = {**app.config, "RETENTION_NOTIFICATIONS_DAYS": 30}
    done = retention.run(session, config, now=now, dry_run=True, only=("notifications",))
    assert done.counts == {"notifications": 2}
    assert done.delays == {"notifications": 30}
    # An idempotency key must live its 24 hours: a shorter delay is refused, nothing runs.
    with pytest.raises(ValueError, match="RETENTION_IDEMPOTENCY_KEYS_DAYS"):
        retention.run(session, {**app.config, "RETENTION_IDEMPOTENCY_KEYS_DAYS": 0.5}, now=now)
    assert session.scalar(select(func.count()).select_from(RetentionRun)) == 1


def test_a_backlog_is_removed_in_small_batches_each_committed(app, session, now, statements):
    for n in range(5):
        device(session, f"old-{n}", now - timedelta(days=300))
    config = {**app.config, "RETENTION_BATCH_SIZE": 2}
    with statements() as seen:
        done = retention.run(session, config, now=now, only=("device_tokens",))
    assert done.counts == {"device_tokens": 5}
    deletes = [s for s in seen if s.lstrip().upper().startswith("DELETE FROM DEVICES")]
    assert len(deletes) == 3  # 2 + 2 + 1
    assert all("LIMIT" in s and "SKIP LOCKED" in s for s in deletes)
    # Each batch after the first starts after the last key deleted.
    assert ["devices.id >" in s for s in deletes] == [False, True, True]
    assert session.scalar(select(func.count()).select_from(Device)) == 0


def test_every_rule_says_what_when_and_why_in_french_and_english():
    for rule in retention.SCHEDULE:
        for words in (rule.what, rule.counted_from, rule.reason):
            assert set(words) == {"fr", "en"} and all(words.values()), rule.name
        assert rule.setting == f"RETENTION_{rule.name.upper()}_DAYS"


def test_the_cli_dry_run_prints_what_it_would_remove_and_changes_nothing(app, session, seeded):
    before = snapshot(session)
    result = app.test_cli_runner().invoke(args=["privacy", "retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:6] == [
        "contact_details: 3 would be cleared (365 days after the report's closure (resolved, "
        "closed, rejected or duplicate))",
        "unblurred_photos: 1 would be cleared (30 days after the report's closure (resolved, "
        "closed, rejected or duplicate))",
        "device_tokens: 1 would be deleted (270 days after the last time the device registered)",
        "notifications: 1 would be deleted (365 days after their creation)",
        "personal_data_reads: 1 would be deleted (365 days after the read)",
        "idempotency_keys: 1 would be deleted (1 day after the request)",
    ]
    assert "dry run: nothing changed" in lines[6]
    assert storage().exists("originals/past.jpg")
    assert snapshot(session) == before

    result = app.test_cli_runner().invoke(args=["privacy", "retention"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("contact_details: 3 cleared (365 days")
    assert "idempotency_keys: 1 deleted (1 day after the request)" in result.output
    assert contact_of(session, seeded["contact_past"])["email"] is None


def test_the_cli_refuses_a_delay_below_the_minimum(app, database_url):
    from tests.conftest import make_app

    refused = make_app(database_url, RETENTION_IDEMPOTENCY_KEYS_DAYS=0)
    result = refused.test_cli_runner().invoke(args=["privacy", "retention", "--dry-run"])
    assert result.exit_code == 1
    assert "RETENTION_IDEMPOTENCY_KEYS_DAYS is below 24 hours" in result.output


def test_the_worker_applies_the_schedule_nightly_and_purges_keys_hourly(app, session, seeded):
    from worker import cron, jobs

    registered = {job.func_name: job for job in cron.scheduler(app.config).get_jobs()}
    nightly = registered["worker.jobs.apply_retention"]
    assert nightly.cron == app.config["RETENTION_CRON"] == "0 3 * * *"
    assert nightly.job_options["job_timeout"] == app.config["RETENTION_TIMEOUT_SECONDS"]
    # Device tokens are pruned by the schedule, no longer by a job of their own.
    assert "worker.jobs.prune_devices" not in registered
    assert registered["worker.jobs.purge_idempotency_keys"].interval == 3600

    # The jobs as the worker runs them: by the database's clock (the test's transaction).
    assert jobs.purge_idempotency_keys() == 1
    assert nightly.func() == {**EXPECTED, "idempotency_keys": 0}
    assert nightly.func() == dict.fromkeys(EXPECTED, 0)
    assert session.scalar(select(func.count()).select_from(RetentionRun)) == 2
