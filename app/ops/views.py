from flask import Response
from flask.views import MethodView

from app.extensions import Blueprint, db
from app.ops.health import readiness
from app.ops.observability import render_metrics
from app.ops.schemas import HealthSchema, ReadinessSchema

blp = Blueprint("ops", __name__, description="Health, readiness and metrics (no token)")


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self):
        """The process is alive"""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200, ReadinessSchema)
    @blp.alt_response(
        503,
        schema=ReadinessSchema,
        description="A dependency is not usable",
        content_type="application/json",
    )
    def get(self):
        """Database and Redis reachable, migrations at head"""
        ok, checks = readiness(db.session)
        return {"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503


@blp.route("/metrics")
class Metrics(MethodView):
    @blp.response(200, content_type="text/plain", description="Prometheus text exposition")
    def get(self):
        """Prometheus metrics"""
        body, content_type = render_metrics()
        return Response(body, content_type=content_type)
