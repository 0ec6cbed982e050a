import marshmallow as ma

from app.fields import StrictBoolean
from app.geojson import feature_collection_schema, feature_schema


class CommunePropertiesSchema(ma.Schema):
    insee_code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    area_m2 = ma.fields.Integer(required=True)


CommuneFeatureSchema = feature_schema(CommunePropertiesSchema, "CommuneFeatureSchema")
CommuneCollectionSchema = feature_collection_schema(CommuneFeatureSchema, "CommuneCollectionSchema")


class ServiceAreaPropertiesSchema(ma.Schema):
    name = ma.fields.String(required=True)
    communes = ma.fields.Integer(required=True)
    area_m2 = ma.fields.Integer(required=True)


ServiceAreaSchema = feature_schema(
    ServiceAreaPropertiesSchema, "ServiceAreaSchema", nullable_geometry=True
)


class PointArgsSchema(ma.Schema):
    lon = ma.fields.Float(
        required=True,
        validate=ma.validate.Range(min=-180, max=180),
        metadata={"description": "Longitude, WGS 84 (EPSG:4326)"},
    )
    lat = ma.fields.Float(
        required=True,
        validate=ma.validate.Range(min=-90, max=90),
        metadata={"description": "Latitude, WGS 84 (EPSG:4326)"},
    )


class CommuneRefSchema(ma.Schema):
    insee_code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)


class NearestCommuneSchema(CommuneRefSchema):
    distance_m = ma.fields.Integer(
        required=True, metadata={"description": "Metres to the commune (0 when inside)"}
    )


class LocationSchema(ma.Schema):
    inside = StrictBoolean(
        required=True, metadata={"description": "Whether the point is in the service area"}
    )
    commune = ma.fields.Nested(CommuneRefSchema, allow_none=True, required=True)
    nearest = ma.fields.Nested(NearestCommuneSchema, allow_none=True, required=True)
