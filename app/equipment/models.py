"""The equipment's live state (from the feeds) and the commands the centre sends to it."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.equipment.commands import COMMANDS, STATES
from app.extensions import db
from app.personal_data import not_personal, personal

EQUIPMENT_STATE = not_personal("what a street light, a signal or a camera reports: no person")
# Who asked for a command, confirmed, rejected or cancelled it: accountability.
STAFF_UID = personal(
    "staff_uid",
    purpose="accountability",
    basis="public_task",
    audience=("desk", "supervisors"),
    kept="history",
)
STAFF_REASON = personal(
    "staff_text",
    purpose="accountability",
    basis="public_task",
    audience=("desk", "supervisors"),
    kept="history",
)


def _one_of(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class AssetLiveState(db.Model):
    """What an asset's feed entity last reported, kept per asset (newest observation wins).

    Written only by app.feeds.live_state.refresh, from the stored feed entities.
    """

    __tablename__ = "asset_live_states"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    entity_id: Mapped[str] = mapped_column(String(256))
    entity_type: Mapped[str] = mapped_column(String(64))
    observed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The source's own status word (ok, defectiveLamp, lampFailure...).
    status: Mapped[str | None] = mapped_column(String(40), info=EQUIPMENT_STATE)
    power_state: Mapped[str | None] = mapped_column(String(40), info=EQUIPMENT_STATE)
    dimming_level: Mapped[int | None] = mapped_column(SmallInteger)
    control_mode: Mapped[str | None] = mapped_column(String(40))
    mode: Mapped[str | None] = mapped_column(String(40))
    online: Mapped[bool | None] = mapped_column()
    # The fault reported now (None: working), and the last one reported with when it began.
    fault: Mapped[str | None] = mapped_column(String(40))
    last_fault: Mapped[str | None] = mapped_column(String(40))
    last_fault_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the equipment says of the last command it received (commandStatus).
    command_id: Mapped[str | None] = mapped_column(String(256))
    command_status: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EquipmentCommand(db.Model):
    """One command to one asset: the outbox row, written in the accepting transaction, and
    its whole life (app/equipment/commands.py: the states; dispatch.py: the sending)."""

    __tablename__ = "equipment_commands"
    __table_args__ = (
        CheckConstraint(_one_of("state", STATES), name="state"),
        CheckConstraint(_one_of("name", COMMANDS), name="name"),
        CheckConstraint("level IS NULL OR level BETWEEN 0 AND 100", name="level"),
        # The asset's history, newest first; and its open commands (supersession).
        Index("ix_equipment_commands_asset_id_id", "asset_id", "id"),
        # What the dispatcher claims: queued, by when due.
        Index(
            "ix_equipment_commands_queued",
            "next_attempt_at",
            postgresql_where=text("state = 'queued'"),
        ),
        # What the refresh settles and the sweep expires: sent, awaiting the equipment.
        Index(
            "ix_equipment_commands_open",
            "asset_id",
            postgresql_where=text("state IN ('sent', 'pending_confirmation')"),
        ),
    )
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # What the broker and the equipment know the command by (commandStatus echoes it).
    uid: Mapped[str] = mapped_column(
        Uuid(as_uuid=False),
        server_default=text("gen_random_uuid()"),
        unique=True,
        info=not_personal("a command's own random identifier, never a person's"),
    )
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    # Commands accepted together (a selection) share it.
    selection_id: Mapped[str | None] = mapped_column(Uuid(as_uuid=False), index=True)
    name: Mapped[str] = mapped_column(
        String(20), info=not_personal("the command's name (switch_off, dim...), not a person's")
    )
    level: Mapped[int | None] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(Text, info=STAFF_REASON)
    state: Mapped[str] = mapped_column(String(24))
    requested_by: Mapped[str] = mapped_column(String(128), info=STAFF_UID)
    requested_role: Mapped[str] = mapped_column(String(20))
    # The second person (a supervisor) who confirmed, rejected; or who cancelled.
    decided_by: Mapped[str | None] = mapped_column(String(128), info=STAFF_UID)
    decision_note: Mapped[str | None] = mapped_column(Text, info=STAFF_REASON)
    # Where it goes: the feed entity the asset's live state comes from.
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    entity_id: Mapped[str] = mapped_column(String(256))
    entity_type: Mapped[str] = mapped_column(String(64))
    # The NGSI-LD attributes the PATCH sets, and the live state that confirms it.
    patch: Mapped[dict] = mapped_column(JSONB)
    expected: Mapped[dict] = mapped_column(JSONB)
    # The live state when it was sent, and when it was settled.
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    superseded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("equipment_commands.id", ondelete="SET NULL")
    )
    # Delivery.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Sent: expired if not confirmed by then; pending confirmation: expired if not decided.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
