"""Admin endpoints issuing partner keys."""

from sqlalchemy import select

from app.open311.models import ApiKey


def test_an_admin_issues_a_key_shown_once_and_stored_as_a_hash(client, auth, session):
    response = client.post(
        "/v1/admin/open311-keys",
        json={"name": "DijonCitoyen", "contact": "dev@partner.example", "rate_limit": "5/minute"},
        headers=auth("admin"),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    created = response.get_json()
    key = created["api_key"]
    assert key.startswith("s311_") and len(key) > 40
    assert created["rate_limit"] == "5/minute"
    assert created["active"] is True
    stored = session.scalar(select(ApiKey))
    assert stored.key_hash != key and key not in stored.key_hash
    assert key.startswith(stored.prefix)
    listed = client.get("/v1/admin/open311-keys", headers=auth("admin")).get_json()
    assert [k["name"] for k in listed["items"]] == ["DijonCitoyen"]
    assert "api_key" not in listed["items"][0]
    assert key not in client.get("/v1/admin/open311-keys", headers=auth("admin")).get_data(
        as_text=True
    )


def test_the_default_rate_limit_applies_when_none_is_given(client, auth, app):
    response = client.post("/v1/admin/open311-keys", json={"name": "P"}, headers=auth("admin"))
    assert response.get_json()["rate_limit"] == app.config["OPEN311_DEFAULT_RATE_LIMIT"]


def test_a_malformed_rate_limit_is_422(client, auth):
    response = client.post(
        "/v1/admin/open311-keys", json={"name": "P", "rate_limit": "lots"}, headers=auth("admin")
    )
    assert response.status_code == 422
    assert "rate_limit" in response.get_json()["errors"]["json"]


def test_revoking_keeps_the_key_revoked_and_twice_is_the_same(client, auth):
    created = client.post("/v1/admin/open311-keys", json={"name": "P"}, headers=auth("admin"))
    key_id = created.get_json()["id"]
    first = client.delete(f"/v1/admin/open311-keys/{key_id}", headers=auth("admin")).get_json()
    second = client.delete(f"/v1/admin/open311-keys/{key_id}", headers=auth("admin")).get_json()
    assert first["active"] is False and first["revoked_at"] == second["revoked_at"]


def test_revoking_an_unknown_key_is_404_problem(client, auth):
    response = client.delete("/v1/admin/open311-keys/999", headers=auth("admin"))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "open311_key_not_found"


def test_keys_are_paginated(client, auth):
    for n in range(3):
        client.post("/v1/admin/open311-keys", json={"name": f"P{n}"}, headers=auth("admin"))
    page = client.get("/v1/admin/open311-keys?limit=2", headers=auth("admin")).get_json()
    assert [k["name"] for k in page["items"]] == ["P0", "P1"]
    rest = client.get(
        f"/v1/admin/open311-keys?cursor={page['next_cursor']}", headers=auth("admin")
    ).get_json()
    assert [k["name"] for k in rest["items"]] == ["P2"]


def test_a_cursor_not_issued_by_the_list_is_400(client, auth):
    from app.pagination import encode_cursor

    for key in ([""], [2**40], ["1"], [True]):
        response = client.get(
            f"/v1/admin/open311-keys?cursor={encode_cursor(key)}", headers=auth("admin")
        )
        assert response.status_code == 400, key
        assert response.get_json()["code"] == "invalid_cursor"
