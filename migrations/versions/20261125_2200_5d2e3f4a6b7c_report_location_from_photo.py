"""a report may wait for its location from its first photo's GPS

Revision ID: 5d2e3f4a6b7c
Revises: 4c1d2e3f5a6b
Create Date: 2026-11-25 22:00:00

"""

from alembic import op

revision = "5d2e3f4a6b7c"
down_revision = "4c1d2e3f5a6b"
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column("reports", "geom", nullable=True)
    op.alter_column("reports", "commune_insee", nullable=True)


def downgrade():
    op.execute("DELETE FROM reports WHERE geom IS NULL")
    op.alter_column("reports", "commune_insee", nullable=False)
    op.alter_column("reports", "geom", nullable=False)
