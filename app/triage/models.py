"""A report's history (one event per action) and the messages residents are sent."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.categories.models import Category
from app.extensions import db
from app.organisation.models import Desk
from app.personal_data import EDITOR_UID, TEMPLATE_TEXT, not_personal, personal

# What the desk tells residents (a public update, a state change's message): published.
PUBLIC_MESSAGE = personal(
    "staff_text",
    purpose="publication",
    basis="public_task",
    audience=("public",),
    leaves=("public_outputs",),
    kept="with_report",
)


class ReportEvent(db.Model):
    """One action on a report, written in the action's transaction. Append-only."""

    __tablename__ = "report_events"
    __table_args__ = (
        Index("ix_report_events_report_id_id", "report_id", "id"),
        # A crew's sync: what happened lately to tickets it held.
        Index("ix_report_events_crew_id_created_at", "crew_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # When the tablet says it happened (a write replayed after working offline).
    client_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    actor_uid: Mapped[str] = mapped_column(
        String(128),
        info=personal(
            "actor_uid",
            purpose="accountability",
            basis="public_task",
            audience=("self", "desk", "crew"),
            leaves=("own_export",),
            kept="history",
        ),
    )
    actor_role: Mapped[str] = mapped_column(String(20))
    # The desk that had the report when the action was taken.
    desk_id: Mapped[int | None] = mapped_column(ForeignKey("desks.id", ondelete="SET NULL"))
    # The crew that held the ticket when the action was taken (a crew's sync finds the
    # tickets it lost from these).
    crew_id: Mapped[int | None] = mapped_column(ForeignKey("crews.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str | None] = mapped_column(
        String(40), info=not_personal("a code from a fixed list (rejection, hand-back)")
    )
    # Whether residents see it in the public history (state changes and public updates).
    public: Mapped[bool] = mapped_column(Boolean)
    message_fr: Mapped[str | None] = mapped_column(Text, info=PUBLIC_MESSAGE)
    message_en: Mapped[str | None] = mapped_column(Text, info=PUBLIC_MESSAGE)
    internal_note: Mapped[str | None] = mapped_column(
        Text,
        info=personal(
            "staff_text",
            purpose="handle_report",
            basis="public_task",
            audience=("desk", "crew"),
            kept="with_report",
        ),
    )
    # What changed, for staff: crew, desk, priority, category, merge target...
    details: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")

    desk: Mapped[Desk | None] = relationship(lazy="joined")


class MessageTemplate(db.Model):
    """What a resident is told when their report reaches a state: per category, else the
    default for the state (category null). Supervisors edit them."""

    __tablename__ = "message_templates"
    __table_args__ = (
        Index(
            "uq_message_templates_default_status",
            "status",
            unique=True,
            postgresql_where=text("category_id IS NULL"),
        ),
        Index(
            "uq_message_templates_category_status",
            "category_id",
            "status",
            unique=True,
            postgresql_where=text("category_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    text_fr: Mapped[str] = mapped_column(Text, info=TEMPLATE_TEXT)
    text_en: Mapped[str] = mapped_column(Text, info=TEMPLATE_TEXT)
    updated_by: Mapped[str | None] = mapped_column(String(128), info=EDITOR_UID)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    category: Mapped[Category | None] = relationship(lazy="joined")
