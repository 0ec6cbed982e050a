from app.users.models import Role


def test_me_tells_a_resident_who_they_are(client, token_for):
    token = token_for(Role.RESIDENT, uid="resident-1", anonymous=True)
    response = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json() == {
        "uid": "resident-1",
        "role": "resident",
        "anonymous": True,
        "email": None,
        "display_name": None,
        "desks": [],
        "crew": None,
    }


def test_me_tells_staff_their_desks_and_crew(client, auth):
    agent = client.get("/v1/me", headers=auth(Role.AGENT)).get_json()
    assert (agent["role"], agent["desks"], agent["crew"]) == ("agent", ["voirie"], None)
    crew = client.get("/v1/me", headers=auth(Role.CREW)).get_json()
    assert (crew["role"], crew["desks"], crew["crew"]) == ("crew", [], "voirie-nord")


def test_an_admin_makes_someone_an_agent_and_they_become_one(client, auth, token_for):
    admin = auth(Role.ADMIN)
    response = client.put(
        "/v1/admin/users/new-agent",
        headers=admin,
        json={
            "role": "agent",
            "desks": ["eclairage"],
            "email": "n@dijon.fr",
            "display_name": "Nadia",
        },
    )
    assert response.status_code == 200
    assert response.get_json()["desks"] == ["eclairage"]
    token = token_for(Role.RESIDENT, uid="new-agent")  # token carries no role: our table does
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert (me["role"], me["desks"]) == ("agent", ["eclairage"])

    assert client.delete("/v1/admin/users/new-agent", headers=admin).status_code == 204
    me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["role"] == "resident"
    assert client.get("/v1/admin/users/new-agent", headers=admin).status_code == 404


def test_an_admin_makes_someone_the_privacy_officer_who_then_reads_the_register_only(
    client, auth, token_for
):
    admin = auth(Role.ADMIN)
    response = client.put(
        "/v1/admin/users/new-cnil", headers=admin, json={"role": "privacy_officer"}
    )
    assert response.status_code == 200, response.get_json()
    officer = {"Authorization": f"Bearer {token_for(Role.RESIDENT, uid='new-cnil')}"}
    me = client.get("/v1/me", headers=officer).get_json()
    assert (me["role"], me["desks"], me["crew"]) == ("privacy_officer", [], None)
    assert client.get("/v1/privacy/register", headers=officer).status_code == 200
    for path in ("/v1/desks", "/v1/desks/voirie/queue", "/v1/supervision/desks"):
        refused = client.get(path, headers=officer)
        assert (refused.status_code, refused.get_json()["code"]) == (403, "forbidden_role")
    with_desks = client.put(
        "/v1/admin/users/new-cnil",
        headers=admin,
        json={"role": "privacy_officer", "desks": ["voirie"]},
    )
    assert with_desks.status_code == 422
    assert "desks" in with_desks.get_json()["errors"]["json"]


def test_the_user_list_is_paginated_with_a_cursor(client, auth, token_for):
    for i in range(5):
        token_for(Role.AGENT, uid=f"agent-{i}")
    admin = auth(Role.ADMIN, uid="zz-admin")
    seen, cursor = [], None
    while True:
        url = "/v1/admin/users?limit=2&role=agent" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=admin).get_json()
        assert len(page["items"]) <= 2
        seen += [u["uid"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"agent-{i}" for i in range(5)]


def test_a_forged_cursor_is_a_clear_400(client, auth):
    response = client.get("/v1/admin/users?cursor=%%%not-ours", headers=auth(Role.ADMIN))
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_cursor"


def test_put_validates_the_body_with_field_errors(client, auth):
    response = client.put(
        "/v1/admin/users/x",
        headers=auth(Role.ADMIN),
        json={"role": "emperor", "email": "not-an-email", "extra": 1},
    )
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == {"role", "email", "extra"}


def test_put_with_an_unknown_desk_is_422_and_creates_nothing(client, auth):
    admin = auth(Role.ADMIN)
    response = client.put(
        "/v1/admin/users/x", headers=admin, json={"role": "agent", "desks": ["atlantis"]}
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "unknown_desk"
    assert client.get("/v1/admin/users/x", headers=admin).status_code == 404


def test_an_admin_cannot_demote_themselves_over_http(client, token_for):
    token = token_for(Role.ADMIN, uid="the-admin")
    response = client.put(
        "/v1/admin/users/the-admin",
        headers={"Authorization": f"Bearer {token}"},
        json={"role": "agent", "desks": ["voirie"]},
    )
    assert response.status_code == 403
    assert response.get_json()["code"] == "cannot_demote_self"
