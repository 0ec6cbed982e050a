"""GeoJSON (RFC 7946) output schemas, shared by every spatial endpoint."""

import marshmallow as ma


class GeometrySchema(ma.Schema):
    type = ma.fields.String(required=True)
    coordinates = ma.fields.Raw(required=True)


def feature_schema(properties: type[ma.Schema], name: str, *, nullable_geometry: bool = False):
    """A Feature schema whose ``properties`` follow ``properties``."""
    return type(
        name,
        (ma.Schema,),
        {
            "type": ma.fields.Constant("Feature", required=True),
            "id": ma.fields.String(required=True),
            "geometry": ma.fields.Nested(
                GeometrySchema, required=True, allow_none=nullable_geometry
            ),
            "properties": ma.fields.Nested(properties, required=True),
        },
    )


def feature_collection_schema(feature: type[ma.Schema], name: str):
    return type(
        name,
        (ma.Schema,),
        {
            "type": ma.fields.Constant("FeatureCollection", required=True),
            "features": ma.fields.List(ma.fields.Nested(feature), required=True),
        },
    )


def page_collection_schema(
    item: type[ma.Schema], name: str, *, geometry: type[ma.Schema], nullable: bool = False
) -> type[ma.Schema]:
    """The schema of :func:`page_as_features` over pages of ``item``: ``<name>Collection
    Schema`` of ``<name>FeatureSchema``, whose properties are ``item`` but its location."""
    meta = type("Meta", (), {"exclude": ("location",)})
    properties = type(f"{name}PropertiesSchema", (item,), {"Meta": meta})
    feature = type(
        f"{name}FeatureSchema",
        (ma.Schema,),
        {
            "type": ma.fields.Constant("Feature", required=True),
            "id": ma.fields.Integer(required=True),
            "geometry": ma.fields.Nested(geometry, required=True, allow_none=nullable),
            "properties": ma.fields.Nested(properties, required=True),
        },
    )
    return type(
        f"{name}CollectionSchema",
        (ma.Schema,),
        {
            "type": ma.fields.Constant("FeatureCollection", required=True),
            "features": ma.fields.List(ma.fields.Nested(feature), required=True),
            "next_cursor": ma.fields.String(allow_none=True, required=True),
        },
    )


def page_as_features(page: dict, geometry: str = "location") -> dict:
    """A ``{items, next_cursor}`` page as a FeatureCollection (``next_cursor`` kept): each
    item's ``geometry`` field becomes the feature's geometry, the rest its properties."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": item["id"],
                "geometry": item[geometry],
                "properties": {k: v for k, v in item.items() if k != geometry},
            }
            for item in page["items"]
        ],
        "next_cursor": page["next_cursor"],
    }
