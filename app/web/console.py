"""The control-room console: one page (static/console/, ES modules that call the API) and
its configuration.

The page is served with a policy computed from the configuration: scripts, styles and calls
to this origin only, plus the origins sign-in needs (the Auth emulator in development,
Google's token services in production) and, when one is configured, the city's tile server
for the map's images. No inline script or style; never in a frame. The ID token lives in the
page's memory and goes out as a bearer token: no cookie, so no CSRF surface.
"""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, make_response, render_template
from sqlalchemy import select

from app import i18n
from app.extensions import db
from app.ops import headers
from app.users.models import User

blp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")

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
    tiles = origin_of(current_app.config.get("CONSOLE_TILE_URL") or "")
    if tiles:
        images.append(tiles)
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(images)}",
            f"connect-src {' '.join(connect)}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


@blp.after_request
def as_page(response):
    return headers.as_page(response, content_security_policy())


@blp.get("/")
def page():
    lang = i18n.request_language()
    response = make_response(render_template("web/console.html", lang=lang))
    response.vary.add("Accept-Language")
    response.headers["Cache-Control"] = "no-cache"
    return response


def demo_accounts() -> list[dict]:
    users = db.session.scalars(
        select(User)
        .where(User.firebase_uid.startswith(DEMO_PREFIX, autoescape=True), User.active)
        .order_by(User.role, User.firebase_uid)
    ).all()
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


@blp.get("/config.json")
def config():
    """What the page needs to start: the Firebase web app, the Auth emulator (development
    only) with the demo staff accounts to pick from, the tile server if any."""
    cfg = current_app.config
    emulator = auth_emulator_url()
    body = {
        "firebase": {
            "apiKey": cfg["FIREBASE_WEB_API_KEY"],
            "projectId": cfg["FIREBASE_PROJECT_ID"],
            "authDomain": cfg["FIREBASE_AUTH_DOMAIN"]
            or f"{cfg['FIREBASE_PROJECT_ID']}.firebaseapp.com",
        },
        "auth_emulator": emulator,
        "demo_accounts": demo_accounts() if emulator else [],
        "tile_url": cfg["CONSOLE_TILE_URL"] or None,
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
