"""feed_fault_mappings: which equipment states are faults (and of which category), as data

Revision ID: a7b8c9d0e1f2
Revises: a3c5e7f9b1d2
Create Date: 2026-11-26 06:40:00

"""

from alembic import op
import sqlalchemy as sa

revision = "a7b8c9d0e1f2"
down_revision = "a3c5e7f9b1d2"
branch_labels = None
depends_on = None

# What FEEDS_FAULTS shipped until now (frozen here; app/feeds/faults.py has the live copy).
DEFAULTS = [
    ("Streetlight", "status", "defectiveLamp", "streetlight_out"),
    ("Streetlight", "status", "brokenLantern", "streetlight_out"),
    ("Streetlight", "status", "columnIssue", "streetlight_out"),
    ("Streetlight", "status", "ok", None),
]


def upgrade():
    mappings = op.create_table(
        "feed_fault_mappings",
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("attribute", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "attribute IN ('status', 'powerState')",
            name=op.f("ck_feed_fault_mappings_attribute"),
        ),
        sa.PrimaryKeyConstraint(
            "entity_type", "attribute", "value", name=op.f("pk_feed_fault_mappings")
        ),
    )
    op.bulk_insert(
        mappings,
        [
            {"entity_type": t, "attribute": a, "value": v, "category_code": c}
            for t, a, v, c in DEFAULTS
        ],
    )


def downgrade():
    op.drop_table("feed_fault_mappings")
