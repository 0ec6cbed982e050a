"""feed subscriptions: feeds.subscribe (opt-in to pushed NGSI-LD notifications), the
broker subscriptions kept alive (feed_subscriptions) and the notifications already
received (feed_notifications: a replay changes nothing).

Revision ID: c9d1e3f5a7b2
Revises: 456c72871d41
Create Date: 2026-12-07 00:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c9d1e3f5a7b2"
down_revision = "456c72871d41"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "feeds", sa.Column("subscribe", sa.Boolean(), server_default="false", nullable=False)
    )
    op.create_table(
        "feed_subscriptions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feed_id", sa.BigInteger(), nullable=True),
        sa.Column("broker_url", sa.String(length=2000), nullable=False),
        sa.Column("entity_types", sa.String(length=500), nullable=False),
        sa.Column("endpoint", sa.String(length=2000), server_default="", nullable=False),
        sa.Column("broker_id", sa.String(length=256), nullable=True),
        sa.Column("secret_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "due_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recreated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_notification_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notifications", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_feed_subscriptions_feed_id_feeds"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_subscriptions")),
        sa.UniqueConstraint("feed_id", name=op.f("uq_feed_subscriptions_feed_id")),
    )
    op.create_index("ix_feed_subscriptions_due", "feed_subscriptions", ["due_at"])
    op.create_table(
        "feed_notifications",
        sa.Column("subscription_pk", sa.BigInteger(), nullable=False),
        sa.Column("notification_id", sa.String(length=256), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_pk"],
            ["feed_subscriptions.id"],
            name=op.f("fk_feed_notifications_subscription_pk_feed_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "subscription_pk", "notification_id", name=op.f("pk_feed_notifications")
        ),
    )
    op.create_index(
        "ix_feed_notifications_received_at_brin",
        "feed_notifications",
        ["received_at"],
        postgresql_using="brin",
    )


def downgrade():
    op.drop_index("ix_feed_notifications_received_at_brin", table_name="feed_notifications")
    op.drop_table("feed_notifications")
    op.drop_index("ix_feed_subscriptions_due", table_name="feed_subscriptions")
    op.drop_table("feed_subscriptions")
    op.drop_column("feeds", "subscribe")
