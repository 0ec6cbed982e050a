"""The crew tablet app: one page (static/crew/, ES modules that call the API), its
configuration, its service worker and its web app manifest. The policy and what the apps
share: app/web/apps.py. The app keeps its session (Firebase persistence "local") and its
tickets and outbox in the tablet's IndexedDB, so it opens and works with no network."""

from flask import Blueprint

from app.ops import headers
from app.users.models import Role
from app.web import apps

blp = Blueprint("crew", __name__, url_prefix="/crew", template_folder="templates")
headers.serve_pages(blp, apps.content_security_policy)


@blp.get("/")
def page():
    return apps.page("web/crew.html")


@blp.get("/config.json")
def config():
    """What the page needs to start, with the demo crew accounts to pick from in emulator
    mode (development only)."""
    return apps.config_response(
        demo_accounts=apps.demo_accounts(Role.CREW) if apps.auth_emulator_url() else []
    )


@blp.get("/sw.js")
def service_worker():
    return apps.service_worker_response("crew")


@blp.get("/manifest.webmanifest")
def manifest():
    return apps.manifest_response(
        name="Signale — Équipes",
        short_name="Signale Équipes",
        description="Les tickets de l'équipe de terrain, même sans réseau.",
        start_url="/crew/",
        scope="/crew/",
        orientation="any",
    )
