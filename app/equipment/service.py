"""Use cases of equipment commands: request (one asset, or a selection), confirm, reject,
cancel, and the asset's command history. Each owns its transaction."""

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import shapely
from shapely.geometry import shape
from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger

from app import clock
from app.assets.models import Asset
from app.assets.service import get_asset
from app.auth.identity import Identity
from app.equipment import events
from app.equipment.commands import BY_KIND, COMMANDS, UNSENT_STATES, Command
from app.equipment.dispatch import DISPATCH
from app.equipment.models import AssetLiveState, EquipmentCommand
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.idempotency import service as idempotency
from app.jobs import after_commit
from app.pagination import decode_cursor, paginate
from app.users.models import Role

# Who may ask for commands: agents of a desk that runs the kind of equipment, and
# supervisors; a second person who confirms a two-person command is a supervisor.
REQUESTERS = (Role.AGENT, Role.SUPERVISOR)
CONFIRMERS = (Role.SUPERVISOR,)
READERS = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)

# The desks that run each asset: those an active routing rule sends the reports of a
# category of the asset's kind to (its zone, if it has one, covering the asset). The rule's
# season and hours do not matter: they say who takes reports when, not who owns equipment.
_OWNERS = text(
    """
SELECT a.id, a.reference, coalesce(array_agg(DISTINCT d.code) FILTER (WHERE d.code IS NOT NULL),
                                   '{}') AS desks
FROM assets a
LEFT JOIN categories c ON c.asset_kind = a.kind AND c.active
LEFT JOIN routing_rules r ON r.category_code = c.code AND r.active
                          AND (r.zone IS NULL OR ST_Covers(r.zone, a.geom))
LEFT JOIN desks d ON d.id = r.desk_id
WHERE a.id = ANY(:ids)
GROUP BY a.id, a.reference
"""
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))

# One statement for any number of assets: one command per asset, queued or pending a second
# person's confirmation, its PATCH body naming it by its new uid.
_INSERT = text(
    """
INSERT INTO equipment_commands (
    uid, asset_id, selection_id, name, level, reason, state, requested_by, requested_role,
    feed_id, entity_id, entity_type, patch, expected, next_attempt_at, created_at,
    queued_at, expires_at)
SELECT l.uid, l.asset_id, CAST(:selection AS uuid), CAST(:name AS text),
       CAST(:level AS smallint), CAST(:reason AS text), CAST(:state AS text),
       CAST(:uid AS text), CAST(:role AS text), l.feed_id, l.entity_id, l.entity_type,
       jsonb_build_object('command', jsonb_build_object('type', 'Property', 'value',
           jsonb_strip_nulls(jsonb_build_object(
               'id', CAST(l.uid AS text), 'name', CAST(:name AS text),
               'level', CAST(:level AS smallint))))),
       CAST(:expected AS jsonb), CAST(:now AS timestamptz), CAST(:now AS timestamptz),
       CASE WHEN CAST(:state AS text) = 'queued' THEN CAST(:now AS timestamptz) END,
       CASE WHEN CAST(:state AS text) = 'pending_confirmation'
            THEN CAST(:confirm_by AS timestamptz) END
FROM (SELECT gen_random_uuid() AS uid, * FROM asset_live_states
      WHERE asset_id = ANY(:ids)) l
ORDER BY l.asset_id
RETURNING id, asset_id
"""
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))
# The older unsent commands of the same assets (not in flight) are superseded by the new.
_SUPERSEDE = text(
    """
UPDATE equipment_commands c
SET state = 'superseded', superseded_by_id = n.id, settled_at = CAST(:now AS timestamptz),
    expires_at = NULL
FROM unnest(CAST(:ids AS bigint[]), CAST(:asset_ids AS bigint[])) AS n(id, asset_id)
WHERE c.asset_id = n.asset_id AND c.id < n.id
  AND c.state IN ('pending_confirmation', 'queued')
  AND (c.lease_until IS NULL OR c.lease_until < CAST(:now AS timestamptz))
RETURNING c.id
"""
)


def command_of(name: str) -> Command:
    return COMMANDS[name]


def _check_kind(command: Command, kind: str) -> None:
    if command.asset_kind != kind:
        raise Unprocessable(
            "command_not_for_kind",
            command=command.name,
            kind=kind,
            commands=", ".join(BY_KIND.get(kind, ())) or "-",
            errors={"json": {"command": [f"not a command for a {kind}"]}},
        )


