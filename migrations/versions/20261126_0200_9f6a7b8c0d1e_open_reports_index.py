"""a GiST index on (category, Lambert-93 position) of open reports, for duplicates and
suggestions (btree_gist lets the category share the index with the position)

Revision ID: 9f6a7b8c0d1e
Revises: 8d5e6f7a9b0c
Create Date: 2026-11-26 02:00:00

"""

from alembic import op

revision = "9f6a7b8c0d1e"
down_revision = "8d5e6f7a9b0c"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "CREATE INDEX ix_reports_open_category_geom_l93 ON reports"
        " USING gist (category_id, geom_l93)"
        " WHERE status NOT IN ('resolved', 'closed', 'rejected', 'duplicate')"
    )


def downgrade():
    op.drop_index("ix_reports_open_category_geom_l93", table_name="reports")
