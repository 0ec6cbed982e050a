"""The resident page's HTTP answers: the page under the shared policy (nothing inline), its
configuration without demo accounts, its service worker (JavaScript, checked on every visit,
scoped to /report/, caching no API answer) and its web app manifest."""

import json

from app.extensions import db
from app.users.models import Role
from app.users.service import put_user
from tests.web.test_console_page import policy_of


def test_the_page_is_served_under_the_strict_policy_with_its_manifest_and_nothing_inline(
    app, client
):
    page = client.get("/report/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-cache"
    policy = policy_of(page)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["worker-src"] == ["'self'"] and policy["manifest-src"] == ["'self'"]
    assert policy["connect-src"] == [
        "'self'",
        f"http://{app.config['FIREBASE_AUTH_EMULATOR_HOST']}",
    ]
    assert "unsafe" not in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html
    assert '<link rel="manifest" href="/report/manifest.webmanifest">' in html
    assert 'src="/static/report/main.js"' in html
    assert client.get("/static/report/main.js").status_code == 200
    assert (
        client.get("/static/node_modules/lucide-static/icons/construction.svg").status_code == 200
    )
    assert client.get("/static/node_modules/lucide-static/package.json").status_code == 404


def test_the_configuration_offers_no_demo_account_even_in_emulator_mode(app, client):
    with app.app_context():
        put_user(db.session, actor=None, uid="demo-agent-voirie", role=Role.AGENT, desks=["voirie"])
        db.session.commit()
        db.session.remove()
    answer = client.get("/report/config.json")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    config = answer.get_json()
    assert "demo_accounts" not in config
    assert config["auth_emulator"] == f"http://{app.config['FIREBASE_AUTH_EMULATOR_HOST']}"
    assert config["firebase"]["projectId"] == app.config["FIREBASE_PROJECT_ID"]


def test_the_service_worker_is_javascript_never_kept_stale_and_leaves_the_api_alone(client):
    answer = client.get("/report/sw.js")
    assert answer.status_code == 200
    assert answer.mimetype == "text/javascript"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert "Content-Security-Policy" in answer.headers
    script = answer.get_data(as_text=True)
    assert '"/report/"' in script
    # Only the shell is kept: no API path is in the list of what it caches.
    shell = script.split("const SHELL = [", 1)[1].split("];", 1)[0]
    assert "/v1/" not in shell
    for path in json.loads("[" + shell.strip().rstrip(",") + "]"):
        served = client.get(path)
        assert served.status_code == 200, path


def test_the_manifest_makes_the_page_installable_from_report(client):
    answer = client.get("/report/manifest.webmanifest")
    assert answer.status_code == 200
    assert answer.mimetype == "application/manifest+json"
    manifest = answer.get_json(force=True)
    assert manifest["name"] == "Signale — Signaler"
    assert manifest["start_url"] == "/report/" and manifest["scope"] == "/report/"
    assert manifest["display"] == "standalone"
    icons = {icon["src"]: icon for icon in manifest["icons"]}
    assert set(icons) == {
        "/static/common/icons/signale-192.png",
        "/static/common/icons/signale-512.png",
        "/static/common/icons/signale-maskable-512.png",
    }
    assert icons["/static/common/icons/signale-maskable-512.png"]["purpose"] == "maskable"
    assert icons["/static/common/icons/signale-192.png"]["sizes"] == "192x192"
