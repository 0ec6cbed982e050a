"""Every error is RFC 9457 problem+json with a stable code, in the request's language."""

import json

import pytest

from app.auth.tokens import mint_emulator_token
from app.extensions import MAX_JSON_DEPTH, SURROGATE_MESSAGE
from app.field_messages import translate
from app.users.models import Role

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "instance", "request_id"}


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith("/" + code)
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_french_by_default_english_on_request(client):
    french = assert_problem(client.get("/v1/me"), 401, "authentication_required")
    english = assert_problem(
        client.get("/v1/me", headers={"Accept-Language": "en-GB,en;q=0.9"}),
        401,
        "authentication_required",
    )
    assert "Authentification requise" in french["detail"]
    assert "Authentication required" in english["detail"]
    assert french != english


def test_an_unsupported_language_falls_back_to_french(client):
    body = assert_problem(
        client.get("/v1/me", headers={"Accept-Language": "de"}), 401, "authentication_required"
    )
    assert "Authentification" in body["detail"]


def test_unknown_path_and_wrong_method(client, auth):
    assert_problem(client.get("/v1/nothing-here"), 404, "not_found")
    response = client.post("/v1/me", headers=auth())
    body = assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    assert "POST" in body["detail"]


def test_malformed_json_says_so(client, auth):
    response = client.put(
        "/v1/admin/users/x",
        headers=auth(Role.ADMIN),
        data="{not json",
        content_type="application/json",
    )
    assert_problem(response, 400, "malformed_json")


def test_a_body_that_is_not_an_object_is_a_validation_error(client, auth):
    response = client.put("/v1/admin/users/x", headers=auth(Role.ADMIN), json=[1, 2])
    assert_problem(response, 422, "validation_failed")


def test_an_oversized_body_is_refused_before_reading(client, auth):
    response = client.put(
        "/v1/admin/users/x",
        headers=auth(Role.ADMIN),
        data="x" * (2 * 1024 * 1024),
        content_type="application/json",
    )
    body = assert_problem(response, 413, "payload_too_large")
    assert "1048576" in body["detail"]


def test_a_client_request_id_is_echoed_and_an_unsafe_one_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "app-42.abc"})
    assert response.headers["X-Request-ID"] == "app-42.abc"
    response = client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 100})
    assert "<" not in response.headers["X-Request-ID"]
    assert len(response.headers["X-Request-ID"]) == 32


@pytest.mark.parametrize("path", ["/v1/me", "/v1/communes", "/v1/admin/users"])
def test_a_database_outage_is_a_503_the_client_can_retry(database_url, path, auth):
    from tests.conftest import make_app

    broken = make_app(database_url.rsplit("/", 1)[0] + "/no_such_database_here")
    response = broken.test_client().get(path, headers=auth(Role.ADMIN))
    body = assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "10"
    assert "psycopg" not in body["detail"].lower()


@pytest.mark.processes
def test_a_process_whose_connections_are_all_busy_answers_503(database_url, auth):
    """gthread workers run more requests at once than their pool has connections: one that
    waits longer than pool_timeout for a connection is told to retry, not a 500."""
    from tests.conftest import make_app

    app = make_app(
        database_url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.1},
    )
    with app.app_context():
        from app.extensions import db

        with db.engine.connect():  # the pool's one connection, held
            response = app.test_client().get("/v1/me", headers=auth(Role.ADMIN))
        db.engine.dispose()
    assert_problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "10"


def test_an_unexpected_failure_is_a_500_problem_that_leaks_nothing(database_url):
    from tests.conftest import make_app

    app = make_app(database_url)

    def explode():
        raise RuntimeError("secret internals /etc/passwd")

    app.add_url_rule("/explode", view_func=explode)
    response = app.test_client().get("/explode")
    body = assert_problem(response, 500, "internal_error")
    assert "secret" not in response.get_data(as_text=True)
    assert body["request_id"] in body["detail"]


