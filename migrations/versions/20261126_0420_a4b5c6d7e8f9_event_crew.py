"""report events name the crew that held the ticket, for crews' offline sync

Revision ID: a4b5c6d7e8f9
Revises: f27efbbb1aaa
Create Date: 2026-11-26 04:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a4b5c6d7e8f9"
down_revision = "f27efbbb1aaa"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("report_events", sa.Column("crew_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_report_events_crew_id_crews"),
        "report_events",
        "crews",
        ["crew_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_report_events_crew_id_created_at", "report_events", ["crew_id", "created_at"]
    )


def downgrade():
    op.drop_index("ix_report_events_crew_id_created_at", table_name="report_events")
    op.drop_constraint(op.f("fk_report_events_crew_id_crews"), "report_events", type_="foreignkey")
    op.drop_column("report_events", "crew_id")
