"""report references made by the database, returned by the INSERT

Revision ID: 4c1d2e3f5a6b
Revises: da8587fb67c3
Create Date: 2026-11-25 21:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "4c1d2e3f5a6b"
down_revision = "da8587fb67c3"
branch_labels = None
depends_on = None

# DIJ-<year in Paris>-<number, at least 6 digits>; lpad alone would truncate past 999999.
FUNCTION = """
CREATE FUNCTION format_report_reference(at timestamptz, n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'DIJ-' || to_char(at AT TIME ZONE 'Europe/Paris', 'YYYY') || '-'
        || CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END
$$
"""


def upgrade():
    op.execute(FUNCTION)
    op.alter_column(
        "reports",
        "reference",
        server_default=sa.text("format_report_reference(now(), nextval('report_reference_seq'))"),
    )


def downgrade():
    op.alter_column("reports", "reference", server_default=None)
    op.execute("DROP FUNCTION format_report_reference(timestamptz, bigint)")
