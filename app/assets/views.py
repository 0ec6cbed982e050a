import functools

from flask import current_app, request
from flask.views import MethodView
from geoalchemy2.shape import to_shape

from app.assets import importing, service
from app.assets.models import REFERENCE_PATTERN, Asset
from app.assets.schemas import (
    AssetBodySchema,
    AssetCollectionSchema,
    AssetImportArgsSchema,
    AssetListArgsSchema,
    AssetPageSchema,
    AssetReferencePathSchema,
    AssetSchema,
    AssetUploadSchema,
    ImportReportSchema,
)
from app.assets.service import live_states
from app.auth.identity import roles_required
from app.errors import PROBLEM_DOC, Problem, Unprocessable
from app.extensions import Blueprint, db
from app.geo.arguments import parse_bbox, parse_point
from app.pagination import page_size
from app.users.models import Role

blp = Blueprint(
    "assets",
    __name__,
    url_prefix="/v1",
    description="Equipment on the street (street lights, signals, cameras...), for routing",
)

READERS = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
# Crews read one asset at a time: the equipment a ticket names, to find it on site.
ASSET_READERS = (*READERS, Role.CREW)
REFERENCE_PARAMETER = [
    {
        "in": "path",
        "name": "reference",
        "required": True,
        "schema": {"type": "string", "pattern": REFERENCE_PATTERN, "maxLength": 64},
    }
]


def present(asset: Asset, live: dict | None = None) -> dict:
    """An asset as the API gives it, with its ``live`` state (None: no feed reports it)."""
    lon, lat = to_shape(asset.geom).coords[0]
    return {
        "reference": asset.reference,
        "kind": asset.kind,
        "status": asset.status,
        "name": asset.name,
        "location": {"lon": lon, "lat": lat},
        "attributes": asset.attributes,
        "commune_insee": asset.commune_insee,
        "created_at": asset.created_at,
        "updated_at": asset.updated_at,
        "live": live,
    }


def present_page(page: dict) -> dict:
    live = live_states(db.session, [a.id for a in page["items"]])
    return {**page, "items": [present(a, live.get(a.id)) for a in page["items"]]}


def _page(args) -> dict:
    return service.list_assets(
        db.session,
        kind=args["kind"],
        status=args["status"],
        near=parse_point(args["near"]) if args["near"] else None,
        radius=args["radius"],
        bbox=parse_bbox(args["bbox"]) if args["bbox"] else None,
        after=service.parse_cursor(args["cursor"]),
        limit=page_size(args["limit"]),
    )


def import_body_limit(view):
    """Accept an import file up to ASSET_IMPORT_MAX_BYTES (the app's default is 1 MB)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        limit = current_app.config["ASSET_IMPORT_MAX_BYTES"]
        if (request.content_length or 0) > limit:
            raise Problem("payload_too_large", 413, limit=limit)
        request.max_content_length = limit
        return view(*args, **kwargs)

    return wrapper


@blp.route("/assets")
class Assets(MethodView):
    @roles_required(blp, *READERS)
    @blp.arguments(AssetListArgsSchema, location="query")
    @blp.response(200, AssetPageSchema)
    @blp.alt_response(400, description="Invalid cursor", **PROBLEM_DOC)
    @blp.alt_response(422, description="Invalid filters", **PROBLEM_DOC)
    def get(self, args):
        """Assets by kind, status and place (`near` + `radius`, or `bbox`), in id order,
        each with its live state"""
        return present_page(_page(args))


@blp.route("/assets/geojson")
class AssetsGeoJSON(MethodView):
    @roles_required(blp, *READERS)
    @blp.arguments(AssetListArgsSchema, location="query")
    @blp.response(200, AssetCollectionSchema)
    @blp.alt_response(400, description="Invalid cursor", **PROBLEM_DOC)
    @blp.alt_response(422, description="Invalid filters", **PROBLEM_DOC)
    def get(self, args):
        """The same list as a GeoJSON FeatureCollection for maps (the equipment layer: each
        asset's live state in its properties; `next_cursor` included)"""
        page = present_page(_page(args))
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": item["reference"],
                    "geometry": {
                        "type": "Point",
                        "coordinates": [item["location"]["lon"], item["location"]["lat"]],
                    },
                    "properties": item,
                }
                for item in page["items"]
            ],
            "next_cursor": page["next_cursor"],
        }


@blp.route("/assets/<string:reference>", parameters=REFERENCE_PARAMETER)
class AssetByReference(MethodView):
    @roles_required(blp, *ASSET_READERS)
    @blp.arguments(AssetReferencePathSchema, location="path", as_kwargs=True)
    @blp.response(200, AssetSchema)
    @blp.alt_response(404, description="No asset with this reference", **PROBLEM_DOC)
    def get(self, reference):
        """One asset (crews too: the equipment their ticket names)"""
        asset = service.get_asset(db.session, reference)
        return present(asset, live_states(db.session, [asset.id]).get(asset.id))


@blp.route("/admin/assets/<string:reference>", parameters=REFERENCE_PARAMETER)
class AdminAsset(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(AssetReferencePathSchema, location="path", as_kwargs=True)
    @blp.arguments(AssetBodySchema)
    @blp.response(200, AssetSchema)
    @blp.alt_response(422, description="Invalid, or outside the service area", **PROBLEM_DOC)
    def put(self, data, reference):
        """Create or replace an asset"""
        asset, _ = service.put_asset(db.session, reference, data)
        return present(asset, live_states(db.session, [asset.id]).get(asset.id))

    @roles_required(blp, Role.ADMIN)
    @blp.arguments(AssetReferencePathSchema, location="path", as_kwargs=True)
    @blp.response(204)
    @blp.alt_response(404, description="No asset with this reference", **PROBLEM_DOC)
    def delete(self, reference):
        """Delete an asset (prefer status `removed` while reports refer to it)"""
        service.delete_asset(db.session, reference)


@blp.route("/admin/asset-imports")
class AssetImport(MethodView):
    @roles_required(blp, Role.ADMIN)
    @import_body_limit
    @blp.arguments(AssetImportArgsSchema, location="query")
    @blp.arguments(AssetUploadSchema, location="files")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(413, description="Over 10 MB", **PROBLEM_DOC)
    @blp.alt_response(422, description="Not a readable GeoJSON or CSV file", **PROBLEM_DOC)
    def post(self, args, files):
        """Import assets from a GeoJSON or CSV file (multipart `file`), idempotent on reference"""
        upload = files["file"]
        data = upload.read()
        fmt = args["format"] or importing.guess_format(upload.filename, data)
        try:
            return importing.import_assets(db.session, data, fmt, args["kind"])
        except importing.AssetFileError as exc:
            db.session.rollback()
            raise Unprocessable(
                "invalid_asset_file", reason=str(exc), errors={"files": {"file": [str(exc)]}}
            ) from exc
