"""What the mobility reads take and answer over HTTP."""

from datetime import UTC

import marshmallow as ma

from app.feeds.vocabulary import STATUSES
from app.geojson import GeometrySchema
from app.mobility.congestion import RULE as CONGESTION_RULE
from app.pagination import PageArgsSchema, page_schema
from app.reports.schemas import PointSchema


class NearArgsSchema(PageArgsSchema):
    lon = ma.fields.Float(
        required=True,
        validate=ma.validate.Range(min=-180, max=180),
        metadata={"description": "Longitude, WGS 84"},
    )
    lat = ma.fields.Float(
        required=True,
        validate=ma.validate.Range(min=-90, max=90),
        metadata={"description": "Latitude, WGS 84"},
    )
    radius = ma.fields.Integer(
        load_default=500,
        validate=ma.validate.Range(min=1, max=5000),
        metadata={"description": "Metres around the point (max 5000)"},
    )


class TrafficArgsSchema(PageArgsSchema):
    bbox = ma.fields.String(
        required=True,
        validate=[
            ma.validate.Length(max=100),
            ma.validate.Regexp(
                r"^-?\d{1,3}(\.\d{1,15})?(,-?\d{1,3}(\.\d{1,15})?){3}$",
                error="expected min_lon,min_lat,max_lon,max_lat",
            ),
        ],
        metadata={"description": "min_lon,min_lat,max_lon,max_lat (WGS 84)"},
    )


class MobilityItemSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    source_id = ma.fields.String(required=True, metadata={"description": "The source's id"})
    feed = ma.fields.String(required=True)
    name = ma.fields.String(required=True, allow_none=True)
    location = ma.fields.Nested(
        PointSchema, required=True, metadata={"description": "A point on it"}
    )
    geometry = ma.fields.Nested(
        GeometrySchema,
        required=True,
        metadata={"description": "Its whole shape (a zone's polygon), GeoJSON"},
    )
    distance_m = ma.fields.Float(required=True)
    observed_at = ma.fields.DateTime(required=True)
    stale = ma.fields.Boolean(
        required=True,
        metadata={"description": "Observed longer ago than the feed's freshness limit"},
    )


def status_fields(kind: str) -> tuple[ma.fields.String, ma.fields.String]:
    """``status`` in our vocabulary for a ``kind`` item (documented from the registry,
    vocabulary.STATUSES) and ``source_status``, the source's own word beside it."""
    statuses = STATUSES[kind]
    meanings = "; ".join(f"{status}: {meaning}" for status, meaning in statuses.items())
    status = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(tuple(statuses)),
        metadata={"description": f"In our vocabulary, whatever the source's: {meanings}"},
    )
    source_status = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "The status word the source gave (Smart Data Models / DATEX II: "
            "spacesAvailable, open, free, working...; for a GBFS station, the one its "
            "is_installed, is_renting and is_returning give), null when it gave none"
        },
    )
    return status, source_status


class ParkingSchema(MobilityItemSchema):
    class Meta:
        ordered = True

    status, source_status = status_fields("parking")
    type = ma.fields.String(required=True, metadata={"description": "off_street, on_street, spot"})
    free_spaces = ma.fields.Integer(required=True, allow_none=True)
    total_spaces = ma.fields.Integer(required=True, allow_none=True)
    occupancy = ma.fields.Float(
        required=True, allow_none=True, metadata={"description": "0 (empty) to 1 (full)"}
    )


class BikeStationSchema(MobilityItemSchema):
    class Meta:
        ordered = True

    status, source_status = status_fields("bikes")
    bikes_available = ma.fields.Integer(required=True, allow_none=True)
    docks_available = ma.fields.Integer(required=True, allow_none=True)
    capacity = ma.fields.Integer(required=True, allow_none=True)


class HistoryArgsSchema(ma.Schema):
    # Aware: a time without offset is read as UTC rather than compared with aware ones.
    from_ = ma.fields.AwareDateTime(
        data_key="from",
        load_default=None,
        default_timezone=UTC,
        metadata={"description": "Start, ISO 8601 (default: 24 hours before `to`)"},
    )
    to = ma.fields.AwareDateTime(
        load_default=None,
        default_timezone=UTC,
        metadata={"description": "End, ISO 8601 (default: now); 31 days after `from` at most"},
    )


