"""desk_queue_versions: a version per desk, moved by triggers in the same transaction as
every change that can alter the desk's queue page or header counts (app.worklists.cache)

A desk's version is the sum of its rows' ``changes``; each change adds at least 1, so the
sum only grows, and two snapshots that read the same sum saw the same committed changes
(a later snapshot sees every transaction an earlier one saw, and more changes a larger
sum). The cache keeps a rendered page under the version read before rendering it: a page
served from the cache is the one a fresh render would give, until the version moves.

What moves a desk's version:
- ``reports``: every insert, update and delete, per statement from its transition tables:
  each desk of an old or new row once (a report moved from one desk to another moves
  both). Any update, whatever columns it changes: the page shows most of the row (answers,
  routing, support counts, version, updated_at...), and a list of columns to leave out
  would drift as the page grows;
- the tables the page joins, for every desk (they are small and rarely written): a
  category's code, group, names or icon; a commune added, removed or renamed (the join is
  outer: a report's commune may arrive after it); a crew's code or name (a crew removed
  sets its reports' crew to NULL, an update of those reports);
- TRUNCATE of any of them.
Time moves the ``overdue`` flags and counts too, with no change at all: the cache bounds
each entry by the desk's next due date (app.worklists.cache), not the database.

Slots, as the counters of open work (migration f7b9d1e3a5c7): each connection writes the
row numbered by its backend pid, so concurrent writers into one desk never wait for each
other on its version; app.workload.service.fold moves the rows of backends gone into slot
0 (the sum unchanged). A desk without rows is at version 0.

Revision ID: d4f6a8c0e2b4
Revises: c7e9a1b3d5f8
Create Date: 2026-12-07 04:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d4f6a8c0e2b4"
down_revision = "c7e9a1b3d5f8"
branch_labels = None
depends_on = None

HOT_ROWS = {
    "postgresql_with": {
        "fillfactor": 50,
        "autovacuum_vacuum_scale_factor": 0,
        "autovacuum_vacuum_threshold": 1000,
        "autovacuum_analyze_scale_factor": 0,
        "autovacuum_analyze_threshold": 1000,
    }
}

# The columns of the joined tables the queue page shows (app.worklists.queries.
# item_document) or filters by (codes).
SHOWN = {
    "categories": ("id", "code", '"group"', "name_fr", "name_en", "icon"),
    "communes": ("insee_code", "name"),
    "crews": ("id", "code", "name"),
}
KEYS = {"categories": "id", "communes": "insee_code", "crews": "id"}

BUMP_EVERY_DESK = """
  INSERT INTO desk_queue_versions AS v (desk_id, slot, changes)
  SELECT id, pg_backend_pid(), 1 FROM desks ORDER BY id
  ON CONFLICT (desk_id, slot) DO UPDATE SET changes = v.changes + 1;
"""


def upgrade():
    op.create_table(
        "desk_queue_versions",
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("changes", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"],
            ["desks.id"],
            name=op.f("fk_desk_queue_versions_desk_id_desks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("desk_id", "slot", name=op.f("pk_desk_queue_versions")),
        **HOT_ROWS,
    )
    for event, tables, desks in (
        ("INSERT", "REFERENCING NEW TABLE AS new_reports", "SELECT desk_id FROM new_reports"),
        ("DELETE", "REFERENCING OLD TABLE AS old_reports", "SELECT desk_id FROM old_reports"),
        (
            "UPDATE",
            "REFERENCING OLD TABLE AS old_reports NEW TABLE AS new_reports",
            "SELECT desk_id FROM old_reports UNION SELECT desk_id FROM new_reports",
        ),
    ):
        name = event.lower()
        op.execute(
            f"""
            CREATE FUNCTION desk_queue_changed_{name}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              -- The join skips a desk being deleted: its rows go with it (cascade).
              INSERT INTO desk_queue_versions AS v (desk_id, slot, changes)
              SELECT changed.desk_id, pg_backend_pid(), 1
              FROM ({desks}) AS changed JOIN desks ON desks.id = changed.desk_id
              GROUP BY changed.desk_id ORDER BY changed.desk_id
              ON CONFLICT (desk_id, slot) DO UPDATE SET changes = v.changes + 1;
              RETURN NULL;
            END $$
            """
        )
        op.execute(
            f"""
            CREATE TRIGGER reports_desk_queue_{name} AFTER {event} ON reports
            {tables}
            FOR EACH STATEMENT EXECUTE FUNCTION desk_queue_changed_{name}()
            """
        )
    op.execute(
        f"""
        CREATE FUNCTION desk_queues_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          {BUMP_EVERY_DESK}
          RETURN NULL;
        END $$
        """
    )
    for table in ("reports", "categories", "communes", "crews"):
        op.execute(
            f"""
            CREATE TRIGGER {table}_desk_queues_truncate AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION desk_queues_changed()
            """
        )
    for table, columns in SHOWN.items():
        key = KEYS[table]
        old = ", ".join(f"o.{column}" for column in columns)
        new = ", ".join(f"n.{column}" for column in columns)
        op.execute(
            f"""
            CREATE FUNCTION {table}_shown_changed() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'UPDATE' THEN
                IF NOT EXISTS (
                  SELECT FROM old_rows o FULL JOIN new_rows n ON n.{key} = o.{key}
                  WHERE ({old}) IS DISTINCT FROM ({new})
                ) THEN
                  RETURN NULL;
                END IF;
              ELSIF TG_OP = 'INSERT' THEN
                IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;
              ELSIF NOT EXISTS (SELECT FROM old_rows) THEN
                RETURN NULL;
              END IF;
              {BUMP_EVERY_DESK}
              RETURN NULL;
            END $$
            """
        )
        # A category or a crew added changes no page (reports reference them by a foreign
        # key); a commune added may (the join is outer, on a code without a foreign key).
        events = [
            ("update", "UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("delete", "DELETE", "REFERENCING OLD TABLE AS old_rows"),
        ]
        if table == "communes":
            events.append(("insert", "INSERT", "REFERENCING NEW TABLE AS new_rows"))
        for name, event, transition in events:
            op.execute(
                f"""
                CREATE TRIGGER {table}_desk_queues_{name} AFTER {event} ON {table}
                {transition}
                FOR EACH STATEMENT EXECUTE FUNCTION {table}_shown_changed()
                """
            )


def downgrade():
    for table in SHOWN:
        names = ["update", "delete"] + (["insert"] if table == "communes" else [])
        for name in names:
            op.execute(f"DROP TRIGGER {table}_desk_queues_{name} ON {table}")
        op.execute(f"DROP FUNCTION {table}_shown_changed()")
    for table in ("reports", "categories", "communes", "crews"):
        op.execute(f"DROP TRIGGER {table}_desk_queues_truncate ON {table}")
    op.execute("DROP FUNCTION desk_queues_changed()")
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER reports_desk_queue_{name} ON reports")
        op.execute(f"DROP FUNCTION desk_queue_changed_{name}()")
    op.drop_table("desk_queue_versions")
