"""addresses.geom_l93: the register in Lambert-93 with its GiST index, for the street a
report's public projection names (the address nearest its snapped position)

Revision ID: c8e2f4a6b1d3
Revises: a7d3e9f1c2b4
Create Date: 2026-12-03 09:00:00

"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "c8e2f4a6b1d3"
down_revision = "a7d3e9f1c2b4"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "addresses",
        sa.Column(
            "geom_l93",
            Geometry(
                geometry_type="POINT",
                srid=2154,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            sa.Computed("ST_Transform(geom, 2154)", persisted=True),
            nullable=True,
        ),
    )
    op.create_geospatial_index(
        "idx_addresses_geom_l93",
        "addresses",
        ["geom_l93"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )


def downgrade():
    op.drop_geospatial_index(
        "idx_addresses_geom_l93",
        table_name="addresses",
        postgresql_using="gist",
        column_name="geom_l93",
    )
    op.drop_column("addresses", "geom_l93")
