"""open work counted as it changes: crew_workload (routing's workload per crew) and
desk_open_counts (open reports per desk and state), kept by triggers on reports; the
overdue part of the desk header from a partial index on (desk_id, status, due_at)

Why triggers: a report's crew, state or desk is written by a dozen paths (intake, every
triage action, bulk actions, merges, re-routing, photo placement, feeds, a crew's deletion
through ON DELETE SET NULL, generators, psql). A trigger counts each of them in the
writer's own transaction, so the counters commit or roll back with the change and no path
can forget them. Updates are counted per row, with a WHEN clause: an update that changes
none of crew, state and desk costs PostgreSQL a test and no function call. Inserts and
deletes are counted per statement, from its transition table: one update of each counter
however many rows the statement has.

Why slots: one counter row per crew (or per desk and state) would be locked by every
transaction touching it until that transaction commits: concurrent intake into one desk
would queue on its ``new`` row, and two transactions changing several reports could each
hold a row the other waits for (a deadlock; measured with 20 connections sharing 16 rows).
So each database connection writes rows of its own, its slot being its backend pid: no
two open transactions ever write the same counter row, so writers never wait for each
other on a counter, whatever they change and in whatever order. Readers sum the slots
without locking anything. Slot 0 holds the backfill, repairs and the rows of backends that
have gone, folded into it periodically (app.workload.service.fold, every ten minutes from
the worker's cron), so a counter is a few rows: one per connection that changed it since.

Not deferred to the commit (unlike the change notifications): a routing decision later in
the same transaction must see the reports routed before it, as the count did.

Revision ID: f7b9d1e3a5c7
Revises: e6a8c0b2d4f6
Create Date: 2026-12-06 18:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f7b9d1e3a5c7"
down_revision = "e6a8c0b2d4f6"
branch_labels = None
depends_on = None

# app.reports.models.CLOSED_STATUSES when this was written; routing's holds_open_work.
CLOSED = "('resolved', 'closed', 'rejected', 'duplicate')"
# A few rows updated all day: room on each page for the next version (a HOT update, no new
# index entry), and vacuumed after every thousand dead versions whatever the table's size
# (a reader of a crew's counter must not wade through dead versions of its rows).
HOT_ROWS = {
    "postgresql_with": {
        "fillfactor": 50,
        "autovacuum_vacuum_scale_factor": 0,
        "autovacuum_vacuum_threshold": 1000,
        "autovacuum_analyze_scale_factor": 0,
        "autovacuum_analyze_threshold": 1000,
    }
}


def upgrade():
    op.create_table(
        "crew_workload",
        sa.Column("crew_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("reports", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["crew_id"],
            ["crews.id"],
            name=op.f("fk_crew_workload_crew_id_crews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("crew_id", "slot", name=op.f("pk_crew_workload")),
        **HOT_ROWS,
    )
    op.create_table(
        "desk_open_counts",
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("reports", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"],
            ["desks.id"],
            name=op.f("fk_desk_open_counts_desk_id_desks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("desk_id", "status", "slot", name=op.f("pk_desk_open_counts")),
        **HOT_ROWS,
    )
    op.execute(
        f"""
        CREATE FUNCTION count_open_work() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
          my_slot integer := pg_backend_pid();
          old_crew integer;
          new_crew integer;
          old_desk integer;
          new_desk integer;
          old_status text;
          new_status text;
        BEGIN
          IF TG_OP <> 'INSERT' AND OLD.status NOT IN {CLOSED} THEN
            old_crew := OLD.crew_id;
            old_desk := OLD.desk_id;
            old_status := OLD.status;
          END IF;
          IF TG_OP <> 'DELETE' AND NEW.status NOT IN {CLOSED} THEN
            new_crew := NEW.crew_id;
            new_desk := NEW.desk_id;
            new_status := NEW.status;
          END IF;
          IF old_crew IS DISTINCT FROM new_crew THEN
            -- The join skips a crew being deleted: its counters go with it (cascade).
            INSERT INTO crew_workload AS w (crew_id, slot, reports)
            SELECT change.crew_id, my_slot, change.delta
            FROM (VALUES (old_crew, -1), (new_crew, 1)) AS change (crew_id, delta)
            JOIN crews ON crews.id = change.crew_id
            ORDER BY change.crew_id
            ON CONFLICT (crew_id, slot) DO UPDATE SET reports = w.reports + excluded.reports;
          END IF;
          IF old_desk IS DISTINCT FROM new_desk OR old_status IS DISTINCT FROM new_status THEN
            INSERT INTO desk_open_counts AS d (desk_id, status, slot, reports)
            SELECT change.desk_id, change.status, my_slot, change.delta
            FROM (VALUES (old_desk, old_status, -1), (new_desk, new_status, 1))
                 AS change (desk_id, status, delta)
            WHERE change.desk_id IS NOT NULL
            ORDER BY change.desk_id, change.status
            ON CONFLICT (desk_id, status, slot)
            DO UPDATE SET reports = d.reports + excluded.reports;
          END IF;
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER reports_count_open_work_update
        AFTER UPDATE OF crew_id, status, desk_id ON reports
        FOR EACH ROW WHEN (
          OLD.crew_id IS DISTINCT FROM NEW.crew_id
          OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.desk_id IS DISTINCT FROM NEW.desk_id
        )
        EXECUTE FUNCTION count_open_work()
        """
    )
    # Inserts and deletes, counted once per statement from its transition table: a statement
    # of many rows (a generator, the removal of test data) updates each counter once, not
    # once per row (in one transaction, each update of a row leaves a version the next one
    # must step over: 540 us a row for 50,000 rows inserted at once, measured).
    for event, rows, sign, done in (
        ("INSERT", "NEW", "", "inserted"),
        ("DELETE", "OLD", "-", "deleted"),
    ):
        table = f"{done}_reports"
        op.execute(
            f"""
            CREATE FUNCTION count_open_work_{done}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              INSERT INTO crew_workload AS w (crew_id, slot, reports)
              SELECT r.crew_id, pg_backend_pid(), {sign}count(*) FROM {table} r
              JOIN crews ON crews.id = r.crew_id
              WHERE r.status NOT IN {CLOSED}
              GROUP BY r.crew_id ORDER BY r.crew_id
              ON CONFLICT (crew_id, slot) DO UPDATE SET reports = w.reports + excluded.reports;
              INSERT INTO desk_open_counts AS d (desk_id, status, slot, reports)
              SELECT desk_id, status, pg_backend_pid(), {sign}count(*) FROM {table}
              WHERE desk_id IS NOT NULL AND status NOT IN {CLOSED}
              GROUP BY desk_id, status ORDER BY desk_id, status
              ON CONFLICT (desk_id, status, slot)
              DO UPDATE SET reports = d.reports + excluded.reports;
              RETURN NULL;
            END $$
            """
        )
        op.execute(
            f"""
            CREATE TRIGGER reports_count_open_work_{event.lower()} AFTER {event} ON reports
            REFERENCING {rows} TABLE AS {table}
            FOR EACH STATEMENT EXECUTE FUNCTION count_open_work_{done}()
            """
        )
    # TRUNCATE fires no row trigger: the counters are emptied with the table.
    op.execute(
        """
        CREATE FUNCTION forget_open_work() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          DELETE FROM crew_workload;
          DELETE FROM desk_open_counts;
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER reports_forget_open_work AFTER TRUNCATE ON reports
        FOR EACH STATEMENT EXECUTE FUNCTION forget_open_work()
        """
    )
    # Counted with writers held off (until this migration commits): nothing is counted by
    # both the triggers and the backfill, nothing by neither.
    op.execute("LOCK TABLE reports IN SHARE MODE")
    op.execute(
        f"""
        INSERT INTO crew_workload (crew_id, slot, reports)
        SELECT crew_id, 0, count(*) FROM reports
        WHERE crew_id IS NOT NULL AND status NOT IN {CLOSED}
        GROUP BY crew_id
        """
    )
    op.execute(
        f"""
        INSERT INTO desk_open_counts (desk_id, status, slot, reports)
        SELECT desk_id, status, 0, count(*) FROM reports
        WHERE desk_id IS NOT NULL AND status NOT IN {CLOSED}
        GROUP BY desk_id, status
        """
    )
    # The desk header's overdue counts (due_at < now() among open reports, per state): a
    # range of this index per state.
    op.create_index(
        "ix_reports_open_desk_status_due_at",
        "reports",
        ["desk_id", "status", "due_at"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('new', 'acknowledged', 'assigned', 'in_progress', 'reopened')"
        ),
    )


def downgrade():
    op.drop_index(
        "ix_reports_open_desk_status_due_at",
        table_name="reports",
        postgresql_where=sa.text(
            "status IN ('new', 'acknowledged', 'assigned', 'in_progress', 'reopened')"
        ),
    )
    op.execute("DROP TRIGGER reports_forget_open_work ON reports")
    op.execute("DROP FUNCTION forget_open_work()")
    for event, done in (("insert", "inserted"), ("delete", "deleted")):
        op.execute(f"DROP TRIGGER reports_count_open_work_{event} ON reports")
        op.execute(f"DROP FUNCTION count_open_work_{done}()")
    op.execute("DROP TRIGGER reports_count_open_work_update ON reports")
    op.execute("DROP FUNCTION count_open_work()")
    op.drop_table("desk_open_counts")
    op.drop_table("crew_workload")