def _check_desks(session: Session, actor: Identity, asset_ids: list[int]) -> None:
    """Agents send commands only to the equipment their desks run."""
    if actor.role != Role.AGENT:
        return
    mine = set(actor.desks)
    refused = [
        row.reference
        for row in session.execute(_OWNERS, {"ids": asset_ids})
        if not mine.intersection(row.desks)
    ]
    if refused:
        refused.sort()
        raise Forbidden(
            "equipment_not_your_desk", count=len(refused), references=", ".join(refused[:5])
        )


def _accept(
    session: Session,
    actor: Identity,
    command: Command,
    asset_ids: list[int],
    data: dict,
    *,
    selection_id: str | None,
    now: datetime,
    config,
) -> list[int]:
    """Write one command per connected asset (flushes); returns their ids, in asset order."""
    state = "pending_confirmation" if command.two_person else "queued"
    rows = session.execute(
        _INSERT,
        {
            "ids": asset_ids,
            "selection": selection_id,
            "name": command.name,
            "level": data.get("level") if command.takes_level else None,
            "reason": data["reason"],
            "state": state,
            "uid": actor.uid,
            "role": actor.role.value,
            "expected": json.dumps(command.expects(data.get("level"))),
            "now": now,
            "confirm_by": now
            + timedelta(seconds=int(config["EQUIPMENT_CONFIRMATION_TIMEOUT_SECONDS"])),
        },
    ).all()
    ids = [row.id for row in rows]
    superseded = session.execute(
        _SUPERSEDE,
        {"ids": ids, "asset_ids": [row.asset_id for row in rows], "now": now},
    ).all()
    events.record(session, [row.id for row in superseded])
    events.record(session, ids, actor_uid=actor.uid, actor_role=actor.role.value, with_reason=True)
    if state == "queued" and ids:
        after_commit(session, DISPATCH)
    return ids


def _once(session: Session, claim: dict, work: Callable[[], tuple[dict, str | None]]):
    """``work`` at most once per Idempotency-Key; commits."""
    replay = idempotency.begin(session, **claim)
    if replay is not None:
        session.rollback()
        return replay
    body, location = work()
    outcome = idempotency.complete(session, **claim, status_code=201, body=body, location=location)
    session.commit()
    return outcome


def request_command(
    session: Session,
    *,
    actor: Identity,
    reference: str,
    data: dict,
    config,
    claim: dict,
    render: Callable[[EquipmentCommand], dict],
    now: datetime | None = None,
) -> idempotency.Outcome:
    """One command to one asset (409 when no feed reports it: a command cannot reach it)."""

    def work():
        moment = now or clock.now(session)
        asset = get_asset(session, reference)
        command = command_of(data["command"])
        _check_kind(command, asset.kind)
        _check_desks(session, actor, [asset.id])
        if session.get(AssetLiveState, asset.id) is None:
            raise Conflict("asset_not_connected", reference=reference)
        (command_id,) = _accept(
            session, actor, command, [asset.id], data, selection_id=None, now=moment, config=config
        )
        row = session.get(EquipmentCommand, command_id)
        session.refresh(row)
        return render(row), f"/v1/equipment-commands/{command_id}"

    return _once(session, claim, work)


# --- selections ------------------------------------------------------------------------------

_STREET = text(
    """
SELECT a.id FROM assets a
WHERE a.kind = :kind AND a.status <> 'removed'
  AND EXISTS (SELECT 1 FROM addresses ad
              WHERE lower(ad.nom_voie) = lower(:name)
                AND (CAST(:commune AS text) IS NULL OR ad.commune_insee = :commune)
                AND ST_DWithin(ad.geom_l93, a.geom_l93, :within))
ORDER BY a.id
"""
)
_POLYGON = text(
    """
SELECT a.id FROM assets a
WHERE a.kind = :kind AND a.status <> 'removed'
  AND ST_Covers(ST_SetSRID(ST_GeomFromGeoJSON(:polygon), 4326), a.geom)
ORDER BY a.id
"""
)


