"""open311: partner API keys and how Open311 requests came in

Revision ID: c3e5a7b9d1f2
Revises: c3e5f7a9b1d4
Create Date: 2026-11-26 04:00:00

"""

from alembic import op
import sqlalchemy as sa


revision = "c3e5a7b9d1f2"
down_revision = "c3e5f7a9b1d4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "open311_api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("contact", sa.String(length=320), nullable=True),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("rate_limit", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_open311_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_open311_api_keys_key_hash")),
    )
    op.create_table(
        "open311_submissions",
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=36), nullable=False),
        sa.Column("media_url", sa.String(length=2000), nullable=True),
        sa.Column("media_status", sa.String(length=12), nullable=True),
        sa.Column("media_error", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_open311_submissions_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["open311_api_keys.id"],
            name=op.f("fk_open311_submissions_api_key_id_open311_api_keys"),
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_open311_submissions")),
        sa.UniqueConstraint("token", name=op.f("uq_open311_submissions_token")),
    )
    op.create_index(
        op.f("ix_open311_submissions_api_key_id"),
        "open311_submissions",
        ["api_key_id"],
        unique=False,
    )


def downgrade():
    op.drop_index(op.f("ix_open311_submissions_api_key_id"), table_name="open311_submissions")
    op.drop_table("open311_submissions")
    op.drop_table("open311_api_keys")
