"""indexes for routing: working equipment by kind and position, open reports by crew

Revision ID: 8e1f2a3b4c5d
Revises: 7c4d5e6f8a9b
Create Date: 2026-11-26 03:30:00

"""

from alembic import op

revision = "8e1f2a3b4c5d"
down_revision = "7c4d5e6f8a9b"
branch_labels = None
depends_on = None

OPEN = "status NOT IN ('resolved', 'closed', 'rejected', 'duplicate')"


def upgrade():
    # "Nearest working street light": one GiST scan on (kind, position) instead of a bitmap
    # AND of the position index with 25,000 rows of the kind's b-tree (btree_gist).
    op.execute(
        "CREATE INDEX ix_assets_working_kind_geom_l93 ON assets"
        " USING gist (kind, geom_l93) WHERE status <> 'removed'"
    )
    # A crew's open workload, counted at each routing decision.
    op.execute(f"CREATE INDEX ix_reports_open_crew_id ON reports (crew_id) WHERE {OPEN}")


def downgrade():
    op.drop_index("ix_reports_open_crew_id", table_name="reports")
    op.drop_index("ix_assets_working_kind_geom_l93", table_name="assets")