def selected_assets(session: Session, kind: str, selection: dict) -> tuple[list[int], list]:
    """The assets of ``kind`` a selection names: ``(ids, [(reference, reason)...])``."""
    if selection.get("references") is not None:
        references = list(dict.fromkeys(selection["references"]))
        found = {
            a.reference: a
            for a in session.execute(
                select(Asset.id, Asset.reference, Asset.kind).where(Asset.reference.in_(references))
            )
        }
        skipped = [(r, "asset_not_found") for r in references if r not in found]
        for reference, asset in found.items():
            if asset.kind != kind:
                raise Unprocessable(
                    "command_not_for_kind",
                    command=selection.get("command", "?"),
                    kind=asset.kind,
                    commands=", ".join(BY_KIND.get(asset.kind, ())) or "-",
                    errors={
                        "json": {"selection": {"references": [f"{reference}: a {asset.kind}"]}}
                    },
                )
        return sorted(a.id for a in found.values()), skipped
    if selection.get("polygon") is not None:
        polygon = selection["polygon"]
        try:
            geom = shape(polygon)
        except Exception as exc:  # shapely raises many kinds on malformed coordinates
            raise _bad_polygon("not a GeoJSON polygon") from exc
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            raise _bad_polygon("not a Polygon or MultiPolygon")
        if not geom.is_valid:
            raise _bad_polygon(shapely.is_valid_reason(geom)[:100])
        west, south, east, north = geom.bounds
        if west < -180 or east > 180 or south < -90 or north > 90:
            raise _bad_polygon("outside longitude -180..180, latitude -90..90")
        ids = list(
            session.scalars(
                _POLYGON, {"kind": kind, "polygon": json.dumps(shapely.geometry.mapping(geom))}
            )
        )
        return ids, []
    street = selection["street"]
    known = session.scalar(
        text(
            "SELECT EXISTS (SELECT 1 FROM addresses WHERE lower(nom_voie) = lower(:name)"
            " AND (CAST(:commune AS text) IS NULL OR commune_insee = :commune))"
        ),
        {"name": street["name"], "commune": street.get("commune_insee")},
    )
    if not known:
        raise Unprocessable(
            "street_not_found",
            name=street["name"],
            errors={"json": {"selection": {"street": {"name": ["unknown street"]}}}},
        )
    ids = list(
        session.scalars(
            _STREET,
            {
                "kind": kind,
                "name": street["name"],
                "commune": street.get("commune_insee"),
                "within": street["within_m"],
            },
        )
    )
    return ids, []


def _bad_polygon(reason: str) -> Unprocessable:
    return Unprocessable(
        "invalid_polygon",
        reason=reason,
        errors={"json": {"selection": {"polygon": [reason]}}},
    )


def request_selection(
    session: Session,
    *,
    actor: Identity,
    data: dict,
    config,
    claim: dict,
    render: Callable[[list[EquipmentCommand]], list[dict]],
    now: datetime | None = None,
) -> idempotency.Outcome:
    """One command per asset of a selection, in one transaction. The assets no feed
    reports are skipped (listed with the reason)."""

    def work():
        moment = now or clock.now(session)
        command = command_of(data["command"])
        ids, skipped = selected_assets(
            session, command.asset_kind, {**data["selection"], "command": command.name}
        )
        limit = int(config["EQUIPMENT_SELECTION_MAX"])
        if len(ids) > limit:
            raise Unprocessable("selection_too_large", count=len(ids), limit=limit)
        if not ids:
            raise Unprocessable("selection_empty", kind=command.asset_kind)
        _check_desks(session, actor, ids)
        connected = set(
            session.scalars(select(AssetLiveState.asset_id).where(AssetLiveState.asset_id.in_(ids)))
        )
        if not connected:
            raise Conflict(
                "asset_not_connected",
                reference=", ".join(
                    session.scalars(select(Asset.reference).where(Asset.id.in_(ids[:5])))
                ),
            )
        not_connected = [i for i in ids if i not in connected]
        if not_connected:
            skipped += [
                (reference, "asset_not_connected")
                for reference in session.scalars(
                    select(Asset.reference)
                    .where(Asset.id.in_(not_connected))
                    .order_by(Asset.reference)
                )
            ]
        selection_id = str(uuid.uuid4())
        command_ids = _accept(
            session,
            actor,
            command,
            sorted(connected),
            data,
            selection_id=selection_id,
            now=moment,
            config=config,
        )
        commands = list(
            session.scalars(
                select(EquipmentCommand)
                .where(EquipmentCommand.id.in_(command_ids))
                .order_by(EquipmentCommand.id)
            )
        )
        body = {
            "selection_id": selection_id,
            "command": command.name,
            "count": len(commands),
            "commands": render(commands),
            "skipped": [{"reference": r, "reason": why} for r, why in skipped],
        }
        return body, None

    return _once(session, claim, work)


# --- the second person, and withdrawal -------------------------------------------------------


def get_command(session: Session, command_id: int, *, lock: bool = False) -> EquipmentCommand:
    query = select(EquipmentCommand).where(EquipmentCommand.id == command_id)
    if lock:
        query = query.with_for_update()
    command = session.scalar(query)
    if command is None:
        raise NotFound("command_not_found", id=command_id)
    return command


def confirm(
    session: Session,
    actor: Identity,
    command_id: int,
    note: str | None,
    now: datetime | None = None,
) -> EquipmentCommand:
    """A supervisor other than the requester confirms a two-person command: it is queued."""
    return _decide(session, actor, command_id, note, "queued", now)


