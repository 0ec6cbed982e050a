"""The retention schedule: what personal data is deleted or cleared, after how long, counted
from which event, and why; run nightly by the worker, each run recorded with its counts.

The schedule is data in code, one :class:`Rule` per kind of personal data, not a table
seeded by a migration: a rule's action is SQL against this schema, so it changes with the
models in the same commit and is tested with them; only the delays are a deployment's
choice (``RETENTION_<RULE>_DAYS``, the environment as any setting), and the register of
processing activities reads the same entries. Adding a kind of personal data is adding one
entry.

Each rule works in batches of ``RETENTION_BATCH_SIZE`` rows, each its own short
transaction (rows another transaction holds are skipped, for the next night), so a
backlog never holds locks for long. Every cutoff counts back from one instant, the
database's clock when the run starts (app.clock). A rule only picks rows that still hold
what it removes: a second run finds nothing more, and two runs at once share the work.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.orm import Session

from app import clock
from app.audit.models import AuditEvent
from app.audit.service import PERSONAL_DATA_READS
from app.idempotency.models import IdempotencyKey
from app.idempotency.service import LIFETIME as IDEMPOTENCY_LIFETIME
from app.notifications.models import Device, Notification
from app.photos import service as photos
from app.photos.models import Photo
from app.privacy.models import RetentionRun
from app.reports.models import CLOSED_STATUSES, Report, ReportContact
from app.triage.models import ReportEvent

DEFAULT_BATCH_SIZE = 5000


@dataclass(frozen=True)
class Rule:
    """One line of the schedule. ``due(cutoff)``: the condition of the rows whose event
    (``counted_from``) is older than ``cutoff`` and that still hold the data; ``clear``:
    the columns set to null (the row is kept), else the rows are deleted."""

    name: str
    model: type
    key: str
    days: int
    what: dict[str, str]
    counted_from: dict[str, str]
    reason: dict[str, str]
    due: Callable[[datetime], ColumnElement[bool]]
    clear: tuple[str, ...] = ()
    # A column naming a file in the photo storage (cleared with the row): the file is queued
    # for deletion in the batch's transaction and deleted once it commits (a delete lost to
    # a crash is done by the next run: app.photos.service.delete_withdrawn_files).
    withdraws: str | None = None
    # The shortest delay a deployment may set (another mechanism needs the rows until then).
    minimum: timedelta = timedelta(0)

    @property
    def setting(self) -> str:
        """The configuration key of its delay in days: ``RETENTION_<NAME>_DAYS``."""
        return f"RETENTION_{self.name.upper()}_DAYS"

    @property
    def action(self) -> str:
        return "clear" if self.clear else "delete"

    def delay(self, config) -> timedelta:
        """Its delay as configured (else the default), refused below its minimum."""
        delay = timedelta(days=float(config.get(self.setting, self.days)))
        if delay < self.minimum or delay < timedelta(0):
            hours = self.minimum.total_seconds() / 3600
            raise ValueError(f"{self.setting} is below {hours:g} hours, what {self.name} needs")
        return delay


def _closed_before(cutoff: datetime) -> ColumnElement[bool]:
    """The report is closed, and was before ``cutoff``: its last change of state (into the
    closed state it is in, or between closed states), else its creation (a duplicate found
    at intake is closed from the start; an imported report has no history)."""
    last_change = (
        select(func.max(ReportEvent.created_at))
        .where(
            ReportEvent.report_id == Report.id,
            ReportEvent.from_status != ReportEvent.to_status,
        )
        .scalar_subquery()
    )
    return Report.status.in_(CLOSED_STATUSES) & (
        func.coalesce(last_change, Report.created_at) < cutoff
    )


def _originals_due(cutoff: datetime) -> ColumnElement[bool]:
    closed = select(Report.id).where(Report.id == Photo.report_id, _closed_before(cutoff))
    return Photo.original_key.is_not(None) & closed.exists()


def _contacts_due(cutoff: datetime) -> ColumnElement[bool]:
    held = or_(
        ReportContact.name.is_not(None),
        ReportContact.email.is_not(None),
        ReportContact.phone.is_not(None),
    )
    closed = select(Report.id).where(Report.id == ReportContact.report_id, _closed_before(cutoff))
    return held & closed.exists()


SCHEDULE: tuple[Rule, ...] = (
    Rule(
        name="contact_details",
        model=ReportContact,
        key="report_id",
        clear=("name", "email", "phone"),
        days=365,
        what={
            "fr": "Nom, e-mail et téléphone laissés par l'auteur d'un signalement (le "
            "signalement est conservé)",
            "en": "Name, e-mail and phone left by a report's author (the report is kept)",
        },
        counted_from={
            "fr": "la clôture du signalement (résolu, clos, rejeté ou doublon)",
            "en": "the report's closure (resolved, closed, rejected or duplicate)",
        },
        reason={
            "fr": "Recontacter l'auteur tant que le signalement est traité, et l'année qui "
            "suit sa clôture pour une réclamation ; au-delà, plus nécessaire à la mission.",
            "en": "To reach the author while the report is dealt with, and for a year after "
            "its closure for a complaint; beyond, no longer needed for the task.",
        },
        due=_contacts_due,
    ),
    Rule(
        name="unblurred_photos",
        model=Photo,
        key="id",
        clear=("original_key",),
        withdraws="original_key",
        days=30,
        what={
            "fr": "Originaux non floutés des photos (visages et plaques lisibles), vus par le "
            "guichet et l'équipe du signalement ; la version floutée publique est conservée",
            "en": "Photos' unblurred originals (faces and plates readable), seen by the "
            "report's desk and crew; the public blurred version is kept",
        },
        counted_from={
            "fr": "la clôture du signalement (résolu, clos, rejeté ou doublon)",
            "en": "the report's closure (resolved, closed, rejected or duplicate)",
        },
        reason={
            "fr": "Le guichet et l'équipe en ont besoin pour traiter le signalement et corriger "
            "le floutage ; un mois après la clôture, plus rien ne le justifie.",
            "en": "The desk and crew need them to deal with the report and correct the "
            "blurring; a month after its closure, nothing justifies them any more.",
        },
        due=_originals_due,
    ),
    Rule(
        name="device_tokens",
        model=Device,
        key="id",
        days=270,
        what={
            "fr": "Jetons FCM des appareils des habitants (notifications push)",
            "en": "Residents' devices' FCM tokens (push notifications)",
        },
        counted_from={
            "fr": "la dernière fois que l'appareil s'est présenté",
            "en": "the last time the device registered",
        },
        reason={
            "fr": "FCM tient pour expiré un jeton inactif 270 jours : il ne sert plus à rien.",
            "en": "FCM treats a token idle for 270 days as expired: it is of no further use.",
        },
        due=lambda cutoff: Device.last_seen_at < cutoff,
    ),
    Rule(
        name="notifications",
        model=Notification,
        key="id",
        days=365,
        what={
            "fr": "Notifications envoyées aux habitants (fil in-app) et leurs envois push",
            "en": "Notifications residents were sent (the in-app feed) and their pushes",
        },
        counted_from={"fr": "leur création", "en": "their creation"},
        reason={
            "fr": "Un fil d'actualité d'un an suffit à l'habitant ; l'historique du "
            "signalement reste consultable.",
            "en": "A year of feed is enough for the resident; the report's history remains.",
        },
        due=lambda cutoff: Notification.created_at < cutoff,
    ),
    Rule(
        name="personal_data_reads",
        model=AuditEvent,
        key="id",
        days=365,
        what={
            "fr": "Journal des consultations de données personnelles par les agents",
            "en": "The log of staff reads of personal data",
        },
        counted_from={"fr": "la consultation", "en": "the read"},
        reason={
            "fr": "Traces d'accès conservées 6 mois à 1 an, comme le recommande la CNIL.",
            "en": "Access traces kept 6 months to a year, as the CNIL recommends.",
        },
        due=lambda cutoff: AuditEvent.action.in_(PERSONAL_DATA_READS) & (AuditEvent.at < cutoff),
    ),
    Rule(
        name="idempotency_keys",
        model=IdempotencyKey,
        key="id",
        days=1,
        minimum=IDEMPOTENCY_LIFETIME,
        what={
            "fr": "Réponses gardées pour rejouer une requête répétée (Idempotency-Key)",
            "en": "Responses kept to replay a repeated request (Idempotency-Key)",
        },
        counted_from={"fr": "la requête", "en": "the request"},
        reason={
            "fr": "Une clé ne sert que 24 heures à reconnaître une nouvelle tentative.",
            "en": "A key serves only 24 hours to recognise a retry.",
        },
        due=lambda cutoff: IdempotencyKey.created_at < cutoff,
    ),
)
RULES: dict[str, Rule] = {rule.name: rule for rule in SCHEDULE}
assert len(RULES) == len(SCHEDULE), "two retention rules share a name"


def _due_keys(rule: Rule, cutoff: datetime) -> Select:
    key = getattr(rule.model, rule.key)
    return select(key).where(rule.due(cutoff))


def count_due(session: Session, rule: Rule, cutoff: datetime) -> int:
    """How many rows ``rule`` would delete or clear at ``cutoff`` (changes nothing)."""
    return session.scalar(select(func.count()).select_from(_due_keys(rule, cutoff).subquery()))


def apply_rule(session: Session, rule: Rule, cutoff: datetime, *, batch: int) -> int:
    """Delete (or clear) the rows due at ``cutoff``, one committed batch at a time in key
    order (each batch starts after the last: rows not due are read once), skipping rows
    locked by others; returns how many."""
    key = getattr(rule.model, rule.key)
    total = 0
    after = None
    while True:
        chosen = _due_keys(rule, cutoff)
        if after is not None:
            chosen = chosen.where(key > after)
        chosen = chosen.order_by(key).limit(batch).with_for_update(of=rule.model, skip_locked=True)
        if rule.withdraws is not None:
            # The files' keys, read (and the rows locked) before the update clears them.
            rows = session.execute(chosen.add_columns(getattr(rule.model, rule.withdraws))).all()
            chosen = [row[0] for row in rows]
            photos.withdraw_files(session, [row[1] for row in rows if row[1]])
        if rule.clear:
            statement = update(rule.model).values(dict.fromkeys(rule.clear))
        else:
            statement = delete(rule.model)
        done = session.scalars(
            statement.where(key.in_(chosen))
            .returning(key)
            .execution_options(synchronize_session=False)
        ).all()
        session.commit()
        if rule.withdraws is not None:
            photos.delete_withdrawn_files(session)
        total += len(done)
        if len(done) < batch:
            return total
        after = max(done)


def delays(config) -> dict[str, timedelta]:
    """Each rule's delay as configured."""
    return {rule.name: rule.delay(config) for rule in SCHEDULE}


