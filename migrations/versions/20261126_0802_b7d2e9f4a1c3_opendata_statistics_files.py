"""opendata_files: JSON files too (the statistics tables are published as CSV and JSON)

Revision ID: b7d2e9f4a1c3
Revises: a1d2e3f4b5c6
Create Date: 2026-11-26 06:00:00

"""

from alembic import op

revision = "b7d2e9f4a1c3"
down_revision = "a1d2e3f4b5c6"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_constraint(op.f("ck_opendata_files_format"), "opendata_files", type_="check")
    op.create_check_constraint(
        op.f("ck_opendata_files_format"),
        "opendata_files",
        "format IN ('geojson', 'csv', 'parquet', 'json')",
    )


def downgrade():
    op.execute("DELETE FROM opendata_files WHERE format = 'json'")
    op.drop_constraint(op.f("ck_opendata_files_format"), "opendata_files", type_="check")
    op.create_check_constraint(
        op.f("ck_opendata_files_format"),
        "opendata_files",
        "format IN ('geojson', 'csv', 'parquet')",
    )
