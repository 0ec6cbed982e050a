"""reports notify their changes: pg_notify('report_changes', ...) after each insert, and
after each update that changes what the console shows (the console's live stream, app/live)

Two triggers, so that an update which changes none of those columns (a support counted,
the routing explanation rewritten) costs a WHEN test evaluated by PostgreSQL itself, and
no function call. Both are deferred to the commit, where the function reads the row as
committed: the several updates of one action (its version claimed, then its state or desk
changed) then give the same payload, which PostgreSQL sends once per transaction, and no
event ever shows a state the report was in only halfway through a transaction. The payload
carries ids: the listener resolves desk and crew codes from a map it keeps (desks and crews
are a few dozen rows), so the writer's transaction does no lookup for it. A notification is
delivered when its transaction commits, never before, and not at all when it rolls back.

Revision ID: e6a8c0b2d4f6
Revises: d5f7b9c1e3a5
Create Date: 2026-12-06 15:20:00

"""

from alembic import op

revision = "e6a8c0b2d4f6"
down_revision = "d5f7b9c1e3a5"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        """
        CREATE FUNCTION notify_report_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            current record;
        BEGIN
            -- Fired at commit (deferred): the row as committed, not as this event left it
            -- (an action first claims the next version, then changes the status or desk).
            SELECT id, reference, desk_id, crew_id, status, version INTO current
            FROM reports WHERE id = NEW.id;
            IF NOT FOUND THEN
                RETURN NULL;
            END IF;
            PERFORM pg_notify('report_changes', json_build_object(
                'id', current.id,
                'reference', current.reference,
                'desk_id', current.desk_id,
                'previous_desk_id', CASE WHEN TG_OP = 'UPDATE' THEN OLD.desk_id END,
                'crew_id', current.crew_id,
                'previous_crew_id', CASE WHEN TG_OP = 'UPDATE' THEN OLD.crew_id END,
                'status', current.status,
                'version', current.version,
                'change', CASE WHEN TG_OP = 'INSERT' THEN 'created' ELSE 'updated' END
            )::text);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER reports_notify_insert AFTER INSERT ON reports
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION notify_report_change()
        """
    )
    op.execute(
        """
        CREATE CONSTRAINT TRIGGER reports_notify_update AFTER UPDATE ON reports
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW
        WHEN (
            OLD.version IS DISTINCT FROM NEW.version
            OR OLD.status IS DISTINCT FROM NEW.status
            OR OLD.desk_id IS DISTINCT FROM NEW.desk_id
            OR OLD.crew_id IS DISTINCT FROM NEW.crew_id
            OR OLD.priority IS DISTINCT FROM NEW.priority
            OR OLD.due_at IS DISTINCT FROM NEW.due_at
            OR OLD.geom IS DISTINCT FROM NEW.geom
        )
        EXECUTE FUNCTION notify_report_change()
        """
    )


def downgrade():
    op.execute("DROP TRIGGER reports_notify_update ON reports")
    op.execute("DROP TRIGGER reports_notify_insert ON reports")
    op.execute("DROP FUNCTION notify_report_change()")
