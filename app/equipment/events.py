"""A command's changes of state, told once: the audit trail and the console's live stream.

:func:`record` writes one audit event per command (subject: the asset, by reference) and
notifies ``equipment_changes`` (delivered by PostgreSQL on commit only, heard by every API
process's live hub: app/live/hub.py), in the caller's transaction. The live-state refresh
does the same in its own statement (app/feeds/live_state.py).
"""

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger

from app.feeds.live_state import COMMAND_CHANNEL

# Who the audit trail names for what no person did (the dispatcher, the sweep).
SYSTEM_UID = "signale:equipment"
SYSTEM_ROLE = "system"

_RECORD = text(
    f"""
WITH c AS (
    SELECT c.id, c.name, c.level, c.state, c.reason, c.last_error, c.selection_id,
           c.decision_note, a.reference, a.kind
    FROM equipment_commands c JOIN assets a ON a.id = c.asset_id
    WHERE c.id = ANY(:ids)
), audited AS (
    INSERT INTO audit_events (actor_uid, actor_role, action, subject_type, subject_id,
                              request_id, details)
    SELECT :actor_uid, :actor_role, 'equipment.command.' || c.state, 'asset', c.reference,
           :request_id,
           jsonb_strip_nulls(jsonb_build_object(
               'command', c.id, 'name', c.name, 'level', c.level, 'state', c.state,
               'reason', CASE WHEN :with_reason THEN c.reason END,
               'note', c.decision_note, 'error', c.last_error,
               'selection', c.selection_id))
    FROM c
    RETURNING id
)
SELECT (SELECT count(*) FROM audited),
       (SELECT count(pg_notify('{COMMAND_CHANNEL}', json_build_object(
            'id', c.id, 'asset', c.reference, 'kind', c.kind, 'name', c.name,
            'state', c.state, 'selection', c.selection_id)::text)) FROM c)
"""
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


def record(
    session: Session,
    ids: list[int],
    *,
    actor_uid: str = SYSTEM_UID,
    actor_role: str = SYSTEM_ROLE,
    request_id: str | None = None,
    with_reason: bool = False,
) -> None:
    """Audit and announce the commands ``ids`` in their current state; flushes only."""
    if ids:
        session.execute(
            _RECORD,
            {
                "ids": list(ids),
                "actor_uid": actor_uid,
                "actor_role": actor_role,
                "request_id": request_id,
                "with_reason": with_reason,
            },
        )