def reject(
    session: Session,
    actor: Identity,
    command_id: int,
    note: str | None,
    now: datetime | None = None,
) -> EquipmentCommand:
    """A supervisor other than the requester refuses a two-person command."""
    return _decide(session, actor, command_id, note, "rejected", now)


def _decide(session, actor, command_id, note, state, now) -> EquipmentCommand:
    moment = now or clock.now(session)
    command = get_command(session, command_id, lock=True)
    if command.state != "pending_confirmation":
        raise Conflict("command_not_pending", state=command.state)
    if command.requested_by == actor.uid:
        raise Forbidden("command_second_person_required")
    command.state = state
    command.decided_by = actor.uid
    command.decision_note = note
    command.expires_at = None
    if state == "queued":
        command.queued_at = moment
        command.next_attempt_at = moment
        after_commit(session, DISPATCH)
    else:
        command.settled_at = moment
    session.flush()
    events.record(session, [command.id], actor_uid=actor.uid, actor_role=actor.role.value)
    session.commit()
    return command


def cancel(
    session: Session,
    actor: Identity,
    command_id: int,
    note: str | None,
    now: datetime | None = None,
) -> EquipmentCommand:
    """Its requester or a supervisor withdraws a command not sent yet (409 once in flight)."""
    moment = now or clock.now(session)
    command = get_command(session, command_id, lock=True)
    if command.requested_by != actor.uid and actor.role != Role.SUPERVISOR:
        raise Forbidden("command_not_yours")
    if command.state not in UNSENT_STATES:
        raise Conflict("command_not_cancellable", state=command.state)
    if command.lease_until is not None and command.lease_until >= moment:
        raise Conflict("command_in_flight", headers={"Retry-After": "5"})
    command.state = "cancelled"
    command.decided_by = actor.uid
    command.decision_note = note
    command.settled_at = moment
    command.expires_at = None
    session.flush()
    events.record(session, [command.id], actor_uid=actor.uid, actor_role=actor.role.value)
    session.commit()
    return command


# --- reading ---------------------------------------------------------------------------------


def history(session: Session, reference: str, *, after: int | None = None, limit: int = 50) -> dict:
    """A page of the asset's commands, newest first (keyset on id)."""
    asset = get_asset(session, reference)
    query = (
        select(EquipmentCommand)
        .where(EquipmentCommand.asset_id == asset.id)
        .order_by(EquipmentCommand.id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(EquipmentCommand.id < after)
    return paginate(list(session.scalars(query)), limit, lambda c: [c.id])


def parse_cursor(cursor: str | None) -> int | None:
    key = decode_cursor(cursor, 1, lambda k: [int(k[0])])
    return key[0] if key else None


def references_of(session: Session, asset_ids) -> dict[int, str]:
    ids = list(set(asset_ids))
    return dict(session.execute(select(Asset.id, Asset.reference).where(Asset.id.in_(ids))).all())


# The live state as the API gives it, for one asset or many (GeoJSON): stale past the
# feed's freshness limit (plus the source's ttl), as the mobility reads say it.
LIVE = text(
    """
SELECT l.asset_id, l.observed_at, l.status, l.power_state, l.dimming_level, l.control_mode,
       l.mode, l.online, l.fault, l.last_fault, l.last_fault_at, l.entity_id, f.name AS feed,
       l.observed_at < coalesce(CAST(:now AS timestamptz), now())
           - make_interval(secs => f.freshness_limit_seconds + f.source_ttl_seconds) AS stale
FROM asset_live_states l JOIN feeds f ON f.id = l.feed_id
WHERE l.asset_id = ANY(:ids)
"""
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


def live_states(session: Session, asset_ids, now: datetime | None = None) -> dict[int, dict]:
    """``{asset id: live state}`` of the assets a feed reports (others: absent)."""
    ids = list(asset_ids)
    if not ids:
        return {}
    rows = session.execute(LIVE, {"ids": ids, "now": now}).mappings()
    return {row["asset_id"]: present_live(row) for row in rows}


def present_live(row) -> dict:
    out = {
        "observed_at": row["observed_at"],
        "stale": bool(row["stale"]),
        "feed": row["feed"],
        "entity_id": row["entity_id"],
        "status": row["status"],
        "fault": row["fault"],
        "last_fault": row["last_fault"],
        "last_fault_at": row["last_fault_at"],
        "power_state": row["power_state"],
        "dimming_level": row["dimming_level"],
        "control_mode": row["control_mode"],
        "mode": row["mode"],
        "online": row["online"],
    }
    return out
