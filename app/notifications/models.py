"""Devices that receive pushes, the notifications residents are told (the in-app feed), and
one push delivery per notification and device (the transactional outbox).

A notification is what a resident is told, once, in their language; a delivery is one push
of it to one device token, with its own state: FCM answers per token (one phone's token may
be unregistered while another accepts), and "never sent twice once accepted" is a property
of a (notification, token) pair.
"""

from datetime import datetime, time

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

PLATFORMS = ("android", "ios", "web")
PENDING, SENT, FAILED = "pending", "sent", "failed"
DELIVERY_STATUSES = (PENDING, SENT, FAILED)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Device(db.Model):
    """An FCM registration token of a resident's app. Disabled when FCM says it is
    unregistered or invalid; pruned when not seen for 270 days."""

    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint(_one_of("platform", PLATFORMS), name="platform"),
        Index("ix_devices_uid", "uid"),
        Index("ix_devices_last_seen_at", "last_seen_at"),
    )
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    uid: Mapped[str] = mapped_column(String(128))
    token: Mapped[str] = mapped_column(String(4096), unique=True)
    platform: Mapped[str] = mapped_column(String(10))
    app_version: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(35))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Why FCM refused it (UNREGISTERED, INVALID_ARGUMENT...), when it did.
    disabled_reason: Mapped[str | None] = mapped_column(String(40))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Notification(db.Model):
    """One thing a resident is told about a report, written in the transaction of the event
    it tells of. The in-app feed lists them; pushes are its deliveries."""

    __tablename__ = "notifications"
    __table_args__ = (
        # One notification per resident per event, whatever retries the writer makes.
        UniqueConstraint("event_id", "uid", name="uq_notifications_event_id_uid"),
        Index("ix_notifications_uid_id", "uid", "id"),
        Index("ix_notifications_uid_unread", "uid", postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_report_id", "report_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    uid: Mapped[str] = mapped_column(String(128))
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(ForeignKey("report_events.id", ondelete="CASCADE"))
    # The report's new state, or "update" (a public message, a desk move, a report merged in).
    kind: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(2))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # Deep link for the app: report id, reference, state (strings, as FCM data must be).
    data: Mapped[dict] = mapped_column(JSONB)
    # One per report: a phone shows only the latest notification of a report.
    collapse_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Delivery(db.Model):
    """One push of a notification to one device: the outbox row the dispatcher works."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="status"),
        UniqueConstraint(
            "notification_id", "device_id", name="uq_notification_deliveries_notification_device"
        ),
        # What the dispatcher and the sweep look for: pending rows by due time.
        Index(
            "ix_notification_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_notification_deliveries_device_id", "device_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), server_default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Claimed by a dispatcher until then: another one leaves it alone meanwhile.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fcm_message_id: Mapped[str | None] = mapped_column(String(300))
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NotificationPreference(db.Model):
    """What a resident wants pushed: kinds of notification muted, and quiet hours (local
    time, Europe/Paris) during which pushes wait. No row: everything pushed at once. The
    in-app feed gets every notification whatever is set here."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        CheckConstraint(
            "(quiet_start IS NULL AND quiet_end IS NULL) OR (quiet_start IS NOT NULL "
            "AND quiet_end IS NOT NULL AND quiet_start <> quiet_end)",
            name="quiet_hours",
        ),
    )

    uid: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Kinds (the report's new state, or "update") that are not pushed.
    push_off: Mapped[list[str]] = mapped_column(ARRAY(String(30)), server_default="{}")
    quiet_start: Mapped[time | None] = mapped_column(Time)
    # Excluded; before quiet_start: the quiet period spans midnight.
    quiet_end: Mapped[time | None] = mapped_column(Time)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
