"""The console's page and configuration as HTTP answers: its policy follows the
configuration (the Auth emulator in development, Google's token services otherwise, the
city's tile server when one is set), and the development sign-in offers the demo staff
accounts only, and only in emulator mode."""

import pytest

from app.extensions import db
from app.users.models import Role
from app.users.service import put_user
from tests.conftest import make_app


def policy_of(response) -> dict[str, list[str]]:
    directives = (part.split() for part in response.headers["Content-Security-Policy"].split(";"))
    return {words[0]: words[1:] for words in directives if words}


@pytest.fixture
def staff_accounts(app, crew_code):
    with app.app_context():
        put_user(db.session, actor=None, uid="demo-agent-voirie", role=Role.AGENT, desks=["voirie"])
        put_user(db.session, actor=None, uid="real-agent", role=Role.AGENT, desks=["voirie"])
        put_user(db.session, actor=None, uid="demo-crew", role=Role.CREW, crew=crew_code)
        db.session.commit()
        db.session.remove()


def test_in_emulator_mode_the_page_may_call_the_emulator_and_the_picker_offers_demo_staff(
    app, client, staff_accounts
):
    emulator = app.config["FIREBASE_AUTH_EMULATOR_HOST"]
    assert emulator, "the suite runs in emulator mode"
    page = client.get("/console/")
    assert page.status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY"
    policy = policy_of(page)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", f"http://{emulator}"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "unsafe" not in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html  # nothing inline
    config = client.get("/console/config.json").get_json()
    assert config["auth_emulator"] == f"http://{emulator}"
    offered = {account["uid"]: account for account in config["demo_accounts"]}
    assert set(offered) == {"demo-crew", "demo-agent-voirie"}  # never real-agent
    assert offered["demo-agent-voirie"]["desks"] == ["voirie"]
    assert offered["demo-crew"]["crew"] == "voirie-nord"


def test_without_the_emulator_sign_in_goes_to_google_and_no_account_is_offered(
    database_url, staff_accounts
):
    production_like = make_app(
        database_url,
        FIREBASE_AUTH_EMULATOR_HOST="",
        MAP_TILE_URL="https://tiles.example.fr/{z}/{x}/{y}.png",
        FIREBASE_WEB_API_KEY="web-key",
    )
    client = production_like.test_client()
    policy = policy_of(client.get("/console/"))
    assert policy["connect-src"] == [
        "'self'",
        "https://identitytoolkit.googleapis.com",
        "https://securetoken.googleapis.com",
    ]
    assert "https://tiles.example.fr" in policy["img-src"]
    config = client.get("/console/config.json").get_json()
    assert config["auth_emulator"] is None
    assert config["demo_accounts"] == []
    assert config["tile_url"] == "https://tiles.example.fr/{z}/{x}/{y}.png"
    assert config["firebase"]["apiKey"] == "web-key"
