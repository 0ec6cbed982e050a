"""Each asset's live state (app/equipment), from the feed entities that name it.

:func:`refresh` is the one call of the ingestion path (app/feeds/service.py, after the
states are stored; a notification from the broker goes through the same path): one
statement links the stored entities to assets by reference, as fault tickets do (the
identifiers the entity's model defines, whole then by their last segment, then its id),
upserts the assets' live state where the observation is newer than the stored one (out of
order safe: an older observation changes nothing), and settles the commands in flight that
the new state answers (confirmed, or failed when the equipment reports an error for it),
with their audit events and their live notifications, in the caller's transaction.

An entity naming no asset of its kind is not linked to the nearest one (as a fault ticket
may be): a command must reach the equipment it names, never a neighbour.
"""

from datetime import datetime

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger, DateTime

from app.feeds.ngsi_ld import EQUIPMENT_IDENTIFIERS

# The asset kind each equipment entity type is.
ASSET_KINDS = {"Streetlight": "street_light", "TrafficSignal": "traffic_signal", "Device": "camera"}
# A camera's deviceState (the Smart Data Models' Device) that says it is online or not.
ONLINE_WORDS = ("ok", "on", "online", "connected", "working", "recording")
OFFLINE_WORDS = ("off", "offline", "disconnected", "unreachable", "unavailable", "lost")
# Status words that are not a fault.
WORKING_WORDS = ("ok", "working", "on", "online")
# The state a command's expectation is compared with (``live @> expected``).
LIVE_JSON = """jsonb_build_object('power_state', {p}power_state, 'dimming_level',
    {p}dimming_level, 'control_mode', {p}control_mode, 'mode', {p}mode, 'online', {p}online,
    'fault', {p}fault, 'observed_at', {p}observed_at)"""
COMMAND_CHANNEL = "equipment_changes"


def _quoted(values) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _candidates() -> str:
    """The references an entity may name, in order, per entity type (SQL)."""

    def last(expr: str) -> str:
        return f"regexp_replace({expr}, '^.*:', '')"

    cases = []
    for entity_type in ASSET_KINDS:
        parts = []
        for name in EQUIPMENT_IDENTIFIERS.get(entity_type, ()):
            value = f"(e.measures -> 'equipment' ->> '{name}')"
            parts += [value, last(value)]
        parts += ["e.entity_id", last("e.entity_id")]
        cases.append(f"WHEN '{entity_type}' THEN ARRAY[{', '.join(parts)}]")
    return "CASE e.entity_type " + " ".join(cases) + " END"


_KIND = (
    "CASE e.entity_type "
    + " ".join(f"WHEN '{t}' THEN '{k}'" for t, k in ASSET_KINDS.items())
    + " END"
)
_FAULT = (
    f"CASE WHEN l.status IS NULL OR l.status IN ({_quoted(WORKING_WORDS)}) THEN NULL"
    " ELSE l.status END"
)

