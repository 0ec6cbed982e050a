"""opendata_files: the published open data export files (full and daily, per format)

Revision ID: 5d8e1f2a3b4c
Revises: 58a0bdf6e16e
Create Date: 2026-11-26 05:10:00

"""

from alembic import op
import sqlalchemy as sa

revision = "5d8e1f2a3b4c"
down_revision = "58a0bdf6e16e"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "opendata_files",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "format IN ('geojson', 'csv', 'parquet')", name=op.f("ck_opendata_files_format")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_opendata_files")),
    )
    op.create_index(op.f("ix_opendata_files_day"), "opendata_files", ["day"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_opendata_files_day"), table_name="opendata_files")
    op.drop_table("opendata_files")
