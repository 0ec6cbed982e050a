"""photo moderation: blur boxes, the unblurred original's key, hidden, the photo's version,
who moderated it last; photo_file_deletions (files to delete once their rows committed).
Photos already processed keep detected_at null: the worker's sweep (or `flask photos
bring-in-line`) runs detection on them and republishes them blurred.

Revision ID: b3d5f7a9c1e2
Revises: 2b55986f7c01
Create Date: 2026-12-06 21:30:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "b3d5f7a9c1e2"
down_revision = "2b55986f7c01"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("photos", sa.Column("original_key", sa.String(length=200), nullable=True))
    op.add_column(
        "photos",
        sa.Column(
            "boxes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("photos", sa.Column("detected_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "photos", sa.Column("hidden", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column("photos", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column("photos", sa.Column("moderated_by", sa.String(length=128), nullable=True))
    op.add_column("photos", sa.Column("moderated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_photos_boxes_array"), "photos", "jsonb_typeof(boxes) = 'array'"
    )
    # The sweep's and the retention rule's lookups.
    op.create_index(
        "ix_photos_undetected",
        "photos",
        ["id"],
        postgresql_where=sa.text("status = 'ready' AND detected_at IS NULL"),
    )
    op.create_index(
        "ix_photos_original_key",
        "photos",
        ["report_id"],
        postgresql_where=sa.text("original_key IS NOT NULL"),
    )
    op.create_table(
        "photo_file_deletions",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column(
            "queued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_photo_file_deletions")),
    )


def downgrade():
    op.drop_table("photo_file_deletions")
    op.drop_index("ix_photos_original_key", table_name="photos")
    op.drop_index("ix_photos_undetected", table_name="photos")
    op.drop_constraint(op.f("ck_photos_boxes_array"), "photos", type_="check")
    for column in (
        "moderated_at",
        "moderated_by",
        "version",
        "hidden",
        "detected_at",
        "boxes",
        "original_key",
    ):
        op.drop_column("photos", column)
