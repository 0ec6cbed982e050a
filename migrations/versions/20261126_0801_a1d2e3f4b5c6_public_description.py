"""reports.public_description: the description as moderation published it

Revision ID: a1d2e3f4b5c6
Revises: e4f5a6b7c8d9
Create Date: 2026-11-26 06:40:00

"""

from alembic import op
import sqlalchemy as sa

revision = "a1d2e3f4b5c6"
down_revision = "e4f5a6b7c8d9"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("reports", sa.Column("public_description", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("reports", "public_description")
