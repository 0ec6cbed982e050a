"""the equipment a report is attached to

Revision ID: b2d4e6f8a0c1
Revises: 6b3c4d5e7f8a
Create Date: 2026-11-26 02:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b2d4e6f8a0c1"
down_revision = "6b3c4d5e7f8a"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("reports", sa.Column("asset_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_reports_asset_id_assets"),
        "reports",
        "assets",
        ["asset_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_reports_asset_id"), "reports", ["asset_id"])


def downgrade():
    op.drop_index(op.f("ix_reports_asset_id"), table_name="reports")
    op.drop_constraint(op.f("fk_reports_asset_id_assets"), "reports", type_="foreignkey")
    op.drop_column("reports", "asset_id")
