"""The control-room console: one page (static/console/, ES modules that call the API) and
its configuration. The policy and what the apps share: app/web/apps.py. The ID token lives
in the page's memory and goes out as a bearer token: no cookie, so no CSRF surface."""

from flask import Blueprint

from app.ops import headers
from app.web import apps

blp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
headers.serve_pages(blp, apps.content_security_policy)


@blp.get("/")
def page():
    return apps.page("web/console.html")


@blp.get("/config.json")
def config():
    """What the page needs to start, with the demo staff accounts to pick from in
    emulator mode (development only)."""
    return apps.config_response(
        demo_accounts=apps.demo_accounts() if apps.auth_emulator_url() else []
    )