REFRESH = text(
    f"""
WITH src AS (
    SELECT e.id, e.feed_id, e.entity_id, e.entity_type, e.observed_at, e.status, e.measures,
           {_candidates()} AS refs, {_KIND} AS kind
    FROM feed_entities e
    WHERE e.feed_id = :feed_id
      AND e.entity_type IN ({_quoted(ASSET_KINDS)})
      AND CASE WHEN CAST(:pks AS bigint[]) IS NULL THEN e.updated_at = now()
               ELSE e.id = ANY(CAST(:pks AS bigint[])) END
), linked AS (
    SELECT DISTINCT ON (a.id) a.id AS asset_id, s.feed_id, s.entity_id, s.entity_type,
           s.observed_at, s.status, s.measures
    FROM src s
    CROSS JOIN LATERAL (
        SELECT a.id FROM unnest(s.refs) WITH ORDINALITY AS r(ref, n)
        JOIN assets a ON a.reference = r.ref AND a.kind = s.kind AND a.status <> 'removed'
        ORDER BY r.n LIMIT 1
    ) a
    ORDER BY a.id, s.observed_at DESC, s.id
), live AS (
    SELECT l.*, {_FAULT} AS fault FROM (
        SELECT asset_id, feed_id, entity_id, entity_type, observed_at, status,
               measures ->> 'power_state' AS power_state,
               CAST(measures ->> 'dimming_level' AS smallint) AS dimming_level,
               measures ->> 'control_mode' AS control_mode,
               measures ->> 'mode' AS mode,
               CASE WHEN lower(measures ->> 'device_state') IN ({_quoted(ONLINE_WORDS)}) THEN true
                    WHEN lower(measures ->> 'device_state') IN ({_quoted(OFFLINE_WORDS)}) THEN false
               END AS online,
               measures -> 'command' ->> 'id' AS command_id,
               measures -> 'command' ->> 'status' AS command_status
        FROM linked) l
), upserted AS (
    INSERT INTO asset_live_states AS s (
        asset_id, feed_id, entity_id, entity_type, observed_at, status, power_state,
        dimming_level, control_mode, mode, online, fault, last_fault, last_fault_at,
        command_id, command_status, updated_at)
    SELECT asset_id, feed_id, entity_id, entity_type, observed_at, status, power_state,
           dimming_level, control_mode, mode, online, fault, fault,
           CASE WHEN fault IS NOT NULL THEN observed_at END, command_id, command_status, now()
    FROM live
    ON CONFLICT (asset_id) DO UPDATE SET
        feed_id = excluded.feed_id, entity_id = excluded.entity_id,
        entity_type = excluded.entity_type, observed_at = excluded.observed_at,
        status = excluded.status, power_state = excluded.power_state,
        dimming_level = excluded.dimming_level, control_mode = excluded.control_mode,
        mode = excluded.mode, online = excluded.online, fault = excluded.fault,
        last_fault = coalesce(excluded.fault, s.last_fault),
        last_fault_at = CASE WHEN excluded.fault IS NULL THEN s.last_fault_at
                             WHEN excluded.fault IS DISTINCT FROM s.fault
                             THEN excluded.observed_at
                             ELSE s.last_fault_at END,
        command_id = excluded.command_id, command_status = excluded.command_status,
        updated_at = now()
    WHERE excluded.observed_at > s.observed_at
    RETURNING s.*
), settled AS (
    UPDATE equipment_commands c
    SET state = CASE WHEN u.command_id = CAST(c.uid AS text)
                          AND upper(u.command_status) IN ('ERROR', 'FAILED')
                     THEN 'failed' ELSE 'confirmed' END,
        last_error = CASE WHEN u.command_id = CAST(c.uid AS text)
                               AND upper(u.command_status) IN ('ERROR', 'FAILED')
                          THEN 'equipment_error' END,
        after = {LIVE_JSON.format(p="u.")}, settled_at = coalesce(:now, now()), expires_at = NULL,
        updated_at = now()
    FROM upserted u
    WHERE c.asset_id = u.asset_id AND c.state = 'sent'
      AND ((u.command_id = CAST(c.uid AS text)
            AND upper(u.command_status) IN ('ERROR', 'FAILED'))
           OR ({LIVE_JSON.format(p="u.")} @> c.expected
               AND (u.observed_at >= c.sent_at OR u.command_id = CAST(c.uid AS text))))
    RETURNING c.id, c.uid, c.asset_id, c.selection_id, c.name, c.state, c.after
), audited AS (
    INSERT INTO audit_events (actor_uid, actor_role, action, subject_type, subject_id,
                              details)
    SELECT 'signale:equipment', 'system', 'equipment.command.' || t.state, 'asset',
           a.reference, jsonb_build_object('command', t.id, 'name', t.name,
                                           'state', t.state, 'after', t.after)
    FROM settled t JOIN assets a ON a.id = t.asset_id
    RETURNING id
)
SELECT (SELECT count(*) FROM upserted) AS changed,
       (SELECT count(*) FROM audited) AS settled,
       (SELECT count(pg_notify('{COMMAND_CHANNEL}', json_build_object(
            'id', t.id, 'asset', a.reference, 'kind', a.kind, 'name', t.name,
            'state', t.state, 'selection', t.selection_id)::text))
        FROM settled t JOIN assets a ON a.id = t.asset_id) AS told
"""
).bindparams(
    bindparam("pks", type_=ARRAY(BigInteger)),
    bindparam("now", type_=DateTime(timezone=True)),
)


def refresh(
    session: Session, feed_id: int, entity_pks: list[int] | None = None, now: datetime | None = None
) -> dict:
    """Update the live state of the assets the feed's stored entities name, and settle the
    commands that state answers; flushes only (the ingestion's transaction commits).

    ``entity_pks``: the feed entities just stored; None: those of the feed written in this
    transaction (their ``updated_at`` is the transaction's ``now()``, as store_states sets
    it). ``now``: when the commands are settled (the database's clock when not given).
    Returns how many live states changed and how many commands were settled."""
    row = session.execute(REFRESH, {"feed_id": feed_id, "pks": entity_pks, "now": now}).one()
    return {"changed": row.changed, "settled": row.settled}
