from datetime import UTC

import marshmallow as ma

from app.feeds.congestion import RULE as CONGESTION_RULE
from app.feeds.models import FAULT_ATTRIBUTES, FORMATS, KINDS, NAME_PATTERN
from app.feeds.vocabulary import STATUSES
from app.fields import StrictBoolean
from app.geojson import GeometrySchema
from app.pagination import PageArgsSchema, page_schema
from app.reports.schemas import PointSchema

# Visible ASCII only (non-ASCII must be percent-encoded): the same in every regex dialect.
URL_PATTERN = r"^https?://[!-~]+$"


class FeedNamePathSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Regexp(NAME_PATTERN))


class FeedInSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    format = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(FORMATS),
        metadata={
            "description": "ngsi-ld (a broker's /ngsi-ld/v1/entities?type=..., paginated), "
            "ngsi-ld-document (one JSON document), gbfs (a bikes feed: the URL of its "
            "gbfs.json, v2.3 or v3.0) or gtfs-rt (a vehicles feed: GTFS-Realtime vehicle "
            "positions)"
        },
    )
    source_url = ma.fields.String(
        required=True,
        validate=[ma.validate.Length(max=2000), ma.validate.Regexp(URL_PATTERN)],
        metadata={"description": "http(s) URL polled"},
    )
    poll_interval_seconds = ma.fields.Integer(
        load_default=60, validate=ma.validate.Range(min=10, max=86400)
    )
    freshness_limit_seconds = ma.fields.Integer(
        load_default=600,
        validate=ma.validate.Range(min=10, max=7 * 86400),
        metadata={"description": "Data observed longer ago than this is flagged stale"},
    )
    enabled = StrictBoolean(load_default=True)


class SkippedEntitySchema(ma.Schema):
    entity = ma.fields.String(required=True, metadata={"description": "Its id, or ?"})
    reason = ma.fields.String(required=True)


class FeedHealthSchema(ma.Schema):
    class Meta:
        ordered = True

    state = ma.fields.String(
        required=True, metadata={"description": "never_polled, ok, failing or disabled"}
    )
    last_polled_at = ma.fields.DateTime(required=True, allow_none=True)
    last_success_at = ma.fields.DateTime(required=True, allow_none=True)
    last_error_at = ma.fields.DateTime(required=True, allow_none=True)
    last_error_code = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "timeout, http_status, unreachable, too_large, not_ngsi_ld, "
            "not_gbfs, not_gtfs_rt, no_valid_entities, invalid_url or internal_error"
        },
    )
    last_error = ma.fields.String(required=True, allow_none=True)
    consecutive_failures = ma.fields.Integer(required=True)
    entities_seen = ma.fields.Integer(required=True, metadata={"description": "Last poll"})
    entities_skipped = ma.fields.Integer(
        required=True, metadata={"description": "Malformed entities in the last poll"}
    )
    skipped_examples = ma.fields.List(ma.fields.Nested(SkippedEntitySchema), required=True)
    source_ttl_seconds = ma.fields.Integer(
        required=True,
        metadata={
            "description": "How long the source says its data stays current (GBFS ttl): "
            "not fetched again meanwhile, and added to the freshness limit"
        },
    )


class FeedSchema(ma.Schema):
    class Meta:
        ordered = True

    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    format = ma.fields.String(required=True)
    source_url = ma.fields.String(required=True)
    poll_interval_seconds = ma.fields.Integer(required=True)
    freshness_limit_seconds = ma.fields.Integer(required=True)
    enabled = StrictBoolean(required=True)
    next_poll_at = ma.fields.DateTime(required=True)
    health = ma.fields.Nested(FeedHealthSchema, required=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)


class PollRequestedSchema(ma.Schema):
    name = ma.fields.String(required=True)
    next_poll_at = ma.fields.DateTime(required=True)


# An NGSI-LD short type (Streetlight), and a status-like value (defectiveLamp, ok).
ENTITY_TYPE_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
FAULT_VALUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
CATEGORY_CODE_PATTERN = r"^[a-z][a-z0-9_-]{0,39}$"


class FaultMappingPathSchema(ma.Schema):
    entity_type = ma.fields.String(required=True, validate=ma.validate.Regexp(ENTITY_TYPE_PATTERN))
    attribute = ma.fields.String(required=True, validate=ma.validate.OneOf(FAULT_ATTRIBUTES))
    value = ma.fields.String(required=True, validate=ma.validate.Regexp(FAULT_VALUE_PATTERN))


class FaultMappingInSchema(ma.Schema):
    category = ma.fields.String(
        required=True,
        allow_none=True,
        validate=ma.validate.Regexp(CATEGORY_CODE_PATTERN),
        metadata={
            "description": "Code of the category of the ticket this state opens; null: the "
            "equipment works again (its open ticket gets an event)"
        },
    )
    active = StrictBoolean(load_default=True)


class FaultMappingSchema(ma.Schema):
    class Meta:
        ordered = True

    entity_type = ma.fields.String(required=True)
    attribute = ma.fields.String(required=True)
    value = ma.fields.String(required=True)
    category = ma.fields.String(required=True, allow_none=True, attribute="category_code")
    active = StrictBoolean(required=True)
    updated_at = ma.fields.DateTime(required=True)


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
