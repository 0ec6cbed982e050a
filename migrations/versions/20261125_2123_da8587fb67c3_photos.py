"""photos

Revision ID: da8587fb67c3
Revises: 3a8998002790
Create Date: 2026-11-25 21:23:15.160909

"""

from alembic import op
import sqlalchemy as sa


revision = "da8587fb67c3"
down_revision = "3a8998002790"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reject_reason", sa.String(length=40), nullable=True),
        sa.Column("upload_key", sa.String(length=200), nullable=True),
        sa.Column("display_key", sa.String(length=200), nullable=True),
        sa.Column("thumbnail_key", sa.String(length=200), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=128), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_photos_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
    )
    op.create_index(op.f("ix_photos_report_id"), "photos", ["report_id"], unique=False)
    op.create_index(op.f("ix_photos_status"), "photos", ["status"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_photos_status"), table_name="photos")
    op.drop_index(op.f("ix_photos_report_id"), table_name="photos")
    op.drop_table("photos")
