from flask.views import MethodView

from app.auth.identity import roles_required
from app.errors import PROBLEM_DOC, NotFound
from app.extensions import Blueprint, db
from app.geo import service
from app.geo.schemas import (
    CommuneCollectionSchema,
    CommuneFeatureSchema,
    LocationSchema,
    PointArgsSchema,
    ServiceAreaSchema,
)

blp = Blueprint(
    "geo",
    __name__,
    url_prefix="/v1",
    description="Communes of Dijon Métropole and the service area (GeoJSON)",
)


@blp.route("/communes")
class Communes(MethodView):
    @roles_required(blp)
    @blp.response(200, CommuneCollectionSchema)
    def get(self):
        """The 23 communes, as a GeoJSON FeatureCollection (WGS 84)"""
        return {"type": "FeatureCollection", "features": service.list_communes(db.session)}


@blp.route("/communes/<string:insee_code>")
class CommuneById(MethodView):
    @roles_required(blp)
    @blp.response(200, CommuneFeatureSchema)
    @blp.alt_response(404, description="No commune with this INSEE code", **PROBLEM_DOC)
    def get(self, insee_code):
        """One commune, as a GeoJSON Feature"""
        feature = service.get_commune(db.session, insee_code)
        if feature is None:
            raise NotFound("commune_not_found", insee_code=insee_code)
        return feature


@blp.route("/service-area")
class ServiceArea(MethodView):
    @roles_required(blp)
    @blp.response(200, ServiceAreaSchema)
    def get(self):
        """The service area (union of the communes), as a GeoJSON Feature"""
        return service.service_area(db.session)


@blp.route("/service-area/locate")
class Locate(MethodView):
    @roles_required(blp)
    @blp.arguments(PointArgsSchema, location="query")
    @blp.response(200, LocationSchema)
    def get(self, args):
        """Whether a point is in the service area, its commune, or the nearest commune"""
        return service.locate(db.session, args["lon"], args["lat"])
