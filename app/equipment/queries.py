"""What the console asks before it offers a command: the commands a caller may send (to
one asset, or per kind for a selection), how many assets a selection would reach, and the
open tickets on an asset. Read side only: the same rules as the use cases (service.py)."""

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import String

from app.assets.models import Asset
from app.assets.service import get_asset
from app.auth.identity import Identity
from app.equipment import service
from app.equipment.commands import BY_KIND, COMMANDS
from app.equipment.models import AssetLiveState
from app.errors import Unprocessable
from app.reports.models import CLOSED_STATUSES, Report
from app.users.models import Role

# The kinds of equipment the desks run anywhere: an active routing rule sends them the
# reports of a category of that kind (whatever its zone: per asset, service._OWNERS).
_KINDS_OF_DESKS = text(
    """
SELECT DISTINCT c.asset_kind
FROM routing_rules r
JOIN categories c ON c.code = r.category_code AND c.active AND c.asset_kind IS NOT NULL
JOIN desks d ON d.id = r.desk_id
WHERE r.active AND d.code = ANY(:desks)
"""
).bindparams(bindparam("desks", type_=ARRAY(String)))


def _offer(names) -> list[dict]:
    return [
        {
            "command": name,
            "kind": COMMANDS[name].asset_kind,
            "takes_level": COMMANDS[name].takes_level,
            "needs_second_person": COMMANDS[name].two_person,
        }
        for name in names
    ]


def options(session: Session, actor: Identity, reference: str | None = None) -> dict:
    """The commands ``actor`` may send: to the asset ``reference`` (its desks, its feed), or
    without one, to some equipment of each kind (what a selection may ask)."""
    asset = get_asset(session, reference) if reference is not None else None
    if actor.role not in service.REQUESTERS:
        kinds: list[str] = []
    elif asset is None:
        if actor.role == Role.AGENT:
            run = set(session.scalars(_KINDS_OF_DESKS, {"desks": list(actor.desks)}))
            kinds = [kind for kind in BY_KIND if kind in run]
        else:
            kinds = list(BY_KIND)
    else:
        kinds = [asset.kind] if asset.kind in BY_KIND else []
        if kinds and actor.role == Role.AGENT:
            (row,) = session.execute(service._OWNERS, {"ids": [asset.id]}).all()
            if not set(actor.desks).intersection(row.desks):
                kinds = []
    out = {
        "commands": _offer(name for kind in kinds for name in BY_KIND[kind]),
        "confirms": actor.role in service.CONFIRMERS,
    }
    if asset is not None:
        out["connected"] = session.get(AssetLiveState, asset.id) is not None
    return out


def preview(session: Session, actor: Identity, data: dict, config) -> dict:
    """What POST /v1/equipment-commands/selections would do with ``data``, without doing
    it: how many commands, to which assets, which are skipped (same refusals: 403, 422)."""
    service.check_arguments(data)
    command = service.command_of(data["command"])
    ids, skipped = service.selected_assets(
        session, command.asset_kind, {**data["selection"], "command": command.name}
    )
    limit = int(config["EQUIPMENT_SELECTION_MAX"])
    if len(ids) > limit:
        raise Unprocessable("selection_too_large", count=len(ids), limit=limit)
    if not ids:
        raise Unprocessable("selection_empty", kind=command.asset_kind)
    service._check_desks(session, actor, ids)
    connected = set(
        session.scalars(select(AssetLiveState.asset_id).where(AssetLiveState.asset_id.in_(ids)))
    )
    references = dict(
        session.execute(select(Asset.id, Asset.reference).where(Asset.id.in_(ids))).all()
    )
    skipped = [{"reference": r, "reason": why} for r, why in skipped] + [
        {"reference": references[i], "reason": "asset_not_connected"}
        for i in ids
        if i not in connected
    ]
    return {
        "command": command.name,
        "kind": command.asset_kind,
        "count": len(connected),
        "references": sorted(references[i] for i in connected),
        "skipped": skipped,
        "needs_second_person": command.two_person,
    }


def open_tickets(session: Session, reference: str, limit: int = 50) -> list[Report]:
    """The tickets on the asset that are not closed, newest first."""
    asset = get_asset(session, reference)
    return list(
        session.scalars(
            select(Report)
            .where(Report.asset_id == asset.id, Report.status.not_in(CLOSED_STATUSES))
            .order_by(Report.id.desc())
            .limit(limit)
        )
    )
