"""feed_source_state: what an adapter keeps between polls, and the source's ttl

Revision ID: a3c5e7f9b1d2
Revises: b7d2e9f4a1c3
Create Date: 2026-11-26 06:40:00

"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "a3c5e7f9b1d2"
down_revision = "b7d2e9f4a1c3"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "feeds",
        sa.Column(
            "source_state",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.add_column(
        "feeds",
        sa.Column("source_ttl_seconds", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_check_constraint(op.f("ck_feeds_source_ttl"), "feeds", "source_ttl_seconds >= 0")


def downgrade():
    op.drop_column("feeds", "source_ttl_seconds")  # its check constraint with it
    op.drop_column("feeds", "source_state")
