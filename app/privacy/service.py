"""Residents' rights (GDPR articles 15, 17 and 20): what Signale holds about a resident, as
one document, and its erasure.

Every table holding a resident's uid is either read by :func:`export` or named in
:data:`NOT_EXPORTED` with the reason (tests/privacy/test_catalogue.py holds both against
the database's catalogue: a new column holding uids fails it until it is handled here).

Erasure keeps what the city needs for its public task (the reports, what was done about
them, how many people supported them) and detaches it from the person: each kept record's
uid is replaced with a tombstone, ``erased:<random>``, drawn afresh for each report and each
support, so that two records of the same person cannot be linked back together either. The
``erased`` namespace is internal (app/auth/identity.py): no token may carry such a uid.
"""

import secrets
from datetime import datetime

from geoalchemy2.shape import to_shape
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth.identity import ERASED_NAMESPACE, Identity, internal_uid, staff_row
from app.categories.models import Category
from app.errors import Forbidden
from app.idempotency.models import IdempotencyKey
from app.notifications.models import (
    AreaSubscription,
    Device,
    Notification,
    NotificationPreference,
)
from app.photos.models import Photo
from app.photos.service import PHOTO_FILES
from app.privacy.texts import text
from app.reports.models import Report, ReportContact, ReportFollower, ReportSupporter
from app.triage.models import ReportEvent
from app.users.models import Role

# (table, column) holding uids that the export does not carry, and why.
NOT_EXPORTED = {
    ("equipment_commands", "requested_by"): "staff work: a command to the city's equipment "
    "names the member of staff who asked for it (the audit trail's duty)",
    ("equipment_commands", "decided_by"): "staff work: the supervisor who confirmed or refused "
    "a command to the city's equipment (the audit trail's duty)",
    ("idempotency_keys", "owner"): "technical: the replay of a request's answer, kept 24 hours "
    "(deleted by the erasure)",
    ("audit_events", "actor_uid"): "staff accesses name a member of staff (the reads of the "
    "resident's reports are exported as personal_data_reads); erasures name a tombstone",
    ("users", "firebase_uid"): "staff accounts only (exported as account.staff when the "
    "caller has one)",
    ("message_templates", "updated_by"): "staff only: who edited a message template",
    ("photos", "moderated_by"): "staff only: who last moderated a photo (its boxes, hidden)",
    ("notification_titles", "updated_by"): "staff only: who edited a notification title",
    ("open311_api_keys", "created_by"): "staff only: the admin who created a partner key",
}
# (table, column) holding uids -> the section of the export that carries its rows.
EXPORTED = {
    ("reports", "reporter_uid"): "reports",
    ("photos", "uploaded_by"): "photos",
    ("report_supporters", "uid"): "supports",
    ("report_followers", "uid"): "follows",
    ("area_subscriptions", "uid"): "area_subscriptions",
    ("devices", "uid"): "devices",
    ("notifications", "uid"): "notifications",
    ("notification_preferences", "uid"): "notification_preferences",
    ("report_events", "actor_uid"): "actions",
}

# Answers to these kinds of question are not free text: they are kept with the report.
_NOT_FREE_TEXT = ("number", "boolean", "single_choice", "multiple_choice")

ERASURE = "resident.erasure"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _point(geom) -> dict | None:
    if geom is None:
        return None
    point = to_shape(geom)
    return {"lon": point.x, "lat": point.y}


def _photo(photo: Photo) -> dict:
    return {
        "id": photo.id,
        "report_id": photo.report_id,
        "kind": photo.kind,
        "status": photo.status,
        "reject_reason": photo.reject_reason,
        "url": f"/v1/media/{photo.display_key}" if photo.display_key else None,
        "thumbnail_url": f"/v1/media/{photo.thumbnail_key}" if photo.thumbnail_key else None,
        "width": photo.width,
        "height": photo.height,
        "public": photo.is_public,
        "hidden": photo.hidden,
        # The unblurred original is the desk's (audited) until deleted: she is told it exists.
        "unblurred_original_kept": photo.original_key is not None,
        "created_at": _when(photo.created_at),
    }


