"""triage: report versions (ETag), report events (history), resident-facing message
templates with a default per state

Revision ID: f27efbbb1aaa
Revises: 8e1f2a3b4c5d
Create Date: 2026-11-26 03:40:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "f27efbbb1aaa"
down_revision = "8e1f2a3b4c5d"
branch_labels = None
depends_on = None

# The default message per state, as shipped (app/triage/messages.py at this revision);
# supervisors edit them afterwards.
DEFAULT_TEMPLATES = [
    (
        "new",
        "Votre signalement {reference} a été transmis au service {desk}.",
        "Your report {reference} has been passed to the {desk} desk.",
    ),
    (
        "acknowledged",
        "Votre signalement {reference} a été pris en compte par le service {desk}.",
        "Your report {reference} has been acknowledged by the {desk} desk.",
    ),
    (
        "assigned",
        "Une équipe d'intervention a été désignée pour votre signalement {reference}.",
        "A field crew has been assigned to your report {reference}.",
    ),
    (
        "in_progress",
        "L'intervention sur votre signalement {reference} a commencé.",
        "Work on your report {reference} has started.",
    ),
    (
        "resolved",
        "Le problème signalé ({reference}) a été traité. S'il persiste, vous pouvez rouvrir le signalement dans les 30 jours.",
        "The problem you reported ({reference}) has been dealt with. If it is still there, you can reopen the report within 30 days.",
    ),
    (
        "closed",
        "Le signalement {reference} est clos. Merci de votre contribution.",
        "Report {reference} is closed. Thank you for your help.",
    ),
    (
        "rejected",
        "Le signalement {reference} ne peut pas être traité : {reason}.",
        "Report {reference} cannot be dealt with: {reason}.",
    ),
    (
        "duplicate",
        "Ce problème avait déjà été signalé : votre signalement {reference} a été rattaché au signalement {original}, dont vous serez informé de l'avancement.",
        "This problem had already been reported: your report {reference} has joined report {original}, and you will be told how it progresses.",
    ),
    (
        "reopened",
        "Le signalement {reference} a été rouvert : le service {desk} va le réexaminer.",
        "Report {reference} has been reopened: the {desk} desk will look at it again.",
    ),
]


def upgrade():
    op.add_column("reports", sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    op.create_table(
        "report_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("report_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("client_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor_uid", sa.String(length=128), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("message_fr", sa.Text(), nullable=True),
        sa.Column("message_en", sa.Text(), nullable=True),
        sa.Column("internal_note", sa.Text(), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["desk_id"],
            ["desks.id"],
            name=op.f("fk_report_events_desk_id_desks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_events_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_events")),
    )
    op.create_index(
        "ix_report_events_report_id_id", "report_events", ["report_id", "id"], unique=False
    )

    templates = op.create_table(
        "message_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("text_fr", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_message_templates_category_id_categories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
    )
    op.create_index(
        "uq_message_templates_category_status",
        "message_templates",
        ["category_id", "status"],
        unique=True,
        postgresql_where=sa.text("category_id IS NOT NULL"),
    )
    op.create_index(
        "uq_message_templates_default_status",
        "message_templates",
        ["status"],
        unique=True,
        postgresql_where=sa.text("category_id IS NULL"),
    )
    op.bulk_insert(
        templates,
        [{"status": s, "text_fr": fr, "text_en": en} for s, fr, en in DEFAULT_TEMPLATES],
    )


def downgrade():
    op.drop_index(
        "uq_message_templates_default_status",
        table_name="message_templates",
        postgresql_where=sa.text("category_id IS NULL"),
    )
    op.drop_index(
        "uq_message_templates_category_status",
        table_name="message_templates",
        postgresql_where=sa.text("category_id IS NOT NULL"),
    )
    op.drop_table("message_templates")
    op.drop_index("ix_report_events_report_id_id", table_name="report_events")
    op.drop_table("report_events")
    op.drop_column("reports", "version")
