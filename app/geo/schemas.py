import marshmallow as ma


class GeometrySchema(ma.Schema):
    type = ma.fields.String(required=True)
    coordinates = ma.fields.Raw(required=True)


class CommunePropertiesSchema(ma.Schema):
    insee_code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    area_m2 = ma.fields.Integer(required=True)


class CommuneFeatureSchema(ma.Schema):
    type = ma.fields.Constant("Feature", required=True)
    id = ma.fields.String(required=True)
    geometry = ma.fields.Nested(GeometrySchema, required=True)
    properties = ma.fields.Nested(CommunePropertiesSchema, required=True)


class CommuneCollectionSchema(ma.Schema):
    type = ma.fields.Constant("FeatureCollection", required=True)
    features = ma.fields.List(ma.fields.Nested(CommuneFeatureSchema), required=True)


class ServiceAreaPropertiesSchema(ma.Schema):
    name = ma.fields.String(required=True)
    communes = ma.fields.Integer(required=True)
    area_m2 = ma.fields.Integer(required=True)


class ServiceAreaSchema(ma.Schema):
    type = ma.fields.Constant("Feature", required=True)
    id = ma.fields.String(required=True)
    geometry = ma.fields.Nested(GeometrySchema, allow_none=True, required=True)
    properties = ma.fields.Nested(ServiceAreaPropertiesSchema, required=True)


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
    inside = ma.fields.Boolean(
        required=True, metadata={"description": "Whether the point is in the service area"}
    )
    commune = ma.fields.Nested(CommuneRefSchema, allow_none=True, required=True)
    nearest = ma.fields.Nested(NearestCommuneSchema, allow_none=True, required=True)
