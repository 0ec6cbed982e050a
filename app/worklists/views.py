import json
from dataclasses import asdict

from flask import Response, current_app, request
from flask.views import MethodView

from app import cache as shared_cache
from app import conditional
from app.auth.identity import current_identity, roles_required
from app.errors import PROBLEM_DOC, Unprocessable
from app.extensions import Blueprint, db
from app.geo.arguments import parse_bbox, parse_point
from app.geojson import page_as_features
from app.organisation.schemas import CODE_PATTERN
from app.pagination import page_size
from app.readonly import read_only
from app.reports.models import OPEN_STATUSES
from app.users.models import Role
from app.worklists import cache as queue_cache
from app.worklists import service
from app.worklists.queries import Filters
from app.worklists.schemas import (
    CrewSyncSchema,
    DeskPathSchema,
    QueueArgsSchema,
    QueueCountsSchema,
    QueueFilterArgsSchema,
    SyncArgsSchema,
    TicketArgsSchema,
    WorkCollectionSchema,
    WorkPageSchema,
)

blp = Blueprint(
    "queue",
    __name__,
    url_prefix="/v1",
    description="Work lists: the desks' queues (agents, supervisors) and the crews' tickets",
)

DESK_PARAMETER = [
    {
        "in": "path",
        "name": "desk",
        "required": True,
        "schema": {"type": "string", "pattern": CODE_PATTERN, "maxLength": 40},
    }
]
DESK_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
NOT_YOUR_DESK = "Not one of the agent's desks (not_your_desk)"
BAD_AREA = (
    "Invalid bbox or near (invalid_area), near outside metropolitan France "
    "(position_out_of_range), sort=distance without near (near_required)"
)


def as_json(body: dict) -> Response:
    """A work-list page, already in its wire format, serialised straight to JSON: dumping
    50 items through marshmallow cost about as much as the rest of the page (see
    benchmarks/bench_queue.py). The schemas still document the shape, and the schemathesis
    run checks every response against them."""
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


def page_text(page: dict) -> str:
    """A work-list page whose items are JSON text already (PostgreSQL's: queries.
    item_document), written as :func:`as_json` would write it."""
    items, after = ", ".join(page["items"]), json.dumps(page["next_cursor"])
    return f'{{"items": [{items}], "next_cursor": {after}}}'


def desk_cached(desk: str, arguments: dict, build) -> Response:
    """The desk's document ``build()`` writes (JSON text), from the server-side cache when
    it holds it at the desk's current version (app/worklists/cache.py), tagged for
    conditional GETs. The caller's right to the desk is checked first: an entry is shared
    by every caller allowed to see the desk, and only by them."""
    service.check_desk(current_identity(), desk)
    document = {"path": request.path, "arguments": arguments}

    def build_entry() -> shared_cache.Entry:
        body = build().encode()
        return shared_cache.Entry(body, "application/json", conditional.etag_of(body, 32), None)

    entry = shared_cache.fetch(
        queue_cache.for_app(current_app), db.session, document, build_entry, {"desk": desk}
    )
    return conditional.private(entry.response(), etag=entry.etag)


def filters(args: dict) -> Filters:
    return Filters(
        statuses=tuple(dict.fromkeys(args["status"])) or OPEN_STATUSES,
        categories=tuple(args["category"]),
        communes=tuple(args["commune"]),
        crews=tuple(args["crew"]),
        priorities=tuple(args["priority"]),
        overdue=args["overdue"],
        bbox=parse_bbox(args["bbox"]) if args["bbox"] else None,
        text=args["q"],
    )


def normalised(args: dict) -> dict:
    """The queue's arguments as its page depends on them (equivalent URLs share an entry;
    bad ones are refused here, before the cache)."""
    return {
        **asdict(filters(args)),
        "sort": args["sort"],
        "near": parse_point(args["near"]) if args["near"] else None,
        "cursor": args["cursor"],
        "limit": page_size(args["limit"]),
    }


def _queue_page(desk: str, args: dict, *, documents: bool = False) -> dict:
    return service.desk_queue(
        db.session,
        viewer=current_identity(),
        desk=desk,
        filters=filters(args),
        sort=args["sort"],
        near=parse_point(args["near"]) if args["near"] else None,
        cursor=args["cursor"],
        limit=page_size(args["limit"]),
        documents=documents,
    )