def export(session: Session, *, identity: Identity) -> dict:
    """Everything Signale holds about ``identity``'s uid, as one JSON-ready document."""
    uid = identity.uid
    reports = list(
        session.scalars(select(Report).where(Report.reporter_uid == uid).order_by(Report.id))
    )
    report_ids = [r.id for r in reports]
    contacts = {
        c.report_id: c
        for c in session.scalars(
            select(ReportContact).where(ReportContact.report_id.in_(report_ids))
        )
    }
    staff = staff_row(session, uid)
    document = {
        "uid": uid,
        "generated_at": _when(session.scalar(select(func.now()))),
        "account": {
            "uid": uid,
            "role": identity.role.value,
            "anonymous": identity.anonymous,
            "email": identity.email,
            "staff": None
            if staff is None
            else {
                "role": staff.role,
                "active": staff.active,
                "email": staff.email,
                "display_name": staff.display_name,
                "desks": list(staff.desks),
                "crew": staff.crew,
            },
        },
        "reports": [
            {
                "id": r.id,
                "reference": r.reference,
                "category": r.category.code,
                "status": r.status,
                "created_at": _when(r.created_at),
                "updated_at": _when(r.updated_at),
                "location": _point(r.geom),
                "accuracy_m": r.accuracy_m,
                "address": r.address,
                "commune": r.commune_insee,
                "description": r.description,
                "public_description": r.public_description,
                "answers": r.answers,
                "anonymous_sign_in": r.reporter_anonymous,
                "language": r.language,
                "source": r.source,
                "contact": None
                if r.id not in contacts
                else {
                    "name": contacts[r.id].name,
                    "email": contacts[r.id].email,
                    "phone": contacts[r.id].phone,
                    "by_push": contacts[r.id].by_push,
                    "by_email": contacts[r.id].by_email,
                },
            }
            for r in reports
        ],
        "photos": [
            _photo(p)
            for p in session.scalars(
                select(Photo).where(Photo.uploaded_by == uid).order_by(Photo.id)
            )
        ],
        "supports": [
            {
                "report_id": s.report_id,
                "anonymous_sign_in": s.anonymous,
                "created_at": _when(s.created_at),
            }
            for s in session.scalars(
                select(ReportSupporter)
                .where(ReportSupporter.uid == uid)
                .order_by(ReportSupporter.report_id)
            )
        ],
        "follows": [
            {"report_id": f.report_id, "reason": f.reason, "created_at": _when(f.created_at)}
            for f in session.scalars(
                select(ReportFollower)
                .where(ReportFollower.uid == uid)
                .order_by(ReportFollower.report_id)
            )
        ],
        "area_subscriptions": [
            {
                "id": a.id,
                "label": a.label,
                "commune": a.commune_insee,
                "center": _point(a.geom),
                "radius_m": a.radius_m,
                "categories": list(a.categories),
                "last_alert_at": _when(a.last_alert_at),
                "created_at": _when(a.created_at),
                "updated_at": _when(a.updated_at),
            }
            for a in session.scalars(
                select(AreaSubscription)
                .where(AreaSubscription.uid == uid)
                .order_by(AreaSubscription.id)
            )
        ],
        "devices": [
            {
                "token": d.token,
                "platform": d.platform,
                "app_version": d.app_version,
                "locale": d.locale,
                "enabled": d.enabled,
                "disabled_reason": d.disabled_reason,
                "created_at": _when(d.created_at),
                "last_seen_at": _when(d.last_seen_at),
            }
            for d in session.scalars(select(Device).where(Device.uid == uid).order_by(Device.id))
        ],
        "notifications": [
            {
                "id": n.id,
                "report_id": n.report_id,
                "kind": n.kind,
                "language": n.language,
                "title": n.title,
                "body": n.body,
                "created_at": _when(n.created_at),
                "read_at": _when(n.read_at),
            }
            for n in session.scalars(
                select(Notification).where(Notification.uid == uid).order_by(Notification.id)
            )
        ],
        "notification_preferences": [
            {
                "push_off": list(p.push_off),
                "quiet_start": p.quiet_start.isoformat() if p.quiet_start else None,
                "quiet_end": p.quiet_end.isoformat() if p.quiet_end else None,
                "updated_at": _when(p.updated_at),
            }
            for p in session.scalars(
                select(NotificationPreference).where(NotificationPreference.uid == uid)
            )
        ],
        # What the resident did on reports (reopened one, supported, ...), as the history
        # records it.
        "actions": [
            {
                "report_id": e.report_id,
                "action": e.action,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "created_at": _when(e.created_at),
            }
            for e in session.scalars(
                select(ReportEvent).where(ReportEvent.actor_uid == uid).order_by(ReportEvent.id)
            )
        ],
        # Who among staff read the contact details given with the resident's reports.
        "personal_data_reads": [
            {
                "report_id": int(a.subject_id),
                "action": a.action,
                "at": _when(a.at),
                "actor_uid": a.actor_uid,
                "actor_role": a.actor_role,
            }
            for a in session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.action.in_(audit.PERSONAL_DATA_READS),
                    AuditEvent.subject_type == "report",
                    AuditEvent.subject_id.in_([str(i) for i in report_ids]),
                )
                .order_by(AuditEvent.id)
            )
        ],
    }
    session.rollback()
    return document


