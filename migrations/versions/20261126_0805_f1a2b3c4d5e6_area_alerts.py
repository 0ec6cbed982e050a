"""area alerts and editable notification titles: residents' area subscriptions, notifications
that are about no single report (an area alert), and titles edited per kind

Revision ID: f1a2b3c4d5e6
Revises: a7b8c9d0e1f2
Create Date: 2026-11-26 06:00:00

"""

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "f1a2b3c4d5e6"
down_revision = "a7b8c9d0e1f2"
branch_labels = None
depends_on = None


def _point(srid: int) -> Geometry:
    return Geometry(
        geometry_type="POINT",
        srid=srid,
        dimension=2,
        spatial_index=False,
        from_text="ST_GeomFromEWKT",
        name="geometry",
    )


def upgrade():
    op.alter_column("notifications", "report_id", existing_type=sa.BigInteger(), nullable=True)
    op.alter_column("notifications", "event_id", existing_type=sa.BigInteger(), nullable=True)
    op.create_table(
        "area_subscriptions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("uid", sa.String(length=128), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=True),
        sa.Column("commune_insee", sa.String(length=5), nullable=True),
        sa.Column("geom", _point(4326), nullable=True),
        sa.Column(
            "geom_l93",
            _point(2154),
            sa.Computed("ST_Transform(geom, 2154)", persisted=True),
            nullable=True,
        ),
        sa.Column("radius_m", sa.Integer(), nullable=True),
        sa.Column(
            "categories",
            postgresql.ARRAY(sa.String(length=40)),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "watermark",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_alert_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "(commune_insee IS NULL) <> (geom IS NULL) AND (geom IS NULL) = (radius_m IS NULL)",
            name=op.f("ck_area_subscriptions_one_area"),
        ),
        sa.CheckConstraint(
            "radius_m BETWEEN 1 AND 2000", name=op.f("ck_area_subscriptions_radius_m")
        ),
        sa.ForeignKeyConstraint(
            ["commune_insee"],
            ["communes.insee_code"],
            name=op.f("fk_area_subscriptions_commune_insee_communes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area_subscriptions")),
    )
    op.create_index("ix_area_subscriptions_uid", "area_subscriptions", ["uid"], unique=False)
    op.create_table(
        "notification_titles",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("text_fr", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_notification_titles")),
    )


def downgrade():
    op.drop_table("notification_titles")
    op.drop_index("ix_area_subscriptions_uid", table_name="area_subscriptions")
    op.drop_table("area_subscriptions")
    # Area alerts are about no single report: they cannot stay in a table that needs one.
    op.execute("DELETE FROM notifications WHERE report_id IS NULL OR event_id IS NULL")
    op.alter_column("notifications", "event_id", existing_type=sa.BigInteger(), nullable=False)
    op.alter_column("notifications", "report_id", existing_type=sa.BigInteger(), nullable=False)
