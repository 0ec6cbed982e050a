"""Equipment commands over HTTP: request (one asset or a selection), confirm, reject,
cancel, and an asset's command history. The live state is on the assets' own reads
(app/assets/views.py)."""

import json

from flask import Response, current_app, request
from flask.views import MethodView

from app.assets.models import REFERENCE_PATTERN
from app.assets.schemas import AssetReferencePathSchema
from app.auth.identity import current_identity, roles_required
from app.equipment import queries, service
from app.equipment.commands import COMMANDS, described
from app.equipment.models import EquipmentCommand
from app.equipment.schemas import (
    CommandIdPathSchema,
    CommandInSchema,
    CommandOptionsSchema,
    CommandPageSchema,
    CommandSchema,
    DecisionSchema,
    HistoryArgsSchema,
    OpenTicketListSchema,
    OptionsArgsSchema,
    SelectionInSchema,
    SelectionOutSchema,
    SelectionPreviewSchema,
)
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.idempotency import service as idempotency
from app.pagination import page_size

blp = Blueprint(
    "equipment",
    __name__,
    url_prefix="/v1",
    description="Remote commands to the city's equipment (street lights, traffic signals), "
    "sent to the context broker as NGSI-LD PATCHes and confirmed by the reported state",
)

IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": True,
    "description": "A unique key per request (a UUID). Retries with the same key and body get "
    "the original response and create nothing; keys are kept 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
COMMAND_ID_PARAMETER = [
    {"in": "path", "name": "command_id", "required": True, "schema": {"type": "integer"}}
]
COMMAND = CommandSchema()
REFERENCE_PARAMETER = [
    {
        "in": "path",
        "name": "reference",
        "required": True,
        "schema": {"type": "string", "pattern": REFERENCE_PATTERN, "maxLength": 64},
    }
]


def present(command: EquipmentCommand, reference: str) -> dict:
    return {
        "id": command.id,
        "uid": command.uid,
        "asset": reference,
        "selection_id": command.selection_id,
        "command": command.name,
        "level": command.level,
        "reason": command.reason,
        "state": command.state,
        "requested_by": command.requested_by,
        "requested_role": command.requested_role,
        "decided_by": command.decided_by,
        "decision_note": command.decision_note,
        "needs_second_person": COMMANDS[command.name].two_person,
        "expected": command.expected,
        "before": command.before,
        "after": command.after,
        "attempts": command.attempts,
        "last_error": command.last_error,
        "superseded_by": command.superseded_by_id,
        "created_at": command.created_at,
        "queued_at": command.queued_at,
        "sent_at": command.sent_at,
        "expires_at": command.expires_at,
        "settled_at": command.settled_at,
    }


def present_many(commands: list[EquipmentCommand]) -> list[dict]:
    references = service.references_of(db.session, [c.asset_id for c in commands])
    return [present(c, references[c.asset_id]) for c in commands]


def _claim(scope: str, key: str) -> dict:
    return {
        "owner": current_identity().uid,
        "scope": scope,
        "key": key,
        "request_fingerprint": idempotency.fingerprint(request.get_json(silent=True)),
    }


