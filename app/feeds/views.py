import hashlib
from datetime import timedelta

from flask import Response, current_app, json, request
from flask.views import MethodView

from app import clock
from app.auth.identity import roles_required
from app.errors import PROBLEM_DOC, Unprocessable
from app.extensions import Blueprint, db
from app.feeds import queries, service
from app.feeds.congestion import congestion_level
from app.feeds.models import NAME_PATTERN, Feed
from app.feeds.schemas import (
    BikeStationPageSchema,
    FeedInSchema,
    FeedNamePathSchema,
    FeedSchema,
    HistoryArgsSchema,
    NearArgsSchema,
    ParkingHistorySchema,
    ParkingIdPathSchema,
    ParkingPageSchema,
    PollRequestedSchema,
    TrafficArgsSchema,
    TrafficCollectionSchema,
    VehicleCollectionSchema,
)
from app.feeds.vocabulary import our_status
from app.geo.arguments import parse_bbox
from app.pagination import page_size
from app.users.models import Role

blp = Blueprint(
    "feeds",
    __name__,
    url_prefix="/v1/admin",
    description="City sensor feeds: registry and health (admins)",
)
mobility = Blueprint(
    "mobility",
    __name__,
    url_prefix="/v1/mobility",
    description="Live mobility information for residents: parking, bike stations, traffic, "
    "transit vehicles",
)

NAME_PARAMETER = [
    {
        "in": "path",
        "name": "name",
        "required": True,
        "schema": {"type": "string", "pattern": NAME_PATTERN, "maxLength": 63},
    }
]
TYPES = {"OffStreetParking": "off_street", "OnStreetParking": "on_street", "ParkingSpot": "spot"}
CACHE_HEADERS = {
    "ETag": {"description": "Entity tag of this answer", "schema": {"type": "string"}},
    "Cache-Control": {"description": "public, max-age=N", "schema": {"type": "string"}},
}
PARKING_PAGE = ParkingPageSchema()
PARKING_HISTORY = ParkingHistorySchema()
HISTORY_MAX = timedelta(days=31)
BIKE_PAGE = BikeStationPageSchema()
TRAFFIC = TrafficCollectionSchema()
VEHICLES = VehicleCollectionSchema()
VEHICLE_MEASURES = ("route_id", "trip_id", "bearing", "speed_kmh", "occupancy_status")


def present(feed: Feed) -> dict:
    if not feed.enabled:
        state = "disabled"
    elif feed.last_polled_at is None:
        state = "never_polled"
    elif feed.consecutive_failures:
        state = "failing"
    else:
        state = "ok"
    health = {
        key: getattr(feed, key)
        for key in (
            "last_polled_at",
            "last_success_at",
            "last_error_at",
            "last_error_code",
            "last_error",
            "consecutive_failures",
            "entities_seen",
            "entities_skipped",
            "skipped_examples",
            "source_ttl_seconds",
        )
    }
    return {
        "name": feed.name,
        "kind": feed.kind,
        "format": feed.format,
        "source_url": feed.source_url,
        "poll_interval_seconds": feed.poll_interval_seconds,
        "freshness_limit_seconds": feed.freshness_limit_seconds,
        "enabled": feed.enabled,
        "next_poll_at": feed.next_poll_at,
        "health": {"state": state, **health},
        "created_at": feed.created_at,
        "updated_at": feed.updated_at,
    }


