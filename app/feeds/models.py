"""City sensor feeds: the registry, the latest state of each entity, its observations."""

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.feeds import formats
from app.geo.models import LAMBERT93, WGS84
from app.personal_data import not_personal

NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
# The stored attributes a fault mapping may test (app/feeds/faults.py reads them).
FAULT_ATTRIBUTES = ("status", "powerState")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


MOBILITY_EQUIPMENT = not_personal(
    "a car park, bike station, bus or traffic sensor: equipment, never a person"
)


class Feed(db.Model):
    """A source of live data, polled on its own interval; its health is kept on the row."""

    __tablename__ = "feeds"
    __table_args__ = (
        # From the format registry: a new format or kind needs a migration rewriting these.
        CheckConstraint(_one_of("kind", formats.KINDS), name="kind"),
        CheckConstraint(_one_of("format", formats.NAMES), name="format"),
        CheckConstraint("poll_interval_seconds >= 10", name="poll_interval"),
        CheckConstraint("freshness_limit_seconds >= 10", name="freshness_limit"),
        CheckConstraint("source_ttl_seconds >= 0", name="source_ttl"),
        # What the dispatcher reads every few seconds: the enabled feeds that are due.
        Index("ix_feeds_due", "next_poll_at", postgresql_where=text("enabled")),
    )
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(
        String(63),
        unique=True,
        info=not_personal("a feed's or a car park's, station's or stop's name"),
    )
    kind: Mapped[str] = mapped_column(String(20))
    format: Mapped[str] = mapped_column(String(20))
    source_url: Mapped[str] = mapped_column(String(2000))
    poll_interval_seconds: Mapped[int] = mapped_column(Integer)
    freshness_limit_seconds: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Scheduling state: when the next poll is due (pushed back while one runs, and after
    # failures, with backoff).
    next_poll_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # What the adapter keeps between polls, saved with a successful one (GBFS: each file's
    # URL and when it expires, the station information while it is current).
    source_state: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    # How long the source says its data stays current (GBFS ttl): the data is not fetched
    # again meanwhile, so it is stale only after the freshness limit plus this.
    source_ttl_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Health.
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error_code: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(String(500))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    entities_seen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    entities_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The first few skipped entities of the last poll and why: [{"entity": id, "reason": ...}]
    skipped_examples: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    # Opted in to pushed notifications from its broker (NGSI-LD feeds): app/feeds/subscriptions.py.
    subscribe: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class FeedEntity(db.Model):
    """The latest known state of one entity of a feed (a car park, a station, a lamp...)."""

    __tablename__ = "feed_entities"
    __table_args__ = (
        UniqueConstraint("feed_id", "entity_id", name="uq_feed_entities_feed_entity"),
        # Every poll rewrites its entities: with half-empty pages the new version of a row
        # stays on its page and no index changes (a HOT update) while the location is the
        # same, instead of going elsewhere into all three indexes.
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    entity_id: Mapped[str] = mapped_column(String(256))
    entity_type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200), info=MOBILITY_EQUIPMENT)
    geom = mapped_column(
        Geometry("GEOMETRY", srid=WGS84, spatial_index=False),
        nullable=False,
        info=MOBILITY_EQUIPMENT,
    )
    # Lambert-93 metres, for "near a point" (GiST). NULL outside Lambert-93's domain, where
    # PROJ may refuse to project: such entities are stored but never "near" anything.
    geom_l93 = mapped_column(
        Geometry("GEOMETRY", srid=LAMBERT93, spatial_index=True),
        info=MOBILITY_EQUIPMENT,
    )
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str | None] = mapped_column(String(40))
    # Free spaces (parking) or bikes available (bike stations).
    available: Mapped[int | None] = mapped_column(Integer)
    # Total spaces or docks.
    capacity: Mapped[int | None] = mapped_column(Integer)
    occupancy: Mapped[float | None] = mapped_column(Float)
    # Kind-specific values: free_docks, intensity, average_speed, congested, power_state...
    measures: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The ticket this equipment's fault opened or joined, while the fault lasts (cleared
    # when it reports working again): a repeated fault adds no second ticket.
    fault_report_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("reports.id", ondelete="SET NULL")
    )


