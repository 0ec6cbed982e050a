"""Triage over HTTP: one POST per action on a report, bulk actions, the report's history,
and the message templates. Every write takes If-Match with the report's ETag."""

import json

from flask import Response, request
from flask.views import MethodView

from app.auth.identity import current_identity, roles_required
from app.conditional import if_match_versions
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.idempotency import service as idempotency
from app.pagination import decode_cursor, encode_cursor, page_size
from app.reports.presentation import REPORT_ID_PARAMETER, report_view
from app.reports.schemas import ReportIdPathSchema, ReportViewSchema
from app.triage import history, pipeline, templates, transitions
from app.triage.schemas import (
    TEMPLATE_STATUSES,
    AvailableActionsSchema,
    BulkOutSchema,
    CategoryTemplatePathSchema,
    HistoryArgsSchema,
    HistorySchema,
    TemplateInSchema,
    TemplateSchema,
    TemplateStatusPathSchema,
    bulk_schema,
)
from app.users.models import Role

blp = Blueprint(
    "triage",
    __name__,
    url_prefix="/v1",
    description="The life of a ticket: actions on reports (If-Match required), bulk actions, "
    "history, resident-facing message templates",
)

IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": "Optional: a unique key per write (a UUID), so that a retry, or an offline "
    "batch replayed twice, gets the first answer back and changes nothing (kept 24 hours). "
    "Crews replaying offline work also send `client_at`: a write whose ticket changed "
    "meanwhile still applies if the ticket is theirs and the action allowed from its state "
    "now, else 409 `offline_conflict` with both versions.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "The report's ETag from GET /v1/reports/{report_id} or the last action: "
    "a stale one gets 412 with the current report, a missing one 428 (`*` is not accepted).",
    "schema": {"type": "string", "maxLength": 200},
}
ETAG_HEADER = {"ETag": {"description": "The report's new version", "schema": {"type": "string"}}}
REPORT_VIEW = ReportViewSchema()


def render(report) -> dict:
    """The same, serialised: the `current` member of a 412."""
    return REPORT_VIEW.dump(report_view(report))


def _once(identity, report_id: int, action: str, key: str, data: dict) -> Response:
    """An action under an Idempotency-Key: done once, its first answer given to retries."""
    outcome = pipeline.perform_once(
        db.session,
        claim={
            "owner": identity.uid,
            "scope": f"POST /v1/reports/{report_id}/actions/{action}",
            "key": key,
            "request_fingerprint": idempotency.fingerprint(
                {"body": request.get_json(silent=True), "if_match": request.headers.get("If-Match")}
            ),
        },
        actor=identity,
        report_id=report_id,
        action=action,
        versions=if_match_versions(),
        params=data,
        render=render,
    )
    response = Response(
        json.dumps(outcome.body), status=outcome.status_code, mimetype="application/json"
    )
    response.headers["ETag"] = f'"{outcome.body["version"]}"'
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _action_view(entry: transitions.Action):
    action, schema = entry.name, entry.schema

    def post(self, data, report_id):
        identity = current_identity()
        if identity.role == Role.RESIDENT:  # a resident's words are not a public message
            data = {key: data[key] for key in ("reason", "client_at") if key in data}
        key = request.headers.get("Idempotency-Key")
        if key is not None:
            return _once(identity, report_id, action, idempotency.check_key(key), data)
        report = pipeline.perform(
            db.session,
            actor=identity,
            report_id=report_id,
            action=action,
            versions=if_match_versions(),
            params=data,
            render=render,
        )
        return report_view(report), {"ETag": pipeline.etag(report)}

    roles = sorted(transitions.roles_for(action))
    post.__doc__ = f"{entry.summary}\n\n" + "; ".join(
        transitions.describe(action, role) for role in roles
    )
    decorators = (
        roles_required(blp, *roles),
        blp.doc(parameters=[IF_MATCH_PARAMETER, IDEMPOTENCY_KEY_PARAMETER]),
        blp.arguments(ReportIdPathSchema, location="path", as_kwargs=True),
        # A body is optional where every field is (acknowledge, close, start...).
        blp.arguments(schema, required=any(field.required for field in schema().fields.values())),
        blp.response(200, ReportViewSchema, headers=ETAG_HEADER),
        blp.alt_response(403, description="Not your desk, crew or report", **PROBLEM_DOC),
        blp.alt_response(404, description="No such report", **PROBLEM_DOC),
        blp.alt_response(
            409,
            description="Not allowed from the current state (transition_not_allowed: the "
            "state and what is allowed), an offline write overtaken by a newer change "
            "(offline_conflict: `yours` and `current`), or another conflict",
            **PROBLEM_DOC,
        ),
        blp.alt_response(
            412, description="Stale If-Match: `current` is the report now", **PROBLEM_DOC
        ),
        blp.alt_response(
            422,
            description="Invalid or unknown value, or an impossible device time "
            "(client_at_out_of_range)",
            **PROBLEM_DOC,
        ),
        blp.alt_response(428, description="If-Match missing", **PROBLEM_DOC),
    )
    for decorator in reversed(decorators):
        post = decorator(post)
    view = type(f"Action_{action}", (MethodView,), {"post": post})
    blp.route(
        f"/reports/<int:report_id>/actions/{action.replace('_', '-')}",
        parameters=REPORT_ID_PARAMETER,
        endpoint=f"action_{action}",
    )(view)