@blp.route("/feeds")
class Feeds(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.response(200, FeedSchema(many=True))
    def get(self):
        """Every feed with its health, by name"""
        return [present(feed) for feed in service.list_feeds(db.session)]


@blp.route("/feeds/<string:name>", parameters=NAME_PARAMETER)
class AdminFeed(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(FeedNamePathSchema, location="path", as_kwargs=True)
    @blp.response(200, FeedSchema)
    @blp.alt_response(404, description="No feed with this name", **PROBLEM_DOC)
    def get(self, name):
        """One feed with its health"""
        return present(service.get_feed(db.session, name))

    @roles_required(blp, Role.ADMIN)
    @blp.arguments(FeedNamePathSchema, location="path", as_kwargs=True)
    @blp.arguments(FeedInSchema)
    @blp.response(200, FeedSchema)
    @blp.alt_response(
        422,
        description="Invalid field, or a format unable to carry this kind "
        "(feed_kind_format_mismatch: gbfs carries bikes, gtfs-rt vehicles)",
        **PROBLEM_DOC,
    )
    def put(self, data, name):
        """Create or replace a feed (its health and data are kept; it is polled soon)"""
        feed, _ = service.put_feed(db.session, name, data)
        return present(feed)

    @roles_required(blp, Role.ADMIN)
    @blp.arguments(FeedNamePathSchema, location="path", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, description="No feed with this name", **PROBLEM_DOC)
    def delete(self, name):
        """Delete a feed, its entities and their history (disable it to keep them)"""
        service.delete_feed(db.session, name)


@blp.route("/feeds/<string:name>/polls", parameters=NAME_PARAMETER)
class FeedPolls(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(FeedNamePathSchema, location="path", as_kwargs=True)
    @blp.response(202, PollRequestedSchema)
    @blp.alt_response(404, description="No feed with this name", **PROBLEM_DOC)
    def post(self, name):
        """Poll the feed now (within seconds, by the worker), back-off or not"""
        feed = service.request_poll(db.session, name)
        return {"name": feed.name, "next_poll_at": feed.next_poll_at}


def cacheable(schema, page: dict) -> Response:
    """The page as JSON with a strong ETag (304 when the client has it) and Cache-Control:
    the same for every caller, so shared caches may keep it for a few seconds."""
    body = json.dumps(schema.dump(page), separators=(",", ":"))
    response = Response(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    max_age = current_app.config["MOBILITY_MAX_AGE_SECONDS"]
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response.make_conditional(request)


def _near(kind: str, args: dict) -> dict:
    return queries.near(
        db.session,
        kind,
        lon=args["lon"],
        lat=args["lat"],
        radius=args["radius"],
        limit=page_size(args["limit"]),
        cursor=args["cursor"],
    )


def _common(item: dict) -> dict:
    return {
        "id": item["id"],
        "source_id": item["entity_id"],
        "feed": item["feed"],
        "name": item["name"],
        "location": item["location"],
        "geometry": item["geometry"],
        "distance_m": round(item["distance_m"], 1),
        "status": our_status(item["entity_type"], item["status"], item["available"]),
        "source_status": item["status"],
        "observed_at": item["observed_at"],
        "stale": item["stale"],
    }


@mobility.route("/parkings")
class Parkings(MethodView):
    @roles_required(mobility)
    @mobility.arguments(NearArgsSchema, location="query")
    @mobility.response(200, ParkingPageSchema, headers=CACHE_HEADERS)
    @mobility.alt_response(304, description="Not modified (If-None-Match)")
    @mobility.alt_response(429, description="Too many requests from this address", **PROBLEM_DOC)
    @mobility.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    def get(self, args):
        """Car parks, on-street zones and spots near a point, nearest first: free spaces,
        occupancy, status, when observed, and whether that is stale"""
        page = _near("parking", args)
        page["items"] = [
            {
                **_common(item),
                "type": TYPES[item["entity_type"]],
                "free_spaces": item["available"],
                "total_spaces": item["capacity"],
                "occupancy": item["occupancy"],
            }
            for item in page["items"]
        ]
        return cacheable(PARKING_PAGE, page)


@mobility.route(
    "/parkings/<int:parking_id>/history",
    parameters=[
        {
            "in": "path",
            "name": "parking_id",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**62},
        }
    ],
)
class ParkingHistory(MethodView):
    @roles_required(mobility)
    @mobility.arguments(ParkingIdPathSchema, location="path", as_kwargs=True)
    @mobility.arguments(HistoryArgsSchema, location="query")
    @mobility.response(200, ParkingHistorySchema, headers=CACHE_HEADERS)
    @mobility.alt_response(304, description="Not modified (If-None-Match)")
    @mobility.alt_response(429, description="Too many requests from this address", **PROBLEM_DOC)
    @mobility.alt_response(404, description="No parking with this id", **PROBLEM_DOC)
    @mobility.alt_response(
        422, description="`from` not before `to`, or over 31 days apart", **PROBLEM_DOC
    )
    def get(self, args, parking_id):
        """Occupancy of a car park, zone or spot over time, in hourly aggregates"""
        end = args["to"] or clock.now(db.session)
        try:
            start = args["from_"] or end - timedelta(hours=24)
        except OverflowError:  # `to` in year 1: nothing before it
            start = end
        if not (start < end and end - start <= HISTORY_MAX):
            raise Unprocessable(
                "invalid_time_range",
                max_days=HISTORY_MAX.days,
                errors={"query": {"from": ["must be before `to`, 31 days apart at most"]}},
            )
        history = queries.hourly_history(db.session, "parking", parking_id, start, end)
        return cacheable(PARKING_HISTORY, history)


@mobility.route("/bikes")
class Bikes(MethodView):
    @roles_required(mobility)
    @mobility.arguments(NearArgsSchema, location="query")
    @mobility.response(200, BikeStationPageSchema, headers=CACHE_HEADERS)
    @mobility.alt_response(304, description="Not modified (If-None-Match)")
    @mobility.alt_response(429, description="Too many requests from this address", **PROBLEM_DOC)
    @mobility.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    def get(self, args):
        """Bike-share stations near a point, nearest first: bikes and docks available"""
        page = _near("bikes", args)
        page["items"] = [
            {
                **_common(item),
                "bikes_available": item["available"],
                "docks_available": item["measures"].get("free_docks"),
                "capacity": item["capacity"],
            }
            for item in page["items"]
        ]
        return cacheable(BIKE_PAGE, page)


@mobility.route("/traffic")
class Traffic(MethodView):
    @roles_required(mobility)
    @mobility.arguments(TrafficArgsSchema, location="query")
    @mobility.response(200, TrafficCollectionSchema, headers=CACHE_HEADERS)
    @mobility.alt_response(304, description="Not modified (If-None-Match)")
    @mobility.alt_response(429, description="Too many requests from this address", **PROBLEM_DOC)
    @mobility.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    @mobility.alt_response(422, description="`bbox` not a box in WGS 84", **PROBLEM_DOC)
    def get(self, args):
        """Road segments and counters in a box, as GeoJSON: intensity, average speed, a
        congestion level, when observed, and whether that is stale"""
        page = queries.in_box(
            db.session,
            "traffic",
            parse_bbox(args["bbox"]),
            limit=page_size(args["limit"]),
            cursor=args["cursor"],
        )
        free_flow = float(current_app.config["TRAFFIC_FREE_FLOW_SPEED_KMH"])
        features = []
        for item in page["items"]:
            measures = item["measures"]
            speed = measures.get("average_speed")
            properties = {
                "source_id": item["entity_id"],
                "feed": item["feed"],
                "name": item["name"],
                "intensity": measures.get("intensity"),
                "average_speed_kmh": speed,
                "occupancy": item["occupancy"],
                "congestion": congestion_level(
                    measures.get("congested"), item["occupancy"], speed, free_flow
                ),
                "lane_direction": measures.get("lane_direction"),
                "observed_at": item["observed_at"],
                "stale": item["stale"],
            }
            features.append(
                {
                    "type": "Feature",
                    "id": item["id"],
                    "geometry": item["geometry"],
                    "properties": properties,
                }
            )
        collection = {
            "type": "FeatureCollection",
            "features": features,
            "next_cursor": page["next_cursor"],
        }
        return cacheable(TRAFFIC, collection)


@mobility.route("/vehicles")
class Vehicles(MethodView):
    @roles_required(mobility)
    @mobility.arguments(TrafficArgsSchema, location="query")
    @mobility.response(200, VehicleCollectionSchema, headers=CACHE_HEADERS)
    @mobility.alt_response(304, description="Not modified (If-None-Match)")
    @mobility.alt_response(429, description="Too many requests from this address", **PROBLEM_DOC)
    @mobility.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    @mobility.alt_response(422, description="`bbox` not a box in WGS 84", **PROBLEM_DOC)
    def get(self, args):
        """Transit vehicles in a box, as GeoJSON points: route, trip, bearing, speed,
        occupancy, when observed, and whether that is stale"""
        page = queries.in_box(
            db.session,
            "vehicles",
            parse_bbox(args["bbox"]),
            limit=page_size(args["limit"]),
            cursor=args["cursor"],
        )
        features = [
            {
                "type": "Feature",
                "id": item["id"],
                "geometry": item["geometry"],
                "properties": {
                    "source_id": item["entity_id"],
                    "feed": item["feed"],
                    "label": item["name"],
                    **{key: item["measures"].get(key) for key in VEHICLE_MEASURES},
                    "observed_at": item["observed_at"],
                    "stale": item["stale"],
                },
            }
            for item in page["items"]
        ]
        collection = {
            "type": "FeatureCollection",
            "features": features,
            "next_cursor": page["next_cursor"],
        }
        return cacheable(VEHICLES, collection)
