"""per-category routing parameters (asset kind, snap and duplicate distances, service level)
and the link from a duplicate report to its original

Revision ID: 8d5e6f7a9b0c
Revises: 5d2e3f4a6b7c
Create Date: 2026-11-26 01:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "8d5e6f7a9b0c"
down_revision = "5d2e3f4a6b7c"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("categories", sa.Column("asset_kind", sa.String(length=30), nullable=True))
    for name, default in (
        ("snap_distance_m", "30"),
        ("duplicate_radius_m", "30"),
        ("duplicate_window_days", "30"),
        ("service_level_hours", "168"),
    ):
        op.add_column(
            "categories",
            sa.Column(name, sa.Integer(), server_default=default, nullable=False),
        )
    op.add_column("reports", sa.Column("duplicate_of_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_reports_duplicate_of_id_reports"),
        "reports",
        "reports",
        ["duplicate_of_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_reports_duplicate_of_id"), "reports", ["duplicate_of_id"])


def downgrade():
    op.drop_index(op.f("ix_reports_duplicate_of_id"), table_name="reports")
    op.drop_constraint(op.f("fk_reports_duplicate_of_id_reports"), "reports", type_="foreignkey")
    op.drop_column("reports", "duplicate_of_id")
    for name in (
        "service_level_hours",
        "duplicate_window_days",
        "duplicate_radius_m",
        "snap_distance_m",
        "asset_kind",
    ):
        op.drop_column("categories", name)
