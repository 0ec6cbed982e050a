"""notification_preferences: kinds of push a resident muted, and their quiet hours

Revision ID: e4f5a6b7c8d9
Revises: e4a7c9b2d6f1
Create Date: 2026-11-26 05:30:00

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "e4f5a6b7c8d9"
down_revision = "e4a7c9b2d6f1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification_preferences",
        sa.Column("uid", sa.String(length=128), nullable=False),
        sa.Column(
            "push_off",
            postgresql.ARRAY(sa.String(length=30)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(quiet_start IS NULL AND quiet_end IS NULL) OR (quiet_start IS NOT NULL "
            "AND quiet_end IS NOT NULL AND quiet_start <> quiet_end)",
            name=op.f("ck_notification_preferences_quiet_hours"),
        ),
        sa.PrimaryKeyConstraint("uid", name=op.f("pk_notification_preferences")),
    )


def downgrade():
    op.drop_table("notification_preferences")