def test_nul_characters_are_refused_by_field_not_crashed_on(client, auth):
    admin = auth(Role.ADMIN)
    response = client.put(
        "/v1/admin/crews/c1", headers=admin, json={"name": "a\u0000b", "desk": "voirie"}
    )
    body = assert_problem(response, 422, "invalid_character")
    assert list(body["errors"]["json"]) == ["name"]
    response = client.put(
        "/v1/admin/users/u1", headers=admin, json={"role": "agent", "desks": ["voi\u0000rie"]}
    )
    body = assert_problem(response, 422, "invalid_character")
    assert body["errors"]["json"] == {
        "desks": {"0": ["ne doit pas contenir le caractère NUL (U+0000)"]}
    }
    assert_problem(client.get("/v1/admin/users/a%00b", headers=admin), 400, "invalid_character")
    assert_problem(
        client.get("/v1/admin/users?cursor=%00", headers=admin), 400, "invalid_character"
    )


def _report_body(**fields) -> dict:
    body = {
        "category": "pothole",
        "location": {"lon": 5.0415, "lat": 47.3220},
        "description": "Trou profond",
        "answers": {"size": "large"},
    }
    return {**body, **fields}


def test_a_lone_surrogate_in_a_stored_json_string_is_refused_by_field(client, auth):
    # "\ud800" alone decodes to a str no encoder can write (the idempotency fingerprint,
    # psycopg): it was a 500.
    headers = {**auth(), "Idempotency-Key": "k-1", "Content-Type": "application/json"}
    raw = json.dumps(_report_body(description="Trou \ud800 profond"))
    assert "\\ud800" in raw
    body = assert_problem(
        client.post("/v1/reports", headers=headers, data=raw), 422, "invalid_character"
    )
    assert body["errors"]["json"] == {"description": [translate(SURROGATE_MESSAGE, "fr")]}
    assert "demi-codet UTF-16 isolé" in body["errors"]["json"]["description"][0]
    # In a key as well (the key is echoed without it), and the English text names it.
    raw = json.dumps(_report_body(answers={"si\udfffze": "large"}))
    response = client.post("/v1/reports", headers={**headers, "Accept-Language": "en"}, data=raw)
    body = assert_problem(response, 422, "invalid_character")
    assert body["errors"]["json"] == {"answers": {"si\ufffdze": [SURROGATE_MESSAGE]}}
    assert "lone UTF-16 surrogate" in body["detail"]
    # A surrogate pair is one real character, and is accepted.
    raw = json.dumps(_report_body(description="Trou profond \U0001f573"))
    assert "\\ud83d\\udd73" in raw
    assert client.post("/v1/reports", headers=headers, data=raw).status_code == 201


@pytest.mark.parametrize("depth", [40, 990, 100_000])
def test_json_nested_too_deep_is_a_400_problem_whatever_the_depth(client, auth, depth):
    headers = {**auth(), "Idempotency-Key": "k-1", "Content-Type": "application/json"}
    for nested in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        response = client.post("/v1/reports", headers=headers, data=nested)
        body = assert_problem(response, 400, "json_too_deep")
        assert str(MAX_JSON_DEPTH) in body["detail"]
    # Within the bound, the body is an ordinary invalid document.
    nested = json.dumps(_report_body(answers={"size": [[[["large"]]]]}))
    assert_problem(client.post("/v1/reports", headers=headers, data=nested), 422, "invalid_answers")


@pytest.mark.parametrize("uid", ["a\u0000b", "a\ud800b", "line\nbreak"])
def test_a_token_whose_uid_cannot_be_stored_is_a_401_not_a_500(client, uid):
    from tests.conftest import PROJECT_ID

    token = mint_emulator_token(PROJECT_ID, uid)
    body = assert_problem(
        client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}), 401, "token_invalid"
    )
    assert "uid" in body["detail"]
