"""GET /v1/events: the console's live stream of report changes (server-sent events).

A stream holds one of its process's threads for as long as it is open (gunicorn's gthread
workers, app/ops/gunicorn_conf.py), never a database connection: the caller is
authenticated and its filter built before the first byte, and the request's session is
handed back when the view returns.
"""

import time

from flask import Response, current_app, g, request
from flask.views import MethodView

from app.auth.identity import ALL_DESKS_ROLES, Identity, current_identity, roles_required
from app.errors import PROBLEM_DOC, Problem
from app.extensions import Blueprint
from app.live.hub import (
    END,
    RESYNC,
    CommandChange,
    ReportChange,
    StreamsFull,
    server_sent_event,
)
from app.users.models import Role

blp = Blueprint(
    "live",
    __name__,
    url_prefix="/v1",
    description="Live updates for the control-room console: report changes as server-sent events",
)

# How long a new stream waits for its process's listener before its first byte.
LISTENING_WAIT_SECONDS = 5
STAFF = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.CREW)
# Who is told of equipment commands' progress (the console's equipment layer).
COMMAND_READERS = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)

EXAMPLE = (
    "retry: 2000\n\n"
    "event: report\nid: 4213:3\n"
    'data: {"id":4213,"reference":"DIJ-2026-004213","desk":"voirie","previous_desk":"voirie",'
    '"crew":"voirie-nord","previous_crew":null,"status":"assigned","version":3,'
    '"change":"updated"}\n\n'
    ": heartbeat\n\n"
    "event: resync\ndata: {}\n\n"
)


def hub():
    return current_app.extensions["signale.live"]


def accepts_for(identity: Identity):
    """The changes ``identity`` is told of: those of the reports it may work, or just
    moved away from it (so that its queue drops them)."""
    if identity.role in ALL_DESKS_ROLES:
        return lambda change: True
    if identity.role == Role.AGENT:
        desks = frozenset(identity.desks)
        return lambda change: change.desk in desks or change.previous_desk in desks
    crew = identity.crew
    if crew is None:
        return lambda change: False
    return lambda change: change.crew == crew or change.previous_crew == crew


@blp.route("/events")
class Events(MethodView):
    @roles_required(blp, *STAFF)
    @blp.doc(
        responses={
            "200": {
                "description": (
                    "An endless text/event-stream: `retry: 2000`, then an event `report` "
                    "per committed change of a report the caller works (agents: their "
                    "desks', or moved away from them; crews: their crew's, or taken from "
                    "it; supervisors and admins: every report), with `id: <report id>:"
                    "<version>` and `data` {id, reference, desk, previous_desk, crew, "
                    "previous_crew, status, version, change: created|updated}; an event "
                    "`resync` (data {}) when changes may have been missed (the server lost "
                    "its database connection, the client read too slowly, or the client "
                    "reconnects with Last-Event-ID): reload what is shown; a comment line "
                    "as heartbeat when idle; for agents, supervisors and admins, an event "
                    "`command` per change of state of an equipment command (data {id, asset, "
                    "kind, command, state, selection}: GET /v1/equipment-commands/{id} for "
                    "the rest). The stream ends when the token expires: "
                    "reconnect with a fresh one."
                ),
                "content": {
                    "text/event-stream": {"schema": {"type": "string"}, "example": EXAMPLE}
                },
            }
        }
    )
    @blp.alt_response(
        503,
        description="This process serves as many streams as it may (events_busy): retry "
        "after Retry-After seconds",
        **PROBLEM_DOC,
    )
    def get(self):
        """Live changes of the reports the caller works, for the control-room console
        (server-sent events; read it with fetch() to send the bearer token)"""
        identity = current_identity()
        config = current_app.config
        try:
            stream = hub().open(accepts_for(identity), commands=identity.role in COMMAND_READERS)
        except StreamsFull as exc:
            retry_after = int(config["EVENTS_RETRY_AFTER_SECONDS"])
            raise Problem(
                "events_busy",
                503,
                headers={"Retry-After": str(retry_after)},
                retry_after=retry_after,
            ) from exc
        expires_at = g.get("token_expires_at")
        deadline = time.time() + float(config["EVENTS_MAX_STREAM_SECONDS"])
        if expires_at is not None:
            deadline = min(deadline, expires_at)
        current_hub = hub()
        body = _events(
            current_hub,
            stream,
            deadline=deadline,
            heartbeat=float(config["EVENTS_HEARTBEAT_SECONDS"]),
            retry_ms=int(config["EVENTS_CLIENT_RETRY_MS"]),
            resync_first="Last-Event-ID" in request.headers,
        )
        response = Response(body, mimetype="text/event-stream")
        # Also when the body is never iterated (the client left before the first byte).
        response.call_on_close(lambda: current_hub.close(stream))
        response.headers["Cache-Control"] = "no-store"
        # nginx and its kin would otherwise buffer the stream and hold events back.
        response.headers["X-Accel-Buffering"] = "no"
        return response


def _events(hub, stream, *, deadline: float, heartbeat: float, retry_ms: int, resync_first):
    """The stream's body: runs outside the request's context (no session, no ``g``)."""
    try:
        # The first byte says the process is listening: a change committed after it reaches
        # this stream, so a console loads its data once the stream has opened. (Not
        # listening yet, as when the database is down: a resync follows when it is.)
        hub.wait_listening(LISTENING_WAIT_SECONDS)
        yield f"retry: {retry_ms}\n\n"
        if resync_first:
            # A reconnection: what happened since the last event it got was not kept.
            yield server_sent_event(RESYNC, {})
        while (remaining := deadline - time.time()) > 0:
            item = stream.next(timeout=min(heartbeat, remaining))
            if item is None:
                if deadline - time.time() > 0:
                    yield ": heartbeat\n\n"
            elif item == END:
                return
            elif item == RESYNC:
                yield server_sent_event(RESYNC, {})
            elif isinstance(item, ReportChange):
                yield server_sent_event("report", item.as_data(), f"{item.id}:{item.version}")
            elif isinstance(item, CommandChange):
                yield server_sent_event(
                    "command", item.as_data(), f"command:{item.id}:{item.state}"
                )
    finally:
        # The client went away (the next write failed) or the token expired.
        hub.close(stream)
