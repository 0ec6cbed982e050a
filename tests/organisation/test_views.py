from app.users.models import Role


def test_the_control_centre_has_its_eight_desks_with_allo_mairie_as_fallback(client, auth):
    desks = client.get("/v1/desks", headers=auth(Role.AGENT)).get_json()
    assert {d["code"] for d in desks} == {
        "voirie",
        "eclairage",
        "circulation",
        "proprete",
        "viabilite-hivernale",
        "securite",
        "videoprotection",
        "allo-mairie",
    }
    assert [d["code"] for d in desks if d["is_fallback"]] == ["allo-mairie"]


def test_an_admin_creates_then_moves_a_crew(client, auth):
    admin = auth(Role.ADMIN)
    response = client.put(
        "/v1/admin/crews/lumiere-1", headers=admin, json={"name": "Lumière 1", "desk": "eclairage"}
    )
    assert response.status_code == 200
    assert response.get_json() == {"code": "lumiere-1", "name": "Lumière 1", "desk": "eclairage"}
    client.put(
        "/v1/admin/crews/lumiere-1", headers=admin, json={"name": "Lumière 1", "desk": "voirie"}
    )
    crews = client.get("/v1/crews", headers=admin).get_json()
    assert {"code": "lumiere-1", "name": "Lumière 1", "desk": "voirie"} in crews


def test_a_crew_needs_a_known_desk_and_a_clean_code(client, auth):
    admin = auth(Role.ADMIN)
    response = client.put("/v1/admin/crews/x", headers=admin, json={"name": "X", "desk": "mars"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"json": {"desk": ["unknown desk: mars"]}}
    response = client.put(
        "/v1/admin/crews/Bad Code!", headers=admin, json={"name": "X", "desk": "voirie"}
    )
    assert response.status_code == 422
    assert "code" in response.get_json()["errors"]["path"]
