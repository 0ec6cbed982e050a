"""address register (BAN) for Open311 geocoding (unaccent, pg_trgm), and indexes of the
Open311 request list by service and by update time

Revision ID: a7d3e9f1c2b4
Revises: f1a2b3c4d5e6
Create Date: 2026-11-26 06:00:00

"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision = "a7d3e9f1c2b4"
down_revision = "f1a2b3c4d5e6"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "addresses",
        sa.Column("id", sa.String(length=50), nullable=False),
        sa.Column("numero", sa.Integer(), nullable=False),
        sa.Column("rep", sa.String(length=10), nullable=True),
        sa.Column("nom_voie", sa.String(length=200), nullable=False),
        sa.Column("code_postal", sa.String(length=5), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.Column("nom_commune", sa.String(length=120), nullable=False),
        sa.Column("label", sa.String(length=400), nullable=False),
        sa.Column("search", sa.String(length=400), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT", srid=4326, spatial_index=False, from_text="ST_GeomFromEWKT"
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["commune_insee"],
            ["communes.insee_code"],
            name=op.f("fk_addresses_commune_insee_communes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    op.create_index(op.f("ix_addresses_commune_insee"), "addresses", ["commune_insee"])
    op.execute("CREATE INDEX ix_addresses_search_trgm ON addresses USING gin (search gin_trgm_ops)")
    # GET requests: a service's newest requests, and those updated since a date.
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_reports_category_created_at_id"
        " ON reports (category_id, created_at, id)"
    )
    op.execute("CREATE INDEX IF NOT EXISTS ix_reports_updated_at_id ON reports (updated_at, id)")


def downgrade():
    op.drop_index("ix_reports_updated_at_id", table_name="reports")
    op.drop_index("ix_reports_category_created_at_id", table_name="reports")
    op.drop_index("ix_addresses_search_trgm", table_name="addresses")
    op.drop_index(op.f("ix_addresses_commune_insee"), table_name="addresses")
    op.drop_table("addresses")
    op.execute("DROP EXTENSION IF EXISTS unaccent")
