"""Devices that receive pushes, the notifications residents are told (the in-app feed), and
one push delivery per notification and device (the transactional outbox).

A notification is what a resident is told, once, in their language; a delivery is one push
of it to one device token, with its own state: FCM answers per token (one phone's token may
be unregistered while another accepts), and "never sent twice once accepted" is a property
of a (notification, token) pair.
"""

from datetime import datetime, time

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
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
from app.personal_data import EDITOR_UID, TEMPLATE_TEXT, not_personal, personal

PLATFORMS = ("android", "ios", "web")
PENDING, SENT, FAILED = "pending", "sent", "failed"
# Not pushed: a newer notification of the same collapse key (the same report, or area
# subscription) was pending for the same device, and only the newest state is pushed. The
# notification stays in the in-app feed.
SUPERSEDED = "superseded"
DELIVERY_STATUSES = (PENDING, SENT, FAILED, SUPERSEDED)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _device(what: str) -> dict:
    return personal(
        what,
        purpose="notify",
        basis="consent",
        audience=("self",),
        leaves=("fcm", "own_export"),
        retention="device_tokens",
    )


def _notification(what: str) -> dict:
    return personal(
        what,
        purpose="notify",
        basis="consent",
        audience=("self",),
        leaves=("fcm", "own_export"),
        retention="notifications",
    )


def _area(what: str) -> dict:
    return personal(
        what,
        purpose="area_alerts",
        basis="consent",
        audience=("self",),
        leaves=("own_export",),
        kept="until_erasure",
    )


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
    uid: Mapped[str] = mapped_column(String(128), info=_device("resident_uid"))
    token: Mapped[str] = mapped_column(String(4096), unique=True, info=_device("device_token"))
    platform: Mapped[str] = mapped_column(String(10))
    app_version: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str] = mapped_column(String(35))
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Why FCM refused it (UNREGISTERED, INVALID_ARGUMENT...), when it did.
    disabled_reason: Mapped[str | None] = mapped_column(
        String(40), info=not_personal("FCM's error code")
    )
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Notification(db.Model):
    """One thing a resident is told about a report, written in the transaction of the event
    it tells of, or a batch of new reports in an area they watch (no report, no event). The
    in-app feed lists them; pushes are its deliveries."""

    __tablename__ = "notifications"
    __table_args__ = (
        # One notification per resident per event, whatever retries the writer makes.
        UniqueConstraint("event_id", "uid", name="uq_notifications_event_id_uid"),
        Index("ix_notifications_uid_id", "uid", "id"),
        Index("ix_notifications_uid_unread", "uid", postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_report_id", "report_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    uid: Mapped[str] = mapped_column(String(128), info=_notification("resident_uid"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("report_events.id", ondelete="CASCADE"))
    # One of app.notifications.kinds: the report's new state, "update" (a public message, a
    # desk move, a report merged in), or "area_alert" (new reports in an area subscribed to).
    kind: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(2))
    title: Mapped[str] = mapped_column(Text, info=_notification("notification_text"))
    body: Mapped[str] = mapped_column(Text, info=_notification("notification_text"))
    # Deep link for the app: report id, reference, state (strings, as FCM data must be).
    data: Mapped[dict] = mapped_column(JSONB)
    # One per report (or area subscription): a phone shows only the latest of it.
    collapse_key: Mapped[str] = mapped_column(
        String(64), info=not_personal("report-<id> or area-<id>: which notification replaces which")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Delivery(db.Model):
    """One push of a notification to one device: the outbox row the dispatcher works.
    Pending until sent, failed, or superseded by a newer one of the same collapse key for
    the same device (a phone shows only the latest of it: only the newest is pushed)."""

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
        # What a claim reads of the devices it locked: their pending rows, newest first.
        Index(
            "ix_notification_deliveries_pending_device",
            "device_id",
            "notification_id",
            postgresql_where=text("status = 'pending'"),
        ),
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
    fcm_message_id: Mapped[str | None] = mapped_column(
        String(300), info=not_personal("FCM's id for the message it accepted")
    )
    last_error: Mapped[str | None] = mapped_column(
        String(500), info=not_personal("FCM's answer to a failed push")
    )
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

    uid: Mapped[str] = mapped_column(
        String(128),
        primary_key=True,
        info=personal(
            "resident_uid",
            purpose="notify",
            basis="consent",
            audience=("self",),
            leaves=("own_export",),
            kept="until_erasure",
        ),
    )
    # Kinds (app.notifications.kinds) that are not pushed.
    push_off: Mapped[list[str]] = mapped_column(ARRAY(String(30)), server_default="{}")
    quiet_start: Mapped[time | None] = mapped_column(Time)
    # Excluded; before quiet_start: the quiet period spans midnight.
    quiet_end: Mapped[time | None] = mapped_column(Time)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AreaSubscription(db.Model):
    """A resident's watch on an area, a point and a radius or a commune, for new public
    reports of some categories (none listed: all), told at most once an interval."""

    __tablename__ = "area_subscriptions"
    __table_args__ = (
        CheckConstraint(
            "(commune_insee IS NULL) <> (geom IS NULL) AND (geom IS NULL) = (radius_m IS NULL)",
            name="one_area",
        ),
        CheckConstraint("radius_m BETWEEN 1 AND 2000", name="radius_m"),
        Index("ix_area_subscriptions_uid", "uid"),
    )
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    uid: Mapped[str] = mapped_column(String(128), info=_area("resident_uid"))
    # The resident's name for it ("Home"): what the alert's title calls the area.
    label: Mapped[str | None] = mapped_column(String(60), info=_area("area_label"))
    commune_insee: Mapped[str | None] = mapped_column(
        ForeignKey("communes.insee_code", ondelete="CASCADE")
    )
    geom = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False),
        nullable=True,
        info=_area("watched_area"),
    )
    # Lambert-93, metres: compared with the reports' geom_l93 (ST_DWithin, their GiST index).
    geom_l93 = mapped_column(
        Geometry("POINT", srid=2154, spatial_index=False),
        Computed("ST_Transform(geom, 2154)", persisted=True),
        info=_area("watched_area"),
    )
    radius_m: Mapped[int | None] = mapped_column(Integer)
    # Category codes; empty: every category.
    categories: Mapped[list[str]] = mapped_column(ARRAY(String(40)), server_default="{}")
    # Reports created up to then have been considered: the next alert tells of later ones.
    watermark: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_alert_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class NotificationTitle(db.Model):
    """An edited title of a kind of notification (no row: the shipped one,
    :data:`app.notifications.kinds.KINDS`)."""

    __tablename__ = "notification_titles"

    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    text_fr: Mapped[str] = mapped_column(Text, info=TEMPLATE_TEXT)
    text_en: Mapped[str] = mapped_column(Text, info=TEMPLATE_TEXT)
    updated_by: Mapped[str | None] = mapped_column(String(128), info=EDITOR_UID)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
