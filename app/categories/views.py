from flask.views import MethodView

from app.auth.identity import roles_required
from app.categories import service
from app.categories.schemas import (
    CODE_PATTERN,
    CatalogueSchema,
    CategoryBodySchema,
    CategoryCodePathSchema,
    CategorySchema,
)
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.users.models import Role

blp = Blueprint(
    "categories",
    __name__,
    url_prefix="/v1",
    description="What residents can report, with per-category questions",
)

CODE_PARAMETER = [
    {
        "in": "path",
        "name": "code",
        "required": True,
        "schema": {"type": "string", "pattern": CODE_PATTERN, "maxLength": 40},
    }
]


@blp.route("/categories")
class Catalogue(MethodView):
    @roles_required(blp)
    @blp.response(200, CatalogueSchema)
    def get(self):
        """Active categories, grouped, in display order (French and English)"""
        return service.catalogue(db.session)


@blp.route("/categories/<string:code>", parameters=CODE_PARAMETER)
class CategoryByCode(MethodView):
    @roles_required(blp)
    @blp.response(200, CategorySchema)
    @blp.alt_response(404, description="No active category with this code", **PROBLEM_DOC)
    def get(self, code):
        """One active category and its questions"""
        return service.get_category(db.session, code)


@blp.route("/admin/categories")
class AdminCatalogue(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.response(200, CatalogueSchema)
    def get(self):
        """All categories, inactive ones included"""
        return service.catalogue(db.session, include_inactive=True)


@blp.route("/admin/categories/<string:code>", parameters=CODE_PARAMETER)
class AdminCategory(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(CategoryCodePathSchema, location="path", as_kwargs=True)
    @blp.arguments(CategoryBodySchema)
    @blp.response(200, CategorySchema)
    def put(self, data, code):
        """Create or replace a category (deactivate with `active: false`; never deleted)"""
        category, _ = service.put_category(db.session, code, data)
        return category
