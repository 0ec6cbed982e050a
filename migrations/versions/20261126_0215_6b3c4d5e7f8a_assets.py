"""assets: equipment on the street, with a Lambert-93 copy of the position

Revision ID: 6b3c4d5e7f8a
Revises: a1c2e3f4b5d6
Create Date: 2026-11-26 01:30:00

"""

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "6b3c4d5e7f8a"
down_revision = "a1c2e3f4b5d6"
branch_labels = None
depends_on = None

KINDS = ("street_light", "traffic_signal", "camera", "drain", "sign", "bench", "poi")
STATUSES = ("in_service", "faulty", "out_of_service", "removed")


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    op.create_geospatial_table(
        "assets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "geom_l93",
            Geometry(
                geometry_type="POINT",
                srid=2154,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            sa.Computed("ST_Transform(geom, 2154)", persisted=True),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=20), server_default="in_service", nullable=False),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("commune_insee", sa.String(length=5), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(_one_of("kind", KINDS), name=op.f("ck_assets_kind")),
        sa.CheckConstraint(_one_of("status", STATUSES), name=op.f("ck_assets_status")),
        sa.ForeignKeyConstraint(
            ["commune_insee"],
            ["communes.insee_code"],
            name=op.f("fk_assets_commune_insee_communes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sa.UniqueConstraint("reference", name=op.f("uq_assets_reference")),
    )
    op.create_geospatial_index(
        "idx_assets_geom", "assets", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_geospatial_index(
        "idx_assets_geom_l93", "assets", ["geom_l93"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_assets_kind"), "assets", ["kind"], unique=False)
    op.create_index(op.f("ix_assets_commune_insee"), "assets", ["commune_insee"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_assets_commune_insee"), table_name="assets")
    op.drop_index(op.f("ix_assets_kind"), table_name="assets")
    op.drop_geospatial_index("idx_assets_geom_l93", table_name="assets", column_name="geom_l93")
    op.drop_geospatial_index("idx_assets_geom", table_name="assets", column_name="geom")
    op.drop_geospatial_table("assets")
