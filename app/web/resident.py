"""The resident page: one page (static/report/, ES modules that call the API) to report a
problem from any phone, its configuration, its service worker and its web app manifest.
The policy and what the apps share: app/web/apps.py. Residents sign in anonymously with
Firebase (the session kept in the browser's IndexedDB); the ID token goes out as a bearer
token, never as a cookie."""

from flask import Blueprint

from app.ops import headers
from app.web import apps

blp = Blueprint("resident", __name__, url_prefix="/report", template_folder="templates")
headers.serve_pages(blp, apps.content_security_policy)


@blp.get("/")
def page():
    return apps.page("web/report.html")


@blp.get("/config.json")
def config():
    """What the page needs to start (no demo accounts: residents sign in anonymously)."""
    return apps.config_response()


@blp.get("/sw.js")
def service_worker():
    return apps.service_worker_response("report")


@blp.get("/manifest.webmanifest")
def manifest():
    return apps.manifest_response(
        name="Signale — Signaler",
        short_name="Signale",
        description="Signaler un problème sur l’espace public à Dijon Métropole",
        start_url="/report/",
        scope="/report/",
    )
