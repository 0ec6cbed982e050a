"""The crew app's page, configuration, service worker and manifest as HTTP answers: the
page's policy, the demo picker offering crew accounts only (and only in emulator mode), the
service worker served from /crew/ (so that its scope is the app) as JavaScript never cached
stale, and an installable manifest."""

import pytest

from app.extensions import db
from app.users.models import Role
from app.users.service import put_user
from tests.conftest import make_app
from tests.web.test_console_page import policy_of


@pytest.fixture
def accounts(app, crew_code):
    with app.app_context():
        put_user(db.session, actor=None, uid="demo-agent-voirie", role=Role.AGENT, desks=["voirie"])
        put_user(db.session, actor=None, uid="demo-crew", role=Role.CREW, crew=crew_code)
        put_user(db.session, actor=None, uid="real-crew", role=Role.CREW, crew=crew_code)
        db.session.commit()
        db.session.remove()


def test_the_page_loads_its_modules_under_a_strict_policy_and_offers_the_demo_crews(
    app, client, accounts
):
    page = client.get("/crew/")
    assert page.status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-cache"
    policy = policy_of(page)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["worker-src"] == ["'self'"] and policy["manifest-src"] == ["'self'"]
    assert policy["connect-src"] == [
        "'self'",
        f"http://{app.config['FIREBASE_AUTH_EMULATOR_HOST']}",
    ]
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html  # nothing inline
    assert 'src="/static/crew/main.js"' in html
    assert 'href="/crew/manifest.webmanifest"' in html
    config = client.get("/crew/config.json")
    assert config.headers["Cache-Control"] == "no-store"
    offered = {account["uid"]: account for account in config.get_json()["demo_accounts"]}
    assert set(offered) == {"demo-crew"}  # crews only; never real-crew
    assert offered["demo-crew"]["crew"] == "voirie-nord"


def test_the_service_worker_is_javascript_under_crew_and_always_revalidated(client):
    worker = client.get("/crew/sw.js")
    assert worker.status_code == 200
    assert worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-cache"
    text = worker.get_data(as_text=True)
    # It precaches the page and every module the page loads, which the static route serves.
    assert '"/crew/"' in text
    for path in (
        "/static/crew/main.js",
        "/static/common/auth.js",
        "/static/node_modules/firebase/firebase-auth-compat.js",
        "/static/node_modules/leaflet/dist/leaflet.js",
    ):
        assert f'"{path}"' in text
        assert client.get(path).status_code == 200


def test_every_module_of_the_app_is_precached_by_the_service_worker(client):
    from pathlib import Path

    text = client.get("/crew/sw.js").get_data(as_text=True)
    folder = Path(__file__).resolve().parents[2] / "static" / "crew"
    for module in sorted(folder.glob("*.js")):
        if module.name != "sw.js":
            assert f'"/static/crew/{module.name}"' in text, module.name


def test_the_manifest_makes_the_app_installable_in_its_own_window(client):
    answer = client.get("/crew/manifest.webmanifest")
    assert answer.status_code == 200
    assert answer.mimetype == "application/manifest+json"
    manifest = answer.get_json()
    assert manifest["name"] == "Signale — Équipes"
    assert manifest["start_url"] == "/crew/" and manifest["scope"] == "/crew/"
    assert manifest["display"] == "standalone"
    icons = {icon["src"]: icon for icon in manifest["icons"]}
    assert set(icons) == {
        "/static/common/icons/signale-192.png",
        "/static/common/icons/signale-512.png",
        "/static/common/icons/signale-maskable-512.png",
    }
    assert icons["/static/common/icons/signale-maskable-512.png"]["purpose"] == "maskable"
    assert icons["/static/common/icons/signale-192.png"]["sizes"] == "192x192"


def test_without_the_emulator_no_crew_account_is_offered(database_url, accounts):
    production_like = make_app(database_url, FIREBASE_AUTH_EMULATOR_HOST="")
    client = production_like.test_client()
    assert client.get("/crew/config.json").get_json()["demo_accounts"] == []
    assert "https://securetoken.googleapis.com" in policy_of(client.get("/crew/"))["connect-src"]