def run(
    session: Session,
    config,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    only: tuple[str, ...] | None = None,
) -> RetentionRun:
    """Apply the schedule (``only`` some rules) as of ``now`` (the database's clock), or with
    ``dry_run`` count what it would do; the run is recorded (committed first, then with its
    counts, and its error if a rule failed: the error is raised again)."""
    configured = delays(config)
    batch = int(config.get("RETENTION_BATCH_SIZE", DEFAULT_BATCH_SIZE))
    now = now or clock.now(session)
    rules = [rule for rule in SCHEDULE if only is None or rule.name in only]
    record = RetentionRun(
        started_at=now,
        dry_run=dry_run,
        counts={},
        delays={rule.name: configured[rule.name].total_seconds() / 86400 for rule in rules},
    )
    session.add(record)
    session.commit()
    counts: dict[str, int] = {}
    try:
        for rule in rules:
            cutoff = now - configured[rule.name]
            if dry_run:
                counts[rule.name] = count_due(session, rule, cutoff)
            else:
                counts[rule.name] = apply_rule(session, rule, cutoff, batch=batch)
    except Exception as exc:
        session.rollback()
        record.error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        record.counts = counts
        record.finished_at = clock.now(session)
        session.commit()
    return record


def purge(session: Session, config, name: str, *, now: datetime | None = None) -> int:
    """Apply one rule now, unrecorded: what must go sooner than the nightly run (the
    worker's hourly purge of idempotency keys). Returns how many rows."""
    rule = RULES[name]
    now = now or clock.now(session)
    batch = int(config.get("RETENTION_BATCH_SIZE", DEFAULT_BATCH_SIZE))
    return apply_rule(session, rule, now - rule.delay(config), batch=batch)
