"""push deliveries superseded by a newer one of the same report (collapse key) and device,
and the index of each device's pending deliveries the dispatcher's claim reads

Revision ID: c4e8a2f6b1d3
Revises: c8e2f4a6b1d3
Create Date: 2026-12-03 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c4e8a2f6b1d3"
down_revision = "c8e2f4a6b1d3"
branch_labels = None
depends_on = None

_CHECK = "ck_notification_deliveries_status"


def upgrade():
    op.drop_constraint(op.f(_CHECK), "notification_deliveries", type_="check")
    op.create_check_constraint(
        op.f(_CHECK),
        "notification_deliveries",
        "status IN ('pending', 'sent', 'failed', 'superseded')",
    )
    op.create_index(
        "ix_notification_deliveries_pending_device",
        "notification_deliveries",
        ["device_id", "notification_id"],
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade():
    op.drop_index("ix_notification_deliveries_pending_device", table_name="notification_deliveries")
    # The older schema has no word for them: they were never pushed, as failed ones.
    op.execute(
        "UPDATE notification_deliveries SET status = 'failed', last_error = 'superseded' "
        "WHERE status = 'superseded'"
    )
    op.drop_constraint(op.f(_CHECK), "notification_deliveries", type_="check")
    op.create_check_constraint(
        op.f(_CHECK),
        "notification_deliveries",
        "status IN ('pending', 'sent', 'failed')",
    )