def _tombstone() -> str:
    return internal_uid(ERASED_NAMESPACE, secrets.token_hex(16))


def _kept_answers(answers: dict, questions: list) -> dict:
    """The answers that are not free text: the choices, numbers and yes/no of the category's
    questions (an answer to a question the category no longer has is dropped too)."""
    kinds = {q.get("code"): q.get("type") for q in questions or ()}
    return {
        code: value for code, value in (answers or {}).items() if kinds.get(code) in _NOT_FREE_TEXT
    }


# Kinds of data in the order the answer lists them: (kind, outcome, the message saying why).
DELETED, DETACHED = "deleted", "detached"
KINDS = (
    ("contacts", DELETED, "erasure_deleted_contacts"),
    ("devices", DELETED, "erasure_deleted_devices"),
    ("notifications", DELETED, "erasure_deleted_notifications"),
    ("notification_preferences", DELETED, "erasure_deleted_notification_preferences"),
    ("area_subscriptions", DELETED, "erasure_deleted_area_subscriptions"),
    ("follows", DELETED, "erasure_deleted_follows"),
    ("unpublished_photos", DELETED, "erasure_deleted_unpublished_photos"),
    ("unblurred_originals", DELETED, "erasure_deleted_unblurred_originals"),
    ("idempotency_keys", DELETED, "erasure_deleted_idempotency_keys"),
    ("reports", DETACHED, "erasure_detached_reports"),
    ("published_photos", DETACHED, "erasure_detached_published_photos"),
    ("supports", DETACHED, "erasure_detached_supports"),
    ("actions", DETACHED, "erasure_detached_actions"),
)


