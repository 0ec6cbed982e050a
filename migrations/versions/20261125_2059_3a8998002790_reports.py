"""categories, reports, idempotency keys

Revision ID: 3a8998002790
Revises: b91aa16cd91b
Create Date: 2026-11-25 20:59:18.922339

"""

from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "3a8998002790"
down_revision = "b91aa16cd91b"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.schema.CreateSequence(sa.Sequence("report_reference_seq")))
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("group", sa.String(length=30), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("name_fr", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("hint_fr", sa.String(length=500), nullable=True),
        sa.Column("hint_en", sa.String(length=500), nullable=True),
        sa.Column("icon", sa.String(length=40), nullable=False),
        sa.Column("photo_required", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("urgent_notice_fr", sa.String(length=500), nullable=True),
        sa.Column("urgent_notice_en", sa.String(length=500), nullable=True),
        sa.Column("urgent_phone", sa.String(length=30), nullable=True),
        sa.Column(
            "questions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_categories_code")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("scope", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("owner", "scope", "key", name=op.f("uq_idempotency_keys_owner")),
    )
    op.create_index(
        op.f("ix_idempotency_keys_expires_at"), "idempotency_keys", ["expires_at"], unique=False
    )
    op.create_geospatial_table(
        "reports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="new", nullable=False),
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
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "answers", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("reporter_uid", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=2), server_default="fr", nullable=False),
        sa.Column("source", sa.String(length=20), server_default="app", nullable=False),
        sa.Column("support_count", sa.Integer(), server_default="0", nullable=False),
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
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_reports_category_id_categories")
        ),
        sa.ForeignKeyConstraint(
            ["commune_insee"],
            ["communes.insee_code"],
            name=op.f("fk_reports_commune_insee_communes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("reference", name=op.f("uq_reports_reference")),
    )
    op.create_geospatial_index(
        "idx_reports_geom",
        "reports",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_index(
        "idx_reports_geom_l93",
        "reports",
        ["geom_l93"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_reports_category_id"), "reports", ["category_id"], unique=False)
    op.create_index(op.f("ix_reports_commune_insee"), "reports", ["commune_insee"], unique=False)
    op.create_index("ix_reports_created_at_id", "reports", ["created_at", "id"], unique=False)
    op.create_index("ix_reports_reporter_uid_id", "reports", ["reporter_uid", "id"], unique=False)
    op.create_table(
        "report_contacts",
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=30), nullable=True),
        sa.Column("by_push", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("by_email", sa.Boolean(), server_default="false", nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_contacts_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_report_contacts")),
    )
    op.create_table(
        "report_followers",
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_followers_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "uid", name=op.f("pk_report_followers")),
    )
    op.create_index(op.f("ix_report_followers_uid"), "report_followers", ["uid"], unique=False)
    op.create_table(
        "report_supporters",
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.String(length=128), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_supporters_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("report_id", "uid", name=op.f("pk_report_supporters")),
    )


def downgrade():
    op.drop_table("report_supporters")
    op.drop_index(op.f("ix_report_followers_uid"), table_name="report_followers")
    op.drop_table("report_followers")
    op.drop_table("report_contacts")
    op.drop_index("ix_reports_reporter_uid_id", table_name="reports")
    op.drop_index("ix_reports_created_at_id", table_name="reports")
    op.drop_index(op.f("ix_reports_commune_insee"), table_name="reports")
    op.drop_index(op.f("ix_reports_category_id"), table_name="reports")
    op.drop_geospatial_index(
        "idx_reports_geom_l93",
        table_name="reports",
        postgresql_using="gist",
        column_name="geom_l93",
    )
    op.drop_geospatial_index(
        "idx_reports_geom", table_name="reports", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("reports")
    op.drop_index(op.f("ix_idempotency_keys_expires_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_table("categories")
    op.execute(sa.schema.DropSequence(sa.Sequence("report_reference_seq")))
