"""What Signale's web apps (the console, the crew tablet, the resident page) share on the
server: their Content-Security-Policy, the Firebase web configuration they start sign-in
with, and the demo accounts the development sign-in offers.

Each app is one page of ES modules under static/<app>/ (shared modules in static/common/),
served with a policy computed from the configuration: scripts, styles and calls to this
origin only, plus the origins sign-in needs (the Auth emulator in development, Google's
token services in production) and, when one is configured, the city's tile server for the
map's images. No inline script or style; never in a frame. Service workers and manifests
come from this origin only.
"""

from urllib.parse import urlsplit

from flask import current_app, jsonify, make_response, render_template, send_from_directory
from sqlalchemy import select

from app import i18n
from app.extensions import db
from app.users.models import User

# Where the Firebase JS SDK signs in and refreshes tokens in production.
FIREBASE_ORIGINS = ("https://identitytoolkit.googleapis.com", "https://securetoken.googleapis.com")
# Staff accounts offered by the development sign-in screen (tools/generators/ seeds them).
DEMO_PREFIX = "demo-"


def auth_emulator_url() -> str | None:
    host = current_app.config.get("FIREBASE_AUTH_EMULATOR_HOST") or ""
    return f"http://{host}" if host else None


def origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def content_security_policy() -> str:
    emulator = auth_emulator_url()
    connect = ["'self'", *([emulator] if emulator else FIREBASE_ORIGINS)]
    images = ["'self'", "data:", "blob:"]
    tiles = origin_of(current_app.config.get("MAP_TILE_URL") or "")
    if tiles:
        images.append(tiles)
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(images)}",
            f"connect-src {' '.join(connect)}",
            "worker-src 'self'",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def page(template: str):
    """The app's page in the request's language (the app switches language itself)."""
    response = make_response(render_template(template, lang=i18n.request_language()))
    response.vary.add("Accept-Language")
    response.headers["Cache-Control"] = "no-cache"
    return response


def demo_accounts(*roles) -> list[dict]:
    """Active accounts whose uid starts with ``demo-`` (of ``roles`` if given), for the
    development sign-in screen."""
    query = select(User).where(
        User.firebase_uid.startswith(DEMO_PREFIX, autoescape=True), User.active
    )
    if roles:
        query = query.where(User.role.in_(roles))
    users = db.session.scalars(query.order_by(User.role, User.firebase_uid)).all()
    return [
        {
            "uid": user.firebase_uid,
            "role": user.role.value,
            "display_name": user.display_name,
            "desks": [desk.code for desk in user.desks],
            "crew": user.crew.code if user.crew else None,
        }
        for user in users
    ]


def config_response(**extra):
    """What a page needs to start: the Firebase web app, the Auth emulator (development
    only), the tile server if any, and ``extra`` (the app's own)."""
    cfg = current_app.config
    body = {
        "firebase": {
            "apiKey": cfg["FIREBASE_WEB_API_KEY"],
            "projectId": cfg["FIREBASE_PROJECT_ID"],
            "authDomain": cfg["FIREBASE_AUTH_DOMAIN"]
            or f"{cfg['FIREBASE_PROJECT_ID']}.firebaseapp.com",
        },
        "auth_emulator": auth_emulator_url(),
        "tile_url": cfg["MAP_TILE_URL"] or None,
        **extra,
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


# The home-screen icons of the installable apps (tools/generators/icons.py draws them).
ICONS = "/static/common/icons"
HOME_SCREEN_ICONS = (
    {"src": f"{ICONS}/signale-192.png", "sizes": "192x192", "type": "image/png"},
    {"src": f"{ICONS}/signale-512.png", "sizes": "512x512", "type": "image/png"},
    {
        "src": f"{ICONS}/signale-maskable-512.png",
        "sizes": "512x512",
        "type": "image/png",
        "purpose": "maskable",
    },
)


def manifest_response(**fields):
    """An installable app's web app manifest: ``fields`` (name, start_url, scope...) over
    what every app shares (French, its own window, the state's blue, the icons)."""
    body = {
        "lang": "fr",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#000091",
        "icons": list(HOME_SCREEN_ICONS),
        **fields,
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response


def service_worker_response(folder: str):
    """static/<folder>/sw.js, served from the app's own path so that its scope is the app
    (a worker controls only the paths under its own), and checked for a new version on
    every visit (no-cache): a stale worker would keep serving an old app."""
    response = send_from_directory(
        current_app.static_folder, f"{folder}/sw.js", mimetype="text/javascript", max_age=0
    )
    response.headers["Cache-Control"] = "no-cache"
    return response