def erase(session: Session, *, identity: Identity, request_id: str | None) -> tuple[dict, list]:
    """Erase ``identity``'s personal data (one transaction). Returns the counts per kind and
    the storage keys of the files to delete once it has committed (photos that were never
    published). A second call finds nothing: every count is zero."""
    uid = identity.uid
    if identity.role != Role.RESIDENT or staff_row(session, uid) is not None:
        # A staff account is the city's to manage (desks, crews, audit trails name it):
        # admins deactivate it; its owner cannot erase it.
        raise Forbidden("staff_account_not_erasable")
    counts = dict.fromkeys((kind for kind, _, _ in KINDS), 0)

    def deleted(statement) -> int:
        return session.execute(statement).rowcount or 0

    reports = list(
        session.scalars(
            select(Report)
            .where(Report.reporter_uid == uid)
            .order_by(Report.id)
            .with_for_update(of=Report)
        )
    )
    questions = dict(
        session.execute(
            select(Category.id, Category.questions).where(
                Category.id.in_({r.category_id for r in reports})
            )
        ).all()
    )
    tombstones = {}
    for report in reports:
        tombstone = tombstones[report.id] = _tombstone()
        report.reporter_uid = tombstone
        # The desk's edited version (public_description) is what the city published: kept.
        report.description = None
        report.address = None
        report.answers = _kept_answers(report.answers, questions.get(report.category_id))
        # Staff holding the report see it changed (its ETag).
        report.version += 1
    counts["reports"] = len(reports)
    session.flush()
    counts["contacts"] = deleted(
        delete(ReportContact).where(ReportContact.report_id.in_(list(tombstones)))
    )
    # The history keeps what was done, not who asked: the resident's own actions on their
    # reports name the report's tombstone, on other reports a fresh one.
    events = list(session.scalars(select(ReportEvent).where(ReportEvent.actor_uid == uid)))
    for event in events:
        event.actor_uid = tombstones.get(event.report_id) or _tombstone()
    counts["actions"] = len(events)

    # Photos not published (still processing, rejected, or hidden by the desk) go, files
    # included; published ones stay with their report (metadata stripped, faces and plates
    # blurred), but not their unblurred original: what she sent, only the blurred version.
    photos = list(session.scalars(select(Photo).where(Photo.uploaded_by == uid)))
    files = []
    for photo in photos:
        if photo.is_public:
            photo.uploaded_by = tombstones.get(photo.report_id) or _tombstone()
            counts["published_photos"] += 1
            if photo.original_key is not None:
                files.append(photo.original_key)
                photo.original_key = None
                counts["unblurred_originals"] += 1
        else:
            files.extend(
                k
                for k in (
                    photo.upload_key,
                    photo.display_key,
                    photo.thumbnail_key,
                    photo.original_key,
                )
                if k
            )
            session.delete(photo)
            counts["unpublished_photos"] += 1
    session.flush()
    # Content-addressed files another photo still uses stay.
    if files:
        used = set()
        for column in PHOTO_FILES:
            used |= set(session.scalars(select(column).where(column.in_(files))))
        files = [key for key in files if key not in used]

    supports = list(session.scalars(select(ReportSupporter).where(ReportSupporter.uid == uid)))
    for support in supports:
        # Counted on the report (support_count) and kept as a row, naming nobody.
        support.uid = _tombstone()
    counts["supports"] = len(supports)

    counts["follows"] = deleted(delete(ReportFollower).where(ReportFollower.uid == uid))
    counts["notifications"] = deleted(delete(Notification).where(Notification.uid == uid))
    counts["devices"] = deleted(delete(Device).where(Device.uid == uid))
    counts["notification_preferences"] = deleted(
        delete(NotificationPreference).where(NotificationPreference.uid == uid)
    )
    counts["area_subscriptions"] = deleted(
        delete(AreaSubscription).where(AreaSubscription.uid == uid)
    )
    counts["idempotency_keys"] = deleted(delete(IdempotencyKey).where(IdempotencyKey.owner == uid))
    # The correspondent counts erasures: the request is recorded, naming nobody.
    audit.record(
        session,
        actor=_Erased(),
        action=ERASURE,
        subject_type="erasure",
        subject_id=secrets.token_hex(8),
        request_id=request_id,
        counts=counts,
    )
    session.commit()
    return counts, files


class _Erased:
    """The actor of an erasure's audit event: a tombstone, not the resident."""

    role = Role.RESIDENT

    def __init__(self):
        self.uid = _tombstone()


def answer(counts: dict, lang: str) -> dict:
    """What an erasure did, worded in ``lang``."""
    items = [
        {
            "kind": kind,
            "outcome": outcome,
            "count": counts[kind],
            "reason": text(code, lang),
        }
        for kind, outcome, code in KINDS
    ]
    total = sum(counts.values())
    return {
        "message": text("erasure_done" if total else "erasure_nothing_left", lang),
        "deleted": {kind: counts[kind] for kind, outcome, _ in KINDS if outcome == DELETED},
        "detached": {kind: counts[kind] for kind, outcome, _ in KINDS if outcome == DETACHED},
        "items": items,
    }


def delete_files(storage, keys: list[str]) -> None:
    for key in keys:
        if storage.exists(key):
            storage.delete(key)
