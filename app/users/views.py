from flask import g
from flask.views import MethodView

from app.auth.identity import current_identity, roles_required
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.pagination import decode_cursor, page_size
from app.users import service
from app.users.models import Role
from app.users.schemas import (
    MeSchema,
    StaffUserInSchema,
    StaffUserPageSchema,
    StaffUserSchema,
    UidPathSchema,
    UserListArgsSchema,
)

blp = Blueprint("users", __name__, url_prefix="/v1", description="Identities and roles")


@blp.route("/me")
class Me(MethodView):
    @roles_required(blp)
    @blp.response(200, MeSchema)
    def get(self):
        """The caller's identity and role"""
        return current_identity()


@blp.route("/admin/users")
class StaffUsers(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.arguments(UserListArgsSchema, location="query")
    @blp.response(200, StaffUserPageSchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    def get(self, args):
        """Staff accounts, by uid (cursor paginated; reads are audited)"""
        return service.list_users(
            db.session,
            actor=current_identity(),
            role=args["role"],
            after=decode_cursor(args["cursor"], 1),
            limit=page_size(args["limit"]),
            request_id=g.request_id,
        )


@blp.route(
    "/admin/users/<string:uid>",
    parameters=[
        {
            "in": "path",
            "name": "uid",
            "required": True,
            "description": "Firebase uid",
            "schema": {"type": "string", "minLength": 1, "maxLength": 128},
        }
    ],
)
class StaffUser(MethodView):
    @roles_required(blp, Role.ADMIN)
    @blp.response(200, StaffUserSchema)
    @blp.alt_response(404, description="No staff account with this uid", **PROBLEM_DOC)
    def get(self, uid):
        """One staff account (the read is audited)"""
        return service.get_user(
            db.session, actor=current_identity(), uid=uid, request_id=g.request_id
        )

    @roles_required(blp, Role.ADMIN)
    @blp.arguments(UidPathSchema, location="path", as_kwargs=True)
    @blp.arguments(StaffUserInSchema)
    @blp.response(200, StaffUserSchema)
    def put(self, data, uid):
        """Create or replace a staff account (role, desks, crew)"""
        user, _ = service.put_user(
            db.session, actor=current_identity(), uid=uid, request_id=g.request_id, **data
        )
        return user

    @roles_required(blp, Role.ADMIN)
    @blp.response(204)
    @blp.alt_response(404, description="No staff account with this uid", **PROBLEM_DOC)
    def delete(self, uid):
        """Remove a staff account: the person becomes a resident again"""
        service.remove_user(db.session, actor=current_identity(), uid=uid, request_id=g.request_id)
