"""partial indexes over open work for the desks' queues: by priority and due date, by age,
by distance (btree_gist), and trigram indexes (pg_trgm) for the text search

Revision ID: c3e5f7a9b1d4
Revises: a4b5c6d7e8f9
Create Date: 2026-11-26 02:30:00

"""

from alembic import op

revision = "c3e5f7a9b1d4"
down_revision = "a4b5c6d7e8f9"
branch_labels = None
depends_on = None

OPEN_WORK = "status IN ('new', 'acknowledged', 'assigned', 'in_progress', 'reopened')"


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX ix_reports_open_desk_priority_due_at ON reports"
        " (desk_id, priority, COALESCE(due_at, 'infinity'::timestamp with time zone), id)"
        f" WHERE {OPEN_WORK}"
    )
    op.execute(
        "CREATE INDEX ix_reports_open_desk_created_at ON reports"
        f" (desk_id, created_at, id) WHERE {OPEN_WORK}"
    )
    op.execute(
        "CREATE INDEX ix_reports_open_desk_geom_l93 ON reports"
        f" USING gist (desk_id, geom_l93) WHERE {OPEN_WORK}"
    )
    op.execute(
        "CREATE INDEX ix_reports_open_description_trgm ON reports"
        f" USING gin (description gin_trgm_ops) WHERE {OPEN_WORK} AND description IS NOT NULL"
    )
    op.execute(
        "CREATE INDEX ix_reports_open_reference_trgm ON reports"
        f" USING gin (reference gin_trgm_ops) WHERE {OPEN_WORK} AND reference IS NOT NULL"
    )


def downgrade():
    for name in (
        "ix_reports_open_reference_trgm",
        "ix_reports_open_description_trgm",
        "ix_reports_open_desk_geom_l93",
        "ix_reports_open_desk_created_at",
        "ix_reports_open_desk_priority_due_at",
    ):
        op.drop_index(name, table_name="reports")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
