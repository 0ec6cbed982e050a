"""photos have a kind: the report's own, a crew's "after" photo, a resident's reopening

Revision ID: b7c8d9e0f1a2
Revises: c3e5a7b9d1f2
Create Date: 2026-11-26 04:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b7c8d9e0f1a2"
down_revision = "c3e5a7b9d1f2"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "photos", sa.Column("kind", sa.String(10), server_default="report", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_photos_kind"), "photos", "kind IN ('report', 'after', 'reopen')"
    )


def downgrade():
    op.drop_constraint(op.f("ck_photos_kind"), "photos", type_="check")
    op.drop_column("photos", "kind")
