"""feed_fault_tickets: the open ticket a sensor's fault opened (or joined), per entity

Revision ID: e4a7c9b2d6f1
Revises: 5d8e1f2a3b4c
Create Date: 2026-11-26 05:31:00

"""

from alembic import op
import sqlalchemy as sa

revision = "e4a7c9b2d6f1"
down_revision = "5d8e1f2a3b4c"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("feed_entities", sa.Column("fault_report_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_feed_entities_fault_report_id_reports"),
        "feed_entities",
        "reports",
        ["fault_report_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade():
    op.drop_constraint(
        op.f("fk_feed_entities_fault_report_id_reports"), "feed_entities", type_="foreignkey"
    )
    op.drop_column("feed_entities", "fault_report_id")
