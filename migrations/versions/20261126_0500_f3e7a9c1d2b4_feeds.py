"""feeds: the sensor feed registry, the latest state of each entity, its observations

Revision ID: f3e7a9c1d2b4
Revises: b7c8d9e0f1a2
Create Date: 2026-11-26 04:00:00

"""

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "f3e7a9c1d2b4"
down_revision = "b7c8d9e0f1a2"
branch_labels = None
depends_on = None

KINDS = ("parking", "bikes", "traffic", "streetlights", "vehicles")
FORMATS = ("ngsi-ld", "ngsi-ld-document", "gbfs", "gtfs-rt")


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _now():
    return sa.text("now()")


def upgrade():
    op.create_table(
        "feeds",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("source_url", sa.String(length=2000), nullable=False),
        sa.Column("poll_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("freshness_limit_seconds", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "next_poll_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False
        ),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_code", sa.String(length=40), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("entities_seen", sa.Integer(), server_default="0", nullable=False),
        sa.Column("entities_skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "skipped_examples",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(_one_of("kind", KINDS), name=op.f("ck_feeds_kind")),
        sa.CheckConstraint(_one_of("format", FORMATS), name=op.f("ck_feeds_format")),
        sa.CheckConstraint("poll_interval_seconds >= 10", name=op.f("ck_feeds_poll_interval")),
        sa.CheckConstraint("freshness_limit_seconds >= 10", name=op.f("ck_feeds_freshness_limit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("name", name=op.f("uq_feeds_name")),
    )
    op.create_index(
        "ix_feeds_due", "feeds", ["next_poll_at"], unique=False, postgresql_where=sa.text("enabled")
    )
    op.create_geospatial_table(
        "feed_entities",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("feed_id", sa.BigInteger(), nullable=False),
        sa.Column("entity_id", sa.String(length=256), nullable=False),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="GEOMETRY",
                srid=4326,
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
                geometry_type="GEOMETRY",
                srid=2154,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=True),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("occupancy", sa.Float(), nullable=True),
        sa.Column(
            "measures", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_feed_entities_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_entities")),
        sa.UniqueConstraint("feed_id", "entity_id", name="uq_feed_entities_feed_entity"),
    )
    op.create_geospatial_index(
        "idx_feed_entities_geom_l93",
        "feed_entities",
        ["geom_l93"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "feed_observations",
        sa.Column("entity_pk", sa.BigInteger(), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=True),
        sa.Column("available", sa.Integer(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("occupancy", sa.Float(), nullable=True),
        sa.Column(
            "measures", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["entity_pk"],
            ["feed_entities.id"],
            name=op.f("fk_feed_observations_entity_pk_feed_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entity_pk", "observed_at", name=op.f("pk_feed_observations")),
    )
    # Rows arrive in time order: a BRIN index stays a few pages at tens of millions of rows.
    op.create_index(
        "ix_feed_observations_observed_at_brin",
        "feed_observations",
        ["observed_at"],
        unique=False,
        postgresql_using="brin",
    )


def downgrade():
    op.drop_index("ix_feed_observations_observed_at_brin", table_name="feed_observations")
    op.drop_table("feed_observations")
    op.drop_geospatial_index(
        "idx_feed_entities_geom_l93", table_name="feed_entities", column_name="geom_l93"
    )
    op.drop_geospatial_table("feed_entities")
    op.drop_index("ix_feeds_due", table_name="feeds")
    op.drop_table("feeds")
