from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.categories.models import Category
from app.extensions import db
from app.geo.models import Commune
from app.organisation.models import Desk
from app.personal_data import not_personal, personal

# Numbers in references (DIJ-2026-004213): one sequence, so no lock is shared by intake.
# The life of a report (issue 5 moves it along). Work on it is over in CLOSED_STATUSES;
# in the others it is still being dealt with (a duplicate can point at it).
STATUSES = (
    "new",
    "acknowledged",
    "assigned",
    "in_progress",
    "reopened",
    "resolved",
    "closed",
    "rejected",
    "duplicate",
)
CLOSED_STATUSES = ("resolved", "closed", "rejected", "duplicate")
OPEN_STATUSES = tuple(s for s in STATUSES if s not in CLOSED_STATUSES)
# The predicate of the partial indexes that serve the desks' queues and the crews' tickets:
# open work is ~5% of the table, so these indexes stay small and cheap for intake to update.
OPEN_WORK = text("status IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")")

# The due date as the queue sorts it: a report without one after all those with one. Not
# null, so that (priority, due, id) compares as a row and bounds an index scan.
DUE_AT_LAST = text("COALESCE(due_at, 'infinity'::timestamp with time zone)")

_OPEN = "status NOT IN (" + ", ".join(f"'{s}'" for s in CLOSED_STATUSES) + ")"

reference_sequence = Sequence("report_reference_seq", metadata=db.metadata)

# The problem's position, as exact as the phone gave it: it may be the reporter's front
# door, so every public channel shows it snapped to a grid (app/reports/public.py).
REPORT_POSITION = personal(
    "report_position",
    purpose="handle_report",
    basis="public_task",
    audience=("self", "desk", "crew"),
    leaves=("coarsened_open_data", "own_export"),
    kept="with_report",
)
RESIDENT_UID = personal(
    "resident_uid",
    purpose="identify",
    basis="public_task",
    audience=("self",),
    leaves=("firebase_auth", "own_export"),
    kept="history",
)

FOLLOWER_UID = personal(
    "resident_uid",
    purpose="notify",
    basis="consent",
    audience=("self",),
    leaves=("own_export",),
    kept="until_erasure",
)


def _contact(what: str) -> dict:
    return personal(
        what,
        purpose="contact_reporter",
        basis="consent",
        audience=("self", "desk_audited"),
        leaves=("own_export",),
        retention="contact_details",
    )


