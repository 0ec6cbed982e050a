"""The resident-facing mobility reads: parkings and bike stations near a point, a parking's
history, traffic and transit vehicles in a box; the same answer for every caller, cacheable."""

from datetime import timedelta

from flask import Response, current_app, json
from flask.views import MethodView

from app import clock, conditional
from app.auth.identity import roles_required
from app.errors import PROBLEM_DOC, Unprocessable
from app.extensions import Blueprint, db
from app.feeds.vocabulary import our_status
from app.geo.arguments import parse_bbox
from app.mobility import queries
from app.mobility.congestion import congestion_level
from app.mobility.schemas import (
    BikeStationPageSchema,
    HistoryArgsSchema,
    NearArgsSchema,
    ParkingHistorySchema,
    ParkingIdPathSchema,
    ParkingPageSchema,
    TrafficArgsSchema,
    TrafficCollectionSchema,
    VehicleCollectionSchema,
)
from app.pagination import page_size
from app.replica import public_read

mobility = Blueprint(
    "mobility",
    __name__,
    url_prefix="/v1/mobility",
    description="Live mobility information for residents: parking, bike stations, traffic, "
    "transit vehicles",
)

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


def cacheable(schema, page: dict) -> Response:
    """The page as JSON, conditional and publicly cacheable (app/conditional.py): the same
    for every caller, so shared caches may keep it for a few seconds."""
    body = json.dumps(schema.dump(page), separators=(",", ":"))
    return conditional.public(
        Response(body, mimetype="application/json"),
        etag=conditional.etag_of(body.encode(), 32),
        max_age=current_app.config["MOBILITY_MAX_AGE_SECONDS"],
    )


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
    @public_read
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
    @public_read
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
    @public_read
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
    @public_read
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
    @public_read
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