@blp.route("/desks/<string:desk>/queue", parameters=DESK_PARAMETER)
class DeskQueue(MethodView):
    @roles_required(blp, *DESK_ROLES)
    @blp.arguments(DeskPathSchema, location="path", as_kwargs=True)
    @blp.arguments(QueueArgsSchema, location="query")
    @blp.response(200, WorkPageSchema)
    @blp.alt_response(400, description="Cursor not issued by this list", **PROBLEM_DOC)
    @blp.alt_response(404, description="No such desk", **PROBLEM_DOC)
    @blp.alt_response(422, description=BAD_AREA, **PROBLEM_DOC)
    @read_only
    def get(self, args, desk):
        """A desk's queue: its open reports by default, filtered and sorted (cursor
        paginated). Agents see their own desks; supervisors and admins every desk."""
        return desk_cached(
            desk, normalised(args), lambda: page_text(_queue_page(desk, args, documents=True))
        )


@blp.route("/desks/<string:desk>/queue/geojson", parameters=DESK_PARAMETER)
class DeskQueueGeoJSON(MethodView):
    @roles_required(blp, *DESK_ROLES)
    @blp.arguments(DeskPathSchema, location="path", as_kwargs=True)
    @blp.arguments(QueueArgsSchema, location="query")
    @blp.response(200, WorkCollectionSchema)
    @blp.alt_response(400, description="Cursor not issued by this list", **PROBLEM_DOC)
    @blp.alt_response(404, description="No such desk", **PROBLEM_DOC)
    @blp.alt_response(422, description=BAD_AREA, **PROBLEM_DOC)
    @read_only
    def get(self, args, desk):
        """The same queue as a GeoJSON FeatureCollection for the map (`next_cursor`
        included)"""
        return as_json(page_as_features(_queue_page(desk, args)))


@blp.route("/desks/<string:desk>/queue/counts", parameters=DESK_PARAMETER)
class DeskQueueCounts(MethodView):
    @roles_required(blp, *DESK_ROLES)
    @blp.arguments(DeskPathSchema, location="path", as_kwargs=True)
    @blp.arguments(QueueFilterArgsSchema, location="query")
    @blp.response(200, QueueCountsSchema)
    @blp.alt_response(404, description="No such desk", **PROBLEM_DOC)
    @blp.alt_response(422, description="Invalid bbox (invalid_area)", **PROBLEM_DOC)
    @read_only
    def get(self, args, desk):
        """The desk header: how many reports per state (and overdue) under the same filters
        as the queue, the states asked for split out (default: the open ones)"""
        wanted = filters(args)
        return desk_cached(
            desk,
            asdict(wanted),
            lambda: json.dumps(
                service.queue_counts(
                    db.session, viewer=current_identity(), desk=desk, filters=wanted
                ),
                ensure_ascii=False,
            ),
        )


@blp.route("/crews/me/tickets")
class CrewTickets(MethodView):
    @roles_required(blp, Role.CREW)
    @blp.arguments(TicketArgsSchema, location="query")
    @blp.response(200, WorkPageSchema)
    @blp.alt_response(400, description="Cursor not issued by this list", **PROBLEM_DOC)
    @blp.alt_response(
        422,
        description="lon without lat or the reverse (position_incomplete), or a position "
        "outside metropolitan France (position_out_of_range)",
        **PROBLEM_DOC,
    )
    def get(self, args):
        """The caller's crew's open tickets (assigned, in progress): nearest to the tablet
        first when it sends lon and lat, else most urgent first (cursor paginated)"""
        return as_json(
            service.crew_tickets(
                db.session,
                viewer=current_identity(),
                position=tablet_position(args),
                cursor=args["cursor"],
                limit=page_size(args["limit"]),
            )
        )


@blp.route("/crews/me/sync")
class CrewSync(MethodView):
    @roles_required(blp, Role.CREW)
    @blp.arguments(SyncArgsSchema, location="query")
    @blp.response(200, CrewSyncSchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    def get(self, args):
        """Everything that changed for the caller's crew since the last sync: tickets added
        or changed (with their versions, for If-Match when replaying offline work), tickets
        taken away, and the next cursor. Without `since`: the full list."""
        return as_json(
            service.crew_sync(
                db.session, viewer=current_identity(), since=service.sync_since(args["since"])
            )
        )


def tablet_position(args: dict) -> tuple[float, float] | None:
    lon, lat = args["lon"], args["lat"]
    if (lon is None) != (lat is None):
        missing = "lat" if lat is None else "lon"
        raise Unprocessable(
            "position_incomplete", errors={"query": {missing: ["give lon and lat together"]}}
        )
    return None if lon is None else (lon, lat)