class FeedObservation(db.Model):
    """One observed state of an entity: the time series behind history and statistics.

    BRIN on ``observed_at`` rather than partitioning: rows arrive in time order, so a BRIN
    index of a few pages covers tens of millions of rows and serves the 90-day purge and
    time-window scans; per-entity history uses the primary key (entity, time), which also
    refuses the same observation twice. Partitions would make the purge a DROP, at the cost
    of creating partitions ahead of time; the purge deletes in bounded batches instead.

    No foreign key to the entity: its check locked the entity once per observation inserted
    (60% of the cost of adding a poll's observations), and observations are only added by
    the poll's statement, for entities it has just written. Deleting entities deletes their
    observations all the same: a statement trigger on feed_entities does (its migration,
    feed_ingestion_writes).
    """

    __tablename__ = "feed_observations"
    __table_args__ = (
        Index(
            "ix_feed_observations_observed_at_brin",
            "observed_at",
            postgresql_using="brin",
        ),
    )

    entity_pk: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    status: Mapped[str | None] = mapped_column(String(40))
    available: Mapped[int | None] = mapped_column(Integer)
    capacity: Mapped[int | None] = mapped_column(Integer)
    occupancy: Mapped[float | None] = mapped_column(Float)
    measures: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


class FeedFaultMapping(db.Model):
    """An equipment state that is a fault (a category code: a ticket of that category is
    opened) or that says the equipment works again (no category). Data admins edit."""

    __tablename__ = "feed_fault_mappings"
    __table_args__ = (CheckConstraint(_one_of("attribute", FAULT_ATTRIBUTES), name="attribute"),)

    entity_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    attribute: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    # A category's code rather than its id: the defaults come with the migration, before
    # the catalogue is loaded. Checked when an admin writes it, and again at each fault.
    category_code: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


# --- pushed notifications (app/feeds/subscriptions.py) ------------------------------------


class FeedSubscription(db.Model):
    """A feed's NGSI-LD subscription on its broker: what the cron job keeps alive.

    One per subscribing feed; when the feed is deleted the row stays (``feed_id`` NULL)
    until the broker's subscription is deleted too. ``secret_hash``: SHA-256 of the secret
    the broker sends back as a header with each notification (a new one at each creation).
    """

    __tablename__ = "feed_subscriptions"
    __table_args__ = (Index("ix_feed_subscriptions_due", "due_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    feed_id: Mapped[int | None] = mapped_column(
        ForeignKey("feeds.id", ondelete="SET NULL"), unique=True
    )
    # Where it was made and for what ("http://broker:1026 Streetlight,..."): re-created
    # elsewhere when the feed's source changes.
    broker_url: Mapped[str] = mapped_column(String(2000))
    entity_types: Mapped[str] = mapped_column(String(500))
    # Where the broker notifies (made again when the setting changes).
    endpoint: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    # The broker's id of the subscription; NULL until the broker has answered its creation.
    broker_id: Mapped[str | None] = mapped_column(String(256))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the cron job next looks at it (renew, check the broker remembers it, retry).
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Health.
    made_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    renewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recreated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_notification_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notifications: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class FeedNotification(db.Model):
    """A notification already received (its id, per subscription): a replay changes
    nothing. Kept a day (the purge of feed observations deletes older ones)."""

    __tablename__ = "feed_notifications"
    __table_args__ = (
        Index("ix_feed_notifications_received_at_brin", "received_at", postgresql_using="brin"),
    )

    subscription_pk: Mapped[int] = mapped_column(
        ForeignKey("feed_subscriptions.id", ondelete="CASCADE"), primary_key=True
    )
    notification_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
