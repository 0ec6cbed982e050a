"""equipment: assets' live state from the feeds (asset_live_states), the command outbox
(equipment_commands); feeds of traffic signals and cameras (feeds.kind).

Revision ID: c7e9a1b3d5f8
Revises: c9d1e3f5a7b2
Create Date: 2026-12-07 00:30:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "c7e9a1b3d5f8"
down_revision = "c9d1e3f5a7b2"
branch_labels = None
depends_on = None

FEED_KINDS_BEFORE = ("parking", "bikes", "traffic", "streetlights", "vehicles")
FEED_KINDS = (
    "parking",
    "bikes",
    "traffic",
    "streetlights",
    "traffic_signals",
    "cameras",
    "vehicles",
)
STATES = (
    "pending_confirmation",
    "queued",
    "sent",
    "confirmed",
    "failed",
    "expired",
    "superseded",
    "cancelled",
    "rejected",
)
COMMANDS = ("switch_on", "switch_off", "dim", "schedule", "flashing_amber", "normal")


def _one_of(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.drop_constraint(op.f("ck_feeds_kind"), "feeds", type_="check")
    op.create_check_constraint("kind", "feeds", _one_of("kind", FEED_KINDS))
    op.create_table(
        "asset_live_states",
        sa.Column("asset_id", sa.BigInteger(), nullable=False),
        sa.Column("feed_id", sa.BigInteger(), nullable=False),
        sa.Column("entity_id", sa.String(length=256), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=True),
        sa.Column("power_state", sa.String(length=40), nullable=True),
        sa.Column("dimming_level", sa.SmallInteger(), nullable=True),
        sa.Column("control_mode", sa.String(length=40), nullable=True),
        sa.Column("mode", sa.String(length=40), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=True),
        sa.Column("fault", sa.String(length=40), nullable=True),
        sa.Column("last_fault", sa.String(length=40), nullable=True),
        sa.Column("last_fault_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("command_id", sa.String(length=256), nullable=True),
        sa.Column("command_status", sa.String(length=20), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_live_states_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_asset_live_states_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_asset_live_states")),
    )
    op.create_index(
        op.f("ix_asset_live_states_feed_id"), "asset_live_states", ["feed_id"], unique=False
    )
    op.create_table(
        "equipment_commands",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "uid",
            sa.Uuid(as_uuid=False),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
        sa.Column("asset_id", sa.BigInteger(), nullable=False),
        sa.Column("selection_id", sa.Uuid(as_uuid=False), nullable=True),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_role", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("feed_id", sa.BigInteger(), nullable=True),
        sa.Column("entity_id", sa.String(length=256), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("patch", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("expected", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("superseded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(_one_of("state", STATES), name=op.f("ck_equipment_commands_state")),
        sa.CheckConstraint(_one_of("name", COMMANDS), name=op.f("ck_equipment_commands_name")),
        sa.CheckConstraint(
            "level IS NULL OR level BETWEEN 0 AND 100", name=op.f("ck_equipment_commands_level")
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_equipment_commands_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_equipment_commands_feed_id_feeds"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by_id"],
            ["equipment_commands.id"],
            name=op.f("fk_equipment_commands_superseded_by_id_equipment_commands"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment_commands")),
        sa.UniqueConstraint("uid", name=op.f("uq_equipment_commands_uid")),
    )
    op.create_index("ix_equipment_commands_asset_id_id", "equipment_commands", ["asset_id", "id"])
    op.create_index(
        op.f("ix_equipment_commands_selection_id"), "equipment_commands", ["selection_id"]
    )
    op.create_index(
        "ix_equipment_commands_queued",
        "equipment_commands",
        ["next_attempt_at"],
        postgresql_where=sa.text("state = 'queued'"),
    )
    op.create_index(
        "ix_equipment_commands_open",
        "equipment_commands",
        ["asset_id"],
        postgresql_where=sa.text("state IN ('sent', 'pending_confirmation')"),
    )


def downgrade():
    op.drop_table("equipment_commands")
    op.drop_table("asset_live_states")
    op.execute("DELETE FROM feeds WHERE kind IN ('traffic_signals', 'cameras')")
    op.drop_constraint(op.f("ck_feeds_kind"), "feeds", type_="check")
    op.create_check_constraint("kind", "feeds", _one_of("kind", FEED_KINDS_BEFORE))
