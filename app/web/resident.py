"""The resident page: one page (static/report/, ES modules that call the API) to report a
problem from any phone, its configuration, its service worker and its web app manifest.
The policy and what the apps share: app/web/apps.py. Residents sign in anonymously with
Firebase (the session kept in the browser's IndexedDB); the ID token goes out as a bearer
token, never as a cookie."""

from flask import Blueprint, current_app, jsonify, send_from_directory

from app.ops import headers
from app.web import apps

blp = Blueprint("resident", __name__, url_prefix="/report", template_folder="templates")

MANIFEST = {
    "name": "Signale — Signaler",
    "short_name": "Signale",
    "description": "Signaler un problème sur l’espace public à Dijon Métropole",
    "lang": "fr",
    "start_url": "/report/",
    "scope": "/report/",
    "display": "standalone",
    "background_color": "#ffffff",
    "theme_color": "#000091",
    "icons": [
        {"src": "/static/common/icons/signale-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/static/common/icons/signale-512.png", "sizes": "512x512", "type": "image/png"},
        {
            "src": "/static/common/icons/signale-maskable-512.png",
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
    return apps.page("web/report.html")


@blp.get("/config.json")
def config():
    """What the page needs to start (no demo accounts: residents sign in anonymously)."""
    return apps.config_response()


@blp.get("/sw.js")
def service_worker():
    """The service worker, served under /report/ so that its scope is the page's; checked
    for a new version on every visit."""
    response = send_from_directory(
        current_app.static_folder, "report/sw.js", mimetype="text/javascript", max_age=0
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.get("/manifest.webmanifest")
def manifest():
    response = jsonify(MANIFEST)
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response
