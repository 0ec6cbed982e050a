"""The crew tablet app: one page (static/crew/, ES modules that call the API), its
configuration, its service worker and its web app manifest. The policy and what the apps
share: app/web/apps.py. The app keeps its session (Firebase persistence "local") and its
tickets and outbox in the tablet's IndexedDB, so it opens and works with no network.

The service worker is served from /crew/sw.js, not /static/, so that its scope is /crew/
(a worker controls only the paths under its own)."""

from pathlib import Path

from flask import Blueprint, current_app, jsonify, send_file

from app.ops import headers
from app.users.models import Role
from app.web import apps

blp = Blueprint("crew", __name__, url_prefix="/crew", template_folder="templates")

ICONS = "/static/common/icons"
MANIFEST = {
    "name": "Signale — Équipes",
    "short_name": "Signale Équipes",
    "description": "Les tickets de l'équipe de terrain, même sans réseau.",
    "lang": "fr",
    "start_url": "/crew/",
    "scope": "/crew/",
    "display": "standalone",
    "orientation": "any",
    "background_color": "#ffffff",
    "theme_color": "#000091",
    "icons": [
        {"src": f"{ICONS}/signale-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": f"{ICONS}/signale-512.png", "sizes": "512x512", "type": "image/png"},
        {
            "src": f"{ICONS}/signale-maskable-512.png",
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ],
}


@blp.after_request
def as_page(response):
    return headers.as_page(response, apps.content_security_policy())


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
    """The service worker, always checked for a new version (no-cache): a stale worker
    would keep serving an old app shell."""
    path = Path(current_app.static_folder) / "crew" / "sw.js"
    response = send_file(path, mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.get("/manifest.webmanifest")
def manifest():
    response = jsonify(MANIFEST)
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response