class ParkingIdPathSchema(ma.Schema):
    parking_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**62))


class HourSchema(ma.Schema):
    class Meta:
        ordered = True

    hour = ma.fields.DateTime(required=True, metadata={"description": "Start of the hour"})
    observations = ma.fields.Integer(required=True)
    occupancy_avg = ma.fields.Float(required=True, allow_none=True)
    free_spaces_avg = ma.fields.Float(required=True, allow_none=True)
    free_spaces_min = ma.fields.Integer(required=True, allow_none=True)
    free_spaces_max = ma.fields.Integer(required=True, allow_none=True)


class ParkingHistorySchema(ma.Schema):
    class Meta:
        ordered = True

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True, allow_none=True)
    from_ = ma.fields.DateTime(required=True, data_key="from")
    to = ma.fields.DateTime(required=True)
    hours = ma.fields.List(
        ma.fields.Nested(HourSchema),
        required=True,
        metadata={"description": "Hours with observations, oldest first"},
    )


ParkingPageSchema = page_schema(ParkingSchema, "ParkingPageSchema")
BikeStationPageSchema = page_schema(BikeStationSchema, "BikeStationPageSchema")


class TrafficSegmentSchema(ma.Schema):
    class Meta:
        ordered = True

    source_id = ma.fields.String(required=True, metadata={"description": "The source's id"})
    feed = ma.fields.String(required=True)
    name = ma.fields.String(required=True, allow_none=True)
    intensity = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "Vehicles counted"}
    )
    average_speed_kmh = ma.fields.Float(required=True, allow_none=True)
    occupancy = ma.fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "Share of the time the detector was occupied, 0 to 1"},
    )
    congestion = ma.fields.String(required=True, metadata={"description": CONGESTION_RULE})
    lane_direction = ma.fields.String(required=True, allow_none=True)
    observed_at = ma.fields.DateTime(required=True)
    stale = ma.fields.Boolean(
        required=True,
        metadata={"description": "Observed longer ago than the feed's freshness limit"},
    )


class TrafficFeatureSchema(ma.Schema):
    type = ma.fields.Constant("Feature", required=True)
    id = ma.fields.Integer(required=True)
    geometry = ma.fields.Nested(GeometrySchema, required=True)
    properties = ma.fields.Nested(TrafficSegmentSchema, required=True)


class TrafficCollectionSchema(ma.Schema):
    type = ma.fields.Constant("FeatureCollection", required=True)
    features = ma.fields.List(ma.fields.Nested(TrafficFeatureSchema), required=True)
    next_cursor = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `cursor` for the next page; null at the end"},
    )


class VehicleSchema(ma.Schema):
    class Meta:
        ordered = True

    source_id = ma.fields.String(required=True, metadata={"description": "The vehicle's id"})
    feed = ma.fields.String(required=True)
    label = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "As shown to riders"}
    )
    route_id = ma.fields.String(required=True, allow_none=True)
    trip_id = ma.fields.String(required=True, allow_none=True)
    bearing = ma.fields.Float(
        required=True, allow_none=True, metadata={"description": "Degrees clockwise from north"}
    )
    speed_kmh = ma.fields.Float(required=True, allow_none=True)
    occupancy_status = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "GTFS-Realtime's, in lower case: empty, many_seats_available..."},
    )
    observed_at = ma.fields.DateTime(required=True)
    stale = ma.fields.Boolean(
        required=True,
        metadata={"description": "Observed longer ago than the feed's freshness limit"},
    )


class VehicleFeatureSchema(ma.Schema):
    type = ma.fields.Constant("Feature", required=True)
    id = ma.fields.Integer(required=True)
    geometry = ma.fields.Nested(PointSchema, required=True)
    properties = ma.fields.Nested(VehicleSchema, required=True)


class VehicleCollectionSchema(ma.Schema):
    type = ma.fields.Constant("FeatureCollection", required=True)
    features = ma.fields.List(ma.fields.Nested(VehicleFeatureSchema), required=True)
    next_cursor = ma.fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Pass as `cursor` for the next page; null at the end"},
    )