def _answer(outcome: idempotency.Outcome) -> Response:
    response = Response(
        json.dumps(outcome.body), status=outcome.status_code, mimetype="application/json"
    )
    if outcome.location:
        response.headers["Location"] = outcome.location
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@blp.route("/assets/<string:reference>/commands", parameters=REFERENCE_PARAMETER)
class AssetCommands(MethodView):
    @roles_required(blp, *service.REQUESTERS)
    @blp.doc(parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @blp.arguments(AssetReferencePathSchema, location="path", as_kwargs=True)
    @blp.arguments(CommandInSchema)
    @blp.response(
        201,
        CommandSchema,
        headers={"Location": {"description": "URL of the command", "schema": {"type": "string"}}},
    )
    @blp.alt_response(400, description="Idempotency-Key missing or malformed", **PROBLEM_DOC)
    @blp.alt_response(
        403, description="An agent whose desk does not run this equipment", **PROBLEM_DOC
    )
    @blp.alt_response(404, description="No asset with this reference", **PROBLEM_DOC)
    @blp.alt_response(
        409,
        description="No feed reports this asset (asset_not_connected), or same key in progress",
        **PROBLEM_DOC,
    )
    @blp.alt_response(
        422, description="Invalid, or not a command for this kind of asset", **PROBLEM_DOC
    )
    def post(self, data, reference):
        """Send a command to one asset (Idempotency-Key required).

        Agents of a desk that runs the kind of equipment (a routing rule sends it the
        reports of that kind) and supervisors. A traffic-signal command waits for a second
        person's confirmation (a supervisor other than the requester); others are queued at
        once. A newer command supersedes an unsent older one of the same asset."""
        key = idempotency.check_key(request.headers.get("Idempotency-Key"))
        return _answer(
            service.request_command(
                db.session,
                actor=current_identity(),
                reference=reference,
                data=data,
                config=current_app.config,
                claim=_claim(f"POST /v1/assets/{reference}/commands", key),
                render=lambda command: COMMAND.dump(present(command, reference)),
            )
        )

    @roles_required(blp, *service.READERS)
    @blp.arguments(AssetReferencePathSchema, location="path", as_kwargs=True)
    @blp.arguments(HistoryArgsSchema, location="query")
    @blp.response(200, CommandPageSchema)
    @blp.alt_response(400, description="Invalid cursor", **PROBLEM_DOC)
    @blp.alt_response(404, description="No asset with this reference", **PROBLEM_DOC)
    def get(self, args, reference):
        """The asset's commands, newest first: its command history (cursor paginated)"""
        page = service.history(
            db.session,
            reference,
            after=service.parse_cursor(args["cursor"]),
            limit=page_size(args["limit"]),
        )
        return {**page, "items": [present(c, reference) for c in page["items"]]}


AssetCommands.post.__doc__ += "\n\nCommands: " + described()


@blp.route("/equipment-commands/selections")
class Selections(MethodView):
    @roles_required(blp, *service.REQUESTERS)
    @blp.doc(parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @blp.arguments(SelectionInSchema)
    @blp.response(201, SelectionOutSchema)
    @blp.alt_response(400, description="Idempotency-Key missing or malformed", **PROBLEM_DOC)
    @blp.alt_response(
        403, description="An agent whose desk does not run all of them", **PROBLEM_DOC
    )
    @blp.alt_response(
        409,
        description="None of them reported by a feed, or same key in progress",
        **PROBLEM_DOC,
    )
    @blp.alt_response(
        422,
        description="Invalid; empty or too large a selection; unknown street; bad polygon",
        **PROBLEM_DOC,
    )
    def post(self, data):
        """One command to each asset of a selection, in one transaction (Idempotency-Key
        required): a list of references, a polygon drawn on the map, or a street. Only the
        assets of the command's kind are taken from a polygon or a street; those no feed
        reports are skipped and listed."""
        key = idempotency.check_key(request.headers.get("Idempotency-Key"))
        return _answer(
            service.request_selection(
                db.session,
                actor=current_identity(),
                data=data,
                config=current_app.config,
                claim=_claim("POST /v1/equipment-commands/selections", key),
                render=lambda commands: CommandSchema(many=True).dump(present_many(commands)),
            )
        )


@blp.route("/equipment-commands/<int:command_id>", parameters=COMMAND_ID_PARAMETER)
class OneCommand(MethodView):
    @roles_required(blp, *service.READERS)
    @blp.arguments(CommandIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, CommandSchema)
    @blp.alt_response(404, description="No such command", **PROBLEM_DOC)
    def get(self, command_id):
        """One command and where it is in its life"""
        command = service.get_command(db.session, command_id)
        return present_many([command])[0]


def _decision_view(name: str, doc: str, roles, use_case):
    @roles_required(blp, *roles)
    @blp.arguments(CommandIdPathSchema, location="path", as_kwargs=True)
    @blp.arguments(DecisionSchema)
    @blp.response(200, CommandSchema)
    @blp.alt_response(404, description="No such command", **PROBLEM_DOC)
    @blp.alt_response(409, description="Not in a state that allows it", **PROBLEM_DOC)
    def post(self, data, command_id):
        command = use_case(db.session, current_identity(), command_id, data["note"])
        return present_many([command])[0]

    post.__doc__ = doc
    view = type(f"Command{name.title()}", (MethodView,), {"post": post})
    blp.route(f"/equipment-commands/<int:command_id>/{name}", parameters=COMMAND_ID_PARAMETER)(view)


_decision_view(
    "confirm",
    "Confirm a command awaiting a second person (a supervisor other than its requester): "
    "it is queued and sent",
    service.CONFIRMERS,
    service.confirm,
)
_decision_view(
    "reject",
    "Refuse a command awaiting a second person (a supervisor other than its requester)",
    service.CONFIRMERS,
    service.reject,
)
_decision_view(
    "cancel",
    "Withdraw a command not sent yet (its requester, or a supervisor)",
    service.REQUESTERS,
    service.cancel,
)


# --- what the console asks before offering a command (app/equipment/queries.py) -------------


@blp.route("/equipment-commands/options")
class CommandOptions(MethodView):
    @roles_required(blp, *service.READERS)
    @blp.arguments(OptionsArgsSchema, location="query")
    @blp.response(200, CommandOptionsSchema)
    @blp.alt_response(404, description="No asset with this reference", **PROBLEM_DOC)
    @blp.alt_response(422, description="Invalid reference", **PROBLEM_DOC)
    def get(self, args):
        """The commands the caller may send: to one asset (`asset`), or per kind of
        equipment (what a selection may ask); and whether the caller confirms others'
        two-person commands. The console offers these and no others."""
        return queries.options(db.session, current_identity(), args["asset"])


@blp.route("/equipment-commands/selections/preview")
class SelectionPreview(MethodView):
    @roles_required(blp, *service.REQUESTERS)
    @blp.arguments(SelectionInSchema)
    @blp.response(200, SelectionPreviewSchema)
    @blp.alt_response(
        403, description="An agent whose desk does not run all of them", **PROBLEM_DOC
    )
    @blp.alt_response(
        422,
        description="Invalid; empty or too large a selection; unknown street; bad polygon",
        **PROBLEM_DOC,
    )
    def post(self, data):
        """What POST /v1/equipment-commands/selections would do with this body, without
        doing it: the count and the assets it would reach, and those skipped (the console
        asks for confirmation with the count). Nothing is written."""
        return queries.preview(db.session, current_identity(), data, current_app.config)


@blp.route("/assets/<string:reference>/tickets", parameters=REFERENCE_PARAMETER)
class AssetTickets(MethodView):
    @roles_required(blp, *service.READERS)
    @blp.arguments(AssetReferencePathSchema, location="path", as_kwargs=True)
    @blp.response(200, OpenTicketListSchema)
    @blp.alt_response(404, description="No asset with this reference", **PROBLEM_DOC)
    def get(self, reference):
        """The open tickets on the asset (not resolved, closed, rejected or duplicate),
        newest first, at most 50"""
        return {
            "items": [
                {
                    "id": report.id,
                    "reference": report.reference,
                    "status": report.status,
                    "category": report.category.code,
                    "category_name_fr": report.category.name_fr,
                    "category_name_en": report.category.name_en,
                    "desk": report.desk.code if report.desk else None,
                    "created_at": report.created_at,
                    "due_at": report.due_at,
                }
                for report in queries.open_tickets(db.session, reference)
            ]
        }
