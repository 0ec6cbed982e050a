"""a report's priority, due date and routing explanation

Revision ID: a1c2e3f4b5d6
Revises: 9f6a7b8c0d1e
Create Date: 2026-11-26 02:10:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "a1c2e3f4b5d6"
down_revision = "9f6a7b8c0d1e"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "reports", sa.Column("priority", sa.SmallInteger(), server_default="3", nullable=False)
    )
    op.add_column("reports", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "reports",
        sa.Column(
            "routing", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
    )


def downgrade():
    op.drop_column("reports", "routing")
    op.drop_column("reports", "due_at")
    op.drop_column("reports", "priority")
