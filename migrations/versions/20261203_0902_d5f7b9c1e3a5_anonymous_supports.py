"""anonymous supports counted apart: report_supporters.anonymous,
reports.anonymous_support_count (within support_count) and reports.reporter_anonymous

Revision ID: d5f7b9c1e3a5
Revises: c4e8a2f6b1d3
Create Date: 2026-12-03 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d5f7b9c1e3a5"
down_revision = "c4e8a2f6b1d3"
branch_labels = None
depends_on = None


def upgrade():
    # Supports recorded before are taken as signed-in ones: whether they were is not known.
    op.add_column(
        "report_supporters",
        sa.Column("anonymous", sa.Boolean(), server_default="false", nullable=False),
    )
    op.add_column(
        "reports",
        sa.Column("reporter_anonymous", sa.Boolean(), server_default="false", nullable=False),
    )
    op.add_column(
        "reports",
        sa.Column("anonymous_support_count", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_reports_anonymous_supports"),
        "reports",
        "anonymous_support_count BETWEEN 0 AND support_count",
    )


def downgrade():
    op.drop_constraint(op.f("ck_reports_anonymous_supports"), "reports", type_="check")
    op.drop_column("reports", "anonymous_support_count")
    op.drop_column("reports", "reporter_anonymous")
    op.drop_column("report_supporters", "anonymous")