for _entry in transitions.ENTRIES.values():
    _action_view(_entry)


def _bulk_view(entry: transitions.Action):
    action = entry.name

    def post(self, data):
        items = data.pop("reports")
        return {
            "results": pipeline.perform_many(
                db.session, actor=current_identity(), action=action, items=items, params=data
            )
        }

    post.__doc__ = (
        f"{entry.summary}, for a selection: each report with the version the agent saw\n\n"
        "Each report is done in its own transaction and gets its own result (what the single "
        "action would have answered: 200, or the problem's status and code), so one stale or "
        "refused report does not undo the others."
    )
    decorators = (
        roles_required(blp, *sorted(transitions.roles_for(action))),
        blp.arguments(bulk_schema(entry.schema)),
        blp.response(200, BulkOutSchema),
    )
    for decorator in reversed(decorators):
        post = decorator(post)
    view = type(f"Bulk_{action}", (MethodView,), {"post": post})
    blp.route(f"/reports/bulk-actions/{action}", endpoint=f"bulk_{action}")(view)


for _entry in transitions.ENTRIES.values():
    if _entry.bulk:
        _bulk_view(_entry)


@blp.route("/reports/<int:report_id>/actions", parameters=REPORT_ID_PARAMETER)
class AvailableActions(MethodView):
    @roles_required(blp)
    @blp.arguments(ReportIdPathSchema, location="path", as_kwargs=True)
    @blp.response(200, AvailableActionsSchema)
    @blp.alt_response(403, description="Out of the caller's reach", **PROBLEM_DOC)
    @blp.alt_response(404, description="No such report", **PROBLEM_DOC)
    def get(self, report_id):
        """The actions the caller may do on the report now, from the transition table (its
        role, the report's state, time limits): what the console offers on a ticket"""
        report, actions = pipeline.available(db.session, current_identity(), report_id)
        return {"status": report.status, "version": report.version, "actions": list(actions)}


@blp.route("/reports/<int:report_id>/history", parameters=REPORT_ID_PARAMETER)
class History(MethodView):
    @roles_required(blp)
    @blp.arguments(ReportIdPathSchema, location="path", as_kwargs=True)
    @blp.arguments(HistoryArgsSchema, location="query")
    @blp.response(200, HistorySchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    @blp.alt_response(404, description="No such report", **PROBLEM_DOC)
    def get(self, args, report_id):
        """The report's history, oldest first: residents see state changes and public
        updates with the time and the desk; staff also see who, internal notes and details"""
        after = decode_cursor(args.get("cursor"), 1, lambda key: [int(key[0])])
        page = history.history(
            db.session,
            viewer=current_identity(),
            report_id=report_id,
            after=after[0] if after else None,
            limit=page_size(args.get("limit")),
        )
        cursor = page["next_cursor"]
        return {**page, "next_cursor": None if cursor is None else encode_cursor([cursor])}


STATUS_PARAMETER = {
    "in": "path",
    "name": "status",
    "required": True,
    "schema": {"type": "string", "enum": list(TEMPLATE_STATUSES)},
}
CATEGORY_PARAMETER = {
    "in": "path",
    "name": "code",
    "required": True,
    "schema": {"type": "string", "pattern": r"^[a-z][a-z0-9_-]{0,39}$", "maxLength": 40},
}
EDITORS = (Role.SUPERVISOR, Role.ADMIN)


@blp.route("/message-templates")
class Templates(MethodView):
    @roles_required(blp, Role.AGENT, *EDITORS)
    @blp.response(200, TemplateSchema(many=True))
    def get(self):
        """Resident-facing messages per state: the defaults (category null), then the
        categories' own"""
        return templates.list_templates(db.session)


@blp.route("/message-templates/default/<string:status>", parameters=[STATUS_PARAMETER])
class DefaultTemplate(MethodView):
    @roles_required(blp, *EDITORS)
    @blp.arguments(TemplateStatusPathSchema, location="path", as_kwargs=True)
    @blp.arguments(TemplateInSchema)
    @blp.response(200, TemplateSchema)
    @blp.alt_response(422, description="Unknown placeholder (invalid_template)", **PROBLEM_DOC)
    def put(self, data, status):
        """Replace the default message of a state (for categories without their own)"""
        return templates.put_template(
            db.session, actor=current_identity(), status=status, category_code=None, **data
        )


@blp.route(
    "/message-templates/categories/<string:code>/<string:status>",
    parameters=[CATEGORY_PARAMETER, STATUS_PARAMETER],
)
class CategoryTemplate(MethodView):
    @roles_required(blp, *EDITORS)
    @blp.arguments(CategoryTemplatePathSchema, location="path", as_kwargs=True)
    @blp.arguments(TemplateInSchema)
    @blp.response(200, TemplateSchema)
    @blp.alt_response(404, description="No such category", **PROBLEM_DOC)
    @blp.alt_response(422, description="Unknown placeholder (invalid_template)", **PROBLEM_DOC)
    def put(self, data, code, status):
        """Create or replace a category's own message for a state"""
        return templates.put_template(
            db.session, actor=current_identity(), status=status, category_code=code, **data
        )

    @roles_required(blp, *EDITORS)
    @blp.arguments(CategoryTemplatePathSchema, location="path", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, description="No such category or template", **PROBLEM_DOC)
    def delete(self, code, status):
        """Remove a category's own message: the state's default applies again"""
        templates.delete_template(db.session, category_code=code, status=status)
