import marshmallow as ma
from flask_smorest.fields import Upload

from app.assets.importing import FORMATS
from app.assets.models import KINDS, REFERENCE_PATTERN, STATUSES
from app.geojson import GeometrySchema
from app.pagination import PageArgsSchema, page_schema


class AssetLocationSchema(ma.Schema):
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


class AssetBodySchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    status = ma.fields.String(load_default="in_service", validate=ma.validate.OneOf(STATUSES))
    name = ma.fields.String(
        load_default=None, allow_none=True, validate=ma.validate.Length(max=200)
    )
    location = ma.fields.Nested(AssetLocationSchema, required=True)
    attributes = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(allow_none=True),
        load_default=dict,
        metadata={"description": 'Free attributes, e.g. {"poi": "school"}'},
    )


class LiveStateSchema(ma.Schema):
    class Meta:
        ordered = True

    observed_at = ma.fields.DateTime(required=True)
    stale = ma.fields.Boolean(
        required=True,
        metadata={"description": "Observed longer ago than its feed's freshness limit"},
    )
    feed = ma.fields.String(required=True)
    entity_id = ma.fields.String(required=True, metadata={"description": "The NGSI-LD entity"})
    status = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "The source's status word"}
    )
    fault = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "The fault reported now"}
    )
    last_fault = ma.fields.String(required=True, allow_none=True)
    last_fault_at = ma.fields.DateTime(required=True, allow_none=True)
    power_state = ma.fields.String(
        required=True, allow_none=True, metadata={"description": "Street lights: on, off..."}
    )
    dimming_level = ma.fields.Integer(
        required=True, allow_none=True, metadata={"description": "Street lights: 0-100 %"}
    )
    control_mode = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Street lights: schedule, or manual (after a command)"},
    )
    mode = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Traffic signals: normal, flashing_amber or off"},
    )
    online = ma.fields.Boolean(
        required=True, allow_none=True, metadata={"description": "Cameras: online or not"}
    )


class AssetSchema(ma.Schema):
    class Meta:
        ordered = True

    reference = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    name = ma.fields.String(required=True, allow_none=True)
    location = ma.fields.Nested(AssetLocationSchema, required=True)
    attributes = ma.fields.Dict(required=True)
    commune_insee = ma.fields.String(required=True, allow_none=True)
    created_at = ma.fields.DateTime(required=True)
    updated_at = ma.fields.DateTime(required=True)
    live = ma.fields.Nested(
        LiveStateSchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "What the equipment's feed last reported (street lights, traffic "
            "signals, cameras); null when no feed reports it"
        },
    )


AssetPageSchema = page_schema(AssetSchema, "AssetPageSchema")


class AssetPropertiesSchema(AssetSchema):
    class Meta:
        ordered = True
        exclude = ("location",)


class AssetFeatureSchema(ma.Schema):
    type = ma.fields.Constant("Feature", required=True)
    id = ma.fields.String(required=True, metadata={"description": "The asset's reference"})
    geometry = ma.fields.Nested(GeometrySchema, required=True)
    properties = ma.fields.Nested(AssetPropertiesSchema, required=True)


class AssetCollectionSchema(ma.Schema):
    type = ma.fields.Constant("FeatureCollection", required=True)
    features = ma.fields.List(ma.fields.Nested(AssetFeatureSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True, required=True)


class AssetListArgsSchema(PageArgsSchema):
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf(KINDS))
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(STATUSES))
    near = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(
            r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$", error="expected lon,lat in decimal degrees"
        ),
        metadata={"description": "lon,lat: only assets within `radius` of this point"},
    )
    radius = ma.fields.Integer(
        load_default=500,
        validate=ma.validate.Range(min=1, max=5000),
        metadata={"description": "Metres around `near` (max 5000)"},
    )
    bbox = ma.fields.String(
        load_default=None,
        validate=ma.validate.Regexp(
            r"^-?\d+(\.\d+)?(,-?\d+(\.\d+)?){3}$", error="expected min_lon,min_lat,max_lon,max_lat"
        ),
        metadata={"description": "min_lon,min_lat,max_lon,max_lat (WGS 84)"},
    )


class AssetReferencePathSchema(ma.Schema):
    reference = ma.fields.String(required=True, validate=ma.validate.Regexp(REFERENCE_PATTERN))


class AssetImportArgsSchema(ma.Schema):
    format = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(FORMATS),
        metadata={"description": "geojson or csv (default: from the file name or content)"},
    )
    kind = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(KINDS),
        metadata={"description": "Kind of the rows that do not give one"},
    )


class AssetUploadSchema(ma.Schema):
    file = Upload(
        required=True,
        metadata={"description": "GeoJSON FeatureCollection of Points, or CSV; 10 MB max"},
    )


class ImportErrorSchema(ma.Schema):
    where = ma.fields.String(required=True, metadata={"description": "line N or feature N"})
    error = ma.fields.String(required=True)


class ImportReportSchema(ma.Schema):
    total = ma.fields.Integer(required=True, metadata={"description": "Rows or features read"})
    inserted = ma.fields.Integer(required=True)
    updated = ma.fields.Integer(required=True)
    skipped = ma.fields.Integer(required=True, metadata={"description": "Malformed rows"})
    outside = ma.fields.Integer(
        required=True, metadata={"description": "Points outside the 23 communes, refused"}
    )
    errors = ma.fields.List(
        ma.fields.Nested(ImportErrorSchema),
        required=True,
        metadata={"description": "The first 20 problems"},
    )
