"""retention_runs: each run of the retention schedule (app.privacy.retention) with its
counts per rule, the delays it applied, and its error if a rule failed

Revision ID: 1a44875e6af0
Revises: f7b9d1e3a5c7
Create Date: 2026-12-06 19:30:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "1a44875e6af0"
down_revision = "f7b9d1e3a5c7"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column(
            "counts", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "delays", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )
    op.create_index(
        op.f("ix_retention_runs_started_at"), "retention_runs", ["started_at"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_retention_runs_started_at"), table_name="retention_runs")
    op.drop_table("retention_runs")