class Report(db.Model):
    """A resident's report of a problem at a place."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_created_at_id", "created_at", "id"),
        Index("ix_reports_reporter_uid_id", "reporter_uid", "id"),
        # Duplicates and suggestions: open reports of a category near a point (btree_gist).
        Index(
            "ix_reports_open_category_geom_l93",
            "category_id",
            "geom_l93",
            postgresql_using="gist",
            postgresql_where=text(_OPEN),
        ),
        # A crew's open workload, counted by routing.
        Index("ix_reports_open_crew_id", "crew_id", postgresql_where=text(_OPEN)),
        # A desk's queue, by priority then due date (the default order), by age, and by
        # distance from a point (KNN, btree_gist); the text search over what residents wrote
        # and the reference (pg_trgm: ILIKE '%...%'). The trigram indexes' IS NOT NULL is
        # implied by an ILIKE on the column and by nothing else: without it, PostgreSQL read
        # a whole GIN index as a cheap list of the open reports (12 ms on 1M reports).
        Index(
            "ix_reports_open_desk_priority_due_at",
            "desk_id",
            "priority",
            DUE_AT_LAST,
            "id",
            postgresql_where=OPEN_WORK,
        ),
        # The desk header's overdue counts per state (due_at < now()); the counts themselves
        # are kept by triggers (app.workload).
        Index(
            "ix_reports_open_desk_status_due_at",
            "desk_id",
            "status",
            "due_at",
            postgresql_where=OPEN_WORK,
        ),
        Index(
            "ix_reports_open_desk_created_at",
            "desk_id",
            "created_at",
            "id",
            postgresql_where=OPEN_WORK,
        ),
        Index(
            "ix_reports_open_desk_geom_l93",
            "desk_id",
            "geom_l93",
            postgresql_using="gist",
            postgresql_where=OPEN_WORK,
        ),
        Index(
            "ix_reports_open_description_trgm",
            "description",
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
            postgresql_where=text(f"{OPEN_WORK.text} AND description IS NOT NULL"),
        ),
        Index(
            "ix_reports_open_reference_trgm",
            "reference",
            postgresql_using="gin",
            postgresql_ops={"reference": "gin_trgm_ops"},
            postgresql_where=text(f"{OPEN_WORK.text} AND reference IS NOT NULL"),
        ),
        CheckConstraint(
            "anonymous_support_count BETWEEN 0 AND support_count", name="anonymous_supports"
        ),
    )

    # id, reference and timestamps are filled by the database and returned by the INSERT.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reference: Mapped[str] = mapped_column(
        String(24),
        unique=True,
        # DIJ-<year>-<number>; the SQL function comes with migration 4c1d2e3f5a6b.
        server_default=text("format_report_reference(now(), nextval('report_reference_seq'))"),
    )
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="new", server_default="new")
    # Null only while waiting for the GPS position of the report's first photo.
    geom = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=True), nullable=True, info=REPORT_POSITION
    )
    # Lambert-93, metres: what distance queries and their GiST index use.
    geom_l93 = mapped_column(
        Geometry("POINT", srid=2154, spatial_index=True),
        Computed("ST_Transform(geom, 2154)", persisted=True),
        info=REPORT_POSITION,
    )
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(
        String(300),
        info=personal(
            "typed_address",
            purpose="handle_report",
            basis="public_task",
            audience=("self", "desk", "crew"),
            leaves=("own_export",),
            kept="with_report",
        ),
    )
    commune_insee: Mapped[str | None] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    description: Mapped[str | None] = mapped_column(
        Text,
        info=personal(
            "report_description",
            purpose="handle_report",
            basis="public_task",
            audience=("self", "desk", "crew"),
            leaves=("own_export",),
            kept="with_report",
        ),
    )
    # The description as moderation published it (a desk may edit out personal details):
    # the only free text of a report that public outputs and open data carry.
    public_description: Mapped[str | None] = mapped_column(
        Text,
        info=personal(
            "published_description",
            purpose="publication",
            basis="public_task",
            audience=("public",),
            leaves=("public_outputs",),
            kept="with_report",
        ),
    )
    answers: Mapped[dict] = mapped_column(
        JSONB,
        default=dict,
        server_default="{}",
        info=personal(
            "answers",
            purpose="handle_report",
            basis="public_task",
            audience=("self", "desk", "crew"),
            leaves=("own_export",),
            kept="with_report",
        ),
    )
    reporter_uid: Mapped[str] = mapped_column(String(128), info=RESIDENT_UID)
    # Signed in with Firebase anonymous sign-in: their voice counts apart when it becomes a
    # support (the reporter of a duplicate, or of a merged report, supports the original).
    reporter_anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    language: Mapped[str] = mapped_column(String(2), default="fr", server_default="fr")
    source: Mapped[str] = mapped_column(String(20), default="app", server_default="app")
    # Where routing sent it: the desk, and the crew when one fitted.
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desks.id"), index=True)
    crew_id: Mapped[int | None] = mapped_column(
        ForeignKey("crews.id", ondelete="SET NULL"), index=True
    )
    support_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Of those, the supports of anonymous sign-ins (minted freely): staff see them apart.
    anonymous_support_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # 1 urgent, 2 high, 3 normal, 4 low: from the category's service level at intake.
    priority: Mapped[int] = mapped_column(SmallInteger, default=3, server_default="3")
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why routing decided what it did (duplicate, service level...): for staff only.
    routing: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    # The equipment it is about: snapped by routing, or named by the app.
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="SET NULL"), index=True
    )
    # Set when routing found an open report of the same problem: this one is its duplicate.
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )
    # Bumped by every triage write (app.triage): the report's ETag, checked against If-Match.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    category: Mapped[Category] = relationship(lazy="joined")
    commune: Mapped[Commune | None] = relationship(lazy="joined")
    desk: Mapped["Desk | None"] = relationship(lazy="joined")
    duplicate_of: Mapped["Report | None"] = relationship(
        remote_side=[id], lazy="joined", join_depth=1
    )
    contact: Mapped["ReportContact | None"] = relationship(
        back_populates="report", uselist=False, lazy="select", cascade="all, delete-orphan"
    )


class ReportContact(db.Model):
    """The reporter's contact details and preferences: personal data, kept apart."""

    __tablename__ = "report_contacts"

    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str | None] = mapped_column(String(200), info=_contact("contact_name"))
    email: Mapped[str | None] = mapped_column(String(320), info=_contact("contact_email"))
    phone: Mapped[str | None] = mapped_column(String(30), info=_contact("contact_phone"))
    by_push: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    by_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    report: Mapped[Report] = relationship(back_populates="contact")


class ReportSupporter(db.Model):
    """A resident who reported the same problem by supporting this report ("me too")."""

    __tablename__ = "report_supporters"

    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    uid: Mapped[str] = mapped_column(String(128), primary_key=True, info=RESIDENT_UID)
    # A Firebase anonymous sign-in: counted apart (Report.anonymous_support_count).
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReportFollower(db.Model):
    """A resident who is told when the report moves along."""

    __tablename__ = "report_followers"

    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    uid: Mapped[str] = mapped_column(String(128), primary_key=True, index=True, info=FOLLOWER_UID)
    reason: Mapped[str] = mapped_column(
        String(20), info=not_personal("a code: reporter, supporter or follow")
    )  # reporter, supporter, follow
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
