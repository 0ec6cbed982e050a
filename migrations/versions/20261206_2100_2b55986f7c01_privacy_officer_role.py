"""user_role: the privacy_officer role (the CNIL correspondent's read-only account)

Revision ID: 2b55986f7c01
Revises: 1a44875e6af0
Create Date: 2026-12-06 21:00:00

"""

from alembic import op

revision = "2b55986f7c01"
down_revision = "1a44875e6af0"
branch_labels = None
depends_on = None

ROLES_BEFORE = ("resident", "crew", "agent", "supervisor", "admin")


def upgrade():
    # ADD VALUE may run in a transaction since PostgreSQL 12 (the value is usable after it).
    op.execute("ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'privacy_officer'")


def downgrade():
    # PostgreSQL cannot drop an enum value: the type is made again without it. The accounts
    # holding the role go (they would have no role); their audit trail stays.
    op.execute("DELETE FROM users WHERE role = 'privacy_officer'")
    op.execute("ALTER TYPE user_role RENAME TO user_role_old")
    values = ", ".join(f"'{value}'" for value in ROLES_BEFORE)
    op.execute(f"CREATE TYPE user_role AS ENUM ({values})")
    op.execute("ALTER TABLE users ALTER COLUMN role TYPE user_role USING role::text::user_role")
    op.execute("DROP TYPE user_role_old")
