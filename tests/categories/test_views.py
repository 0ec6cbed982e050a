from app.users.models import Role

NEW = {
    "group": "roads",
    "name_fr": "Borne incendie",
    "name_en": "Fire hydrant",
    "icon": "hydrant",
    "questions": [
        {
            "code": "leaking",
            "type": "boolean",
            "required": True,
            "label_fr": "Fuite ?",
            "label_en": "Leaking?",
        }
    ],
}


def test_residents_get_the_catalogue_in_both_languages(client, auth):
    body = client.get("/v1/categories", headers=auth()).get_json()
    roads = body["groups"][0]
    assert (roads["code"], roads["name_fr"], roads["name_en"]) == ("roads", "Voirie", "Roads")
    pothole = roads["categories"][0]
    assert pothole["code"] == "pothole"
    assert pothole["questions"][0]["choices"][0] == {
        "key": "small",
        "name_fr": "Moins de 30 cm",
        "name_en": "Under 30 cm",
    }


def test_an_admin_adds_a_category_and_residents_see_it_then_it_is_retired(client, auth):
    admin = auth(Role.ADMIN)
    response = client.put("/v1/admin/categories/fire_hydrant", headers=admin, json=NEW)
    assert response.status_code == 200
    assert client.get("/v1/categories/fire_hydrant", headers=auth()).status_code == 200
    client.put("/v1/admin/categories/fire_hydrant", headers=admin, json={**NEW, "active": False})
    response = client.get("/v1/categories/fire_hydrant", headers=auth())
    assert response.status_code == 404
    assert response.get_json()["code"] == "category_not_found"
    all_codes = [
        c["code"]
        for g in client.get("/v1/admin/categories", headers=admin).get_json()["groups"]
        for c in g["categories"]
    ]
    assert "fire_hydrant" in all_codes


def test_a_bad_definition_is_a_422_with_fields(client, auth):
    response = client.put(
        "/v1/admin/categories/x",
        headers=auth(Role.ADMIN),
        json={
            **NEW,
            "questions": [
                {"code": "q", "type": "multiple_choice", "label_fr": "Q", "label_en": "Q"}
            ],
        },
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "invalid_category"
    assert body["errors"]["json"]["questions"] == {
        "0": {"choices": ["une question à choix a besoin de choix"]}
    }
