from flask import current_app, g
from flask.views import MethodView

from app.auth.identity import current_identity, roles_required
from app.errors import PROBLEM_DOC
from app.extensions import Blueprint, db
from app.i18n import request_language
from app.pagination import PeriodArgsSchema, page_size
from app.photos.service import storage
from app.privacy import queries, register, service
from app.privacy.schemas import (
    ErasureRecordPageSchema,
    ErasureSchema,
    MyDataSchema,
    RegisterSchema,
    RetentionRunPageSchema,
)
from app.users.models import Role

blp = Blueprint(
    "privacy",
    __name__,
    url_prefix="/v1",
    description="Residents' rights over their data, and the privacy officer's view of what "
    "Signale holds, how long, and what was deleted",
)
# The CNIL correspondent reads these; admins too (they hold every other staff screen). The
# log of staff reads of personal data is GET /v1/audit/personal-data-reads, which the
# privacy officer may also read.
OFFICERS = (Role.PRIVACY_OFFICER, Role.ADMIN)


@blp.route("/me/data")
class MyData(MethodView):
    @roles_required(blp)
    @blp.response(200, MyDataSchema)
    def get(self):
        """Everything Signale holds about the caller, as one document (GDPR art. 15, 20)"""
        return service.export(db.session, identity=current_identity())


@blp.route("/me")
class MyErasure(MethodView):
    @roles_required(blp)
    @blp.response(200, ErasureSchema)
    @blp.alt_response(
        403, description="Staff accounts are managed by admins, not erased", **PROBLEM_DOC
    )
    def delete(self):
        """Erase the caller's personal data (GDPR art. 17); idempotent: a second call
        answers the same shape with zero counts"""
        counts, files = service.erase(
            db.session, identity=current_identity(), request_id=g.request_id
        )
        # After the commit: a file whose deletion fails is linked to nothing any more.
        service.delete_files(storage(), files)
        return service.answer(counts, request_language())


@blp.route("/privacy/register")
class Register(MethodView):
    @roles_required(blp, *OFFICERS)
    @blp.response(200, RegisterSchema)
    def get(self):
        """The register of processing activities (GDPR art. 30), generated from the code:
        each column holding personal data, what it is, why, on which legal basis, who sees
        it, how long it is kept (the retention schedule as configured), where it may go"""
        return register.register(db.metadata, current_app.config, request_language())


@blp.route("/privacy/retention-runs")
class RetentionRuns(MethodView):
    @roles_required(blp, *OFFICERS)
    @blp.arguments(PeriodArgsSchema, location="query")
    @blp.response(200, RetentionRunPageSchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    def get(self, args):
        """The retention schedule's runs with their counts per rule, newest first (cursor
        paginated)"""
        return queries.retention_runs(
            db.session,
            since=args["since"],
            until=args["until"],
            after=queries.parse_cursor(args["cursor"]),
            limit=page_size(args["limit"]),
        )


@blp.route("/privacy/erasures")
class Erasures(MethodView):
    @roles_required(blp, *OFFICERS)
    @blp.arguments(PeriodArgsSchema, location="query")
    @blp.response(200, ErasureRecordPageSchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    def get(self, args):
        """Residents' erasures (DELETE /v1/me): when, what was deleted and what was kept
        detached, naming nobody; newest first (cursor paginated)"""
        return queries.erasures(
            db.session,
            since=args["since"],
            until=args["until"],
            after=queries.parse_cursor(args["cursor"]),
            limit=page_size(args["limit"]),
        )
