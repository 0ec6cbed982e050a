"""the organisation as data: crews' skills, zones, depots, hours, capacity; routing rules;
where a report was routed (desk, crew)

Revision ID: 7c4d5e6f8a9b
Revises: b2d4e6f8a0c1
Create Date: 2026-11-26 01:30:00

"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

revision = "7c4d5e6f8a9b"
down_revision = "b2d4e6f8a0c1"
branch_labels = None
depends_on = None


def _geometry(kind: str) -> Geometry:
    return Geometry(
        geometry_type=kind,
        srid=4326,
        dimension=2,
        spatial_index=False,
        from_text="ST_GeomFromEWKT",
        name="geometry",
    )


def upgrade():
    op.add_column(
        "crews",
        sa.Column("skills", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
    )
    op.add_column("crews", sa.Column("zone", _geometry("MULTIPOLYGON"), nullable=True))
    op.add_column("crews", sa.Column("depot", _geometry("POINT"), nullable=True))
    op.add_column(
        "crews",
        sa.Column(
            "working_hours",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.add_column("crews", sa.Column("capacity", sa.Integer(), server_default="10", nullable=False))
    op.add_column("crews", sa.Column("active", sa.Boolean(), server_default="true", nullable=False))
    op.create_check_constraint(op.f("ck_crews_capacity_positive"), "crews", "capacity > 0")
    op.create_geospatial_index(
        "idx_crews_zone", "crews", ["zone"], unique=False, postgresql_using="gist"
    )

    op.create_geospatial_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=40), nullable=True),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("zone", _geometry("MULTIPOLYGON"), nullable=True),
        sa.Column("months", postgresql.ARRAY(sa.SmallInteger()), nullable=True),
        sa.Column("starts_at", sa.Time(), nullable=True),
        sa.Column("ends_at", sa.Time(), nullable=True),
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
        sa.CheckConstraint(
            "months <@ '{1,2,3,4,5,6,7,8,9,10,11,12}'",
            name=op.f("ck_routing_rules_months_valid"),
        ),
        sa.CheckConstraint(
            "(starts_at IS NULL) = (ends_at IS NULL) AND starts_at <> ends_at",
            name=op.f("ck_routing_rules_time_window_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["categories.code"],
            name=op.f("fk_routing_rules_category_code_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["desk_id"],
            ["desks.id"],
            name=op.f("fk_routing_rules_desk_id_desks"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
        sa.UniqueConstraint("priority", name=op.f("uq_routing_rules_priority")),
    )
    op.create_geospatial_index(
        "idx_routing_rules_zone",
        "routing_rules",
        ["zone"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_routing_rules_category_code"), "routing_rules", ["category_code"], unique=False
    )
    op.create_index(op.f("ix_routing_rules_desk_id"), "routing_rules", ["desk_id"], unique=False)

    op.add_column("reports", sa.Column("desk_id", sa.Integer(), nullable=True))
    op.add_column("reports", sa.Column("crew_id", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_reports_desk_id_desks"), "reports", "desks", ["desk_id"], ["id"])
    op.create_foreign_key(
        op.f("fk_reports_crew_id_crews"),
        "reports",
        "crews",
        ["crew_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_reports_desk_id"), "reports", ["desk_id"], unique=False)
    op.create_index(op.f("ix_reports_crew_id"), "reports", ["crew_id"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_reports_crew_id"), table_name="reports")
    op.drop_index(op.f("ix_reports_desk_id"), table_name="reports")
    op.drop_constraint(op.f("fk_reports_crew_id_crews"), "reports", type_="foreignkey")
    op.drop_constraint(op.f("fk_reports_desk_id_desks"), "reports", type_="foreignkey")
    op.drop_column("reports", "crew_id")
    op.drop_column("reports", "desk_id")

    op.drop_index(op.f("ix_routing_rules_desk_id"), table_name="routing_rules")
    op.drop_index(op.f("ix_routing_rules_category_code"), table_name="routing_rules")
    op.drop_geospatial_index(
        "idx_routing_rules_zone",
        table_name="routing_rules",
        postgresql_using="gist",
        column_name="zone",
    )
    op.drop_geospatial_table("routing_rules")

    op.drop_geospatial_index(
        "idx_crews_zone", table_name="crews", postgresql_using="gist", column_name="zone"
    )
    op.drop_constraint(op.f("ck_crews_capacity_positive"), "crews", type_="check")
    op.drop_column("crews", "active")
    op.drop_column("crews", "capacity")
    op.drop_column("crews", "working_hours")
    op.drop_column("crews", "depot")
    op.drop_column("crews", "zone")
    op.drop_column("crews", "skills")
