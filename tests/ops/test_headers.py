"""Security headers (app/ops/headers.py): on every answer, no-store on what was answered
to a signed-in caller, a Content-Security-Policy on /docs that its page keeps to, HSTS in
production."""

import re

import pytest

from app.ops.headers import DOCS_CONTENT_SECURITY_POLICY
from app.users.models import Role
from tests.conftest import make_app
from tests.reports.test_views import POTHOLE


@pytest.fixture
def own_report(client, auth):
    """A resident's headers and the report they filed."""
    headers = auth(Role.RESIDENT, uid="camille")
    response = client.post("/v1/reports", headers={**headers, "Idempotency-Key": "k"}, json=POTHOLE)
    assert response.status_code == 201
    return headers, response.get_json()["id"]


@pytest.mark.parametrize(
    "path", ["/healthz", "/openapi.json", "/v1/nothing-here", "/v1/me", "/open311/v2/services.json"]
)
def test_every_answer_says_nosniff_and_sends_no_referrer(client, path):
    response = client.get(path)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_answers_with_personal_data_are_kept_by_no_cache(client, auth, own_report):
    resident, report_id = own_report
    for path in ("/v1/me", "/v1/me/reports", "/v1/me/notifications", f"/v1/reports/{report_id}"):
        response = client.get(path, headers=resident)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    response = client.get(f"/v1/reports/{report_id}/contact", headers=auth(Role.SUPERVISOR))
    assert response.status_code == 200
    assert response.get_json()["contact"]["email"] == "camille@example.fr"
    assert response.headers["Cache-Control"] == "no-store"


def test_public_answers_keep_their_own_caching(client):
    for path in ("/v1/opendata/catalog", "/open311/v2/services.json"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"].startswith("public, max-age="), path


def test_the_docs_page_has_a_strict_policy_and_keeps_to_it(client):
    response = client.get("/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert policy == DOCS_CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in policy and "unsafe" not in policy
    page = response.get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.S)
    assert len(scripts) == 2
    # No inline script (the policy would block it), no inline style, no handler attribute.
    assert all('src="/' in attributes and not body.strip() for attributes, body in scripts)
    assert " style=" not in page and "<style" not in page and not re.search(r" on\w+=", page)
    # Everything the page loads is served here (self), the spec it starts on included.
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(loaded) == 3
    for url in [*loaded, re.search(r'data-spec-url="([^"]+)"', page).group(1)]:
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200, url
    init = client.get(next(u for u in loaded if u.endswith("swagger-ui-init.js"))).get_data(True)
    assert "SwaggerUIBundle(" in init and "validatorUrl: null" in init


def test_hsts_in_production_only(client, database_url, monkeypatch):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    production = make_app(database_url, SIGNALE_ENV="production", FIREBASE_AUTH_EMULATOR_HOST="")
    for path in ("/healthz", "/v1/nothing-here"):
        response = production.test_client().get(path)
        assert response.headers["Strict-Transport-Security"] == (
            "max-age=63072000; includeSubDomains"
        )
