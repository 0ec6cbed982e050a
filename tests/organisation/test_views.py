from app.users.models import Role

# Hand-made shapes around central Dijon (lon, lat).
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[5.0, 47.3], [5.1, 47.3], [5.1, 47.35], [5.0, 47.35], [5.0, 47.3]]],
}
BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[5.0, 47.3], [5.1, 47.35], [5.1, 47.3], [5.0, 47.35], [5.0, 47.3]]],
}
CREW_DEFAULTS = {
    "skills": [],
    "zone": None,
    "depot": None,
    "working_hours": {},
    "capacity": 10,
    "active": True,
}


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
    created = {"code": "lumiere-1", "name": "Lumière 1", "desk": "eclairage", **CREW_DEFAULTS}
    assert response.get_json() == created
    client.put(
        "/v1/admin/crews/lumiere-1", headers=admin, json={"name": "Lumière 1", "desk": "voirie"}
    )
    crews = client.get("/v1/crews", headers=admin).get_json()
    assert {**created, "desk": "voirie"} in crews


def test_a_crew_carries_skills_zone_depot_hours_and_capacity_in_geojson(client, auth):
    body = {
        "name": "Voirie Centre",
        "desk": "voirie",
        "skills": ["pothole", "damaged_pavement"],
        "zone": SQUARE,
        "depot": {"type": "Point", "coordinates": [5.05, 47.32]},
        "working_hours": {"mon": [["07:30", "12:00"], ["13:00", "16:00"]], "sat": []},
        "capacity": 12,
        "active": False,
    }
    response = client.put("/v1/admin/crews/voirie-centre", headers=auth(Role.ADMIN), json=body)
    assert response.status_code == 200, response.get_json()
    crew = client.get("/v1/crews", headers=auth(Role.CREW)).get_json()
    (shown,) = [c for c in crew if c["code"] == "voirie-centre"]
    assert shown["skills"] == ["damaged_pavement", "pothole"]
    assert shown["zone"]["type"] == "MultiPolygon"
    assert shown["zone"]["coordinates"] == [SQUARE["coordinates"]]
    assert shown["depot"] == {"type": "Point", "coordinates": [5.05, 47.32]}
    assert shown["working_hours"] == {"mon": [["07:30", "12:00"], ["13:00", "16:00"]]}
    assert (shown["capacity"], shown["active"]) == (12, False)


def test_a_crew_needs_a_known_desk_and_a_clean_code(client, auth):
    admin = auth(Role.ADMIN)
    response = client.put("/v1/admin/crews/x", headers=admin, json={"name": "X", "desk": "mars"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"json": {"desk": ["guichet inconnu : mars"]}}
    response = client.put(
        "/v1/admin/crews/Bad Code!", headers=admin, json={"name": "X", "desk": "voirie"}
    )
    assert response.status_code == 422
    assert "code" in response.get_json()["errors"]["path"]


def test_a_crew_skill_must_be_a_known_category(client, auth):
    response = client.put(
        "/v1/admin/crews/x",
        headers=auth(Role.ADMIN),
        json={"name": "X", "desk": "voirie", "skills": ["pothole", "volcano"]},
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "unknown_category"
    assert response.get_json()["errors"] == {"json": {"skills": ["catégorie inconnue : volcano"]}}


def test_a_self_intersecting_zone_is_refused_saying_where_it_crosses(client, auth):
    response = client.put(
        "/v1/admin/crews/x",
        headers={**auth(Role.ADMIN), "Accept-Language": "en"},
        json={"name": "X", "desk": "voirie", "zone": BOWTIE},
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "invalid_geometry"
    assert "crosses itself near longitude 5.05" in problem["detail"]
    assert "zone" in problem["errors"]["json"]


def test_malformed_coordinates_and_unclosed_rings_are_invalid_geometry(client, auth):
    admin = auth(Role.ADMIN)
    for zone, expected in (
        ({"type": "Polygon", "coordinates": [[[5.0, 47.3], [5.1, 47.3], [5.1, 47.35]]]}, "4"),
        (
            {"type": "Polygon", "coordinates": [[[5, 47.3], [5.1, 47.3], [5.1, 47.4], [5, 47]]]},
            "closed",
        ),
        ({"type": "MultiPolygon", "coordinates": "abc"}, "multipolygon"),
        ({"type": "Polygon", "coordinates": [[["a", 1]] * 4]}, "numbers"),
        ({"type": "Polygon", "coordinates": [[[500, 1], [1, 1], [1, 2], [500, 1]]]}, "-180"),
    ):
        response = client.put(
            "/v1/admin/crews/x",
            headers={**admin, "Accept-Language": "en"},
            json={"name": "X", "desk": "voirie", "zone": zone},
        )
        assert response.status_code == 422, zone
        assert response.get_json()["code"] == "invalid_geometry"
        assert expected in response.get_json()["errors"]["json"]["zone"][0]


def test_working_periods_must_end_after_they_start(client, auth):
    response = client.put(
        "/v1/admin/crews/x",
        headers=auth(Role.ADMIN),
        json={"name": "X", "desk": "voirie", "working_hours": {"tue": [["16:00", "07:30"]]}},
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_working_hours"


def test_an_admin_deletes_a_crew_but_not_one_staff_still_belong_to(client, auth, crew_code):
    admin = auth(Role.ADMIN)
    auth(Role.CREW)  # a crew member of crew_code
    client.put("/v1/admin/crews/spare", headers=admin, json={"name": "S", "desk": "voirie"})
    assert client.delete("/v1/admin/crews/spare", headers=admin).status_code == 204
    assert client.delete("/v1/admin/crews/spare", headers=admin).status_code == 404
    response = client.delete(f"/v1/admin/crews/{crew_code}", headers=admin)
    assert response.status_code == 409
    assert response.get_json()["code"] == "crew_has_members"


def test_crews_are_for_staff_and_their_admin_for_admins(client, auth):
    assert client.get("/v1/crews", headers=auth(Role.RESIDENT)).status_code == 403
    response = client.put(
        "/v1/admin/crews/x", headers=auth(Role.SUPERVISOR), json={"name": "X", "desk": "voirie"}
    )
    assert response.status_code == 403


# --- routing rules -------------------------------------------------------------------------

WINTER_RULE = {
    "name": "Neige en hiver",
    "priority": 20,
    "category": "snow_ice",
    "desk": "viabilite-hivernale",
    "months": [11, 12, 1, 2, 3],
}


def test_an_admin_adds_lists_replaces_and_deletes_routing_rules(client, auth):
    admin = auth(Role.ADMIN)
    response = client.post("/v1/admin/routing-rules", headers=admin, json=WINTER_RULE)
    assert response.status_code == 201, response.get_json()
    rule = response.get_json()
    assert rule == {
        "id": rule["id"],
        "name": "Neige en hiver",
        "priority": 20,
        "category": "snow_ice",
        "desk": "viabilite-hivernale",
        "zone": None,
        "months": [1, 2, 3, 11, 12],
        "starts_at": None,
        "ends_at": None,
        "active": True,
    }
    night = {
        "name": "Nuit",
        "priority": 5,
        "desk": "securite",
        "zone": SQUARE,
        "starts_at": "22:00",
        "ends_at": "06:00",
    }
    assert client.post("/v1/admin/routing-rules", headers=admin, json=night).status_code == 201
    listed = client.get("/v1/admin/routing-rules", headers=admin).get_json()
    assert [r["priority"] for r in listed] == [5, 20]
    assert listed[0]["zone"]["type"] == "MultiPolygon"
    assert (listed[0]["starts_at"], listed[0]["ends_at"], listed[0]["category"]) == (
        "22:00",
        "06:00",
        None,
    )
    replaced = client.put(
        f"/v1/admin/routing-rules/{rule['id']}",
        headers=admin,
        json={**WINTER_RULE, "desk": "voirie", "active": False},
    ).get_json()
    assert (replaced["desk"], replaced["active"]) == ("voirie", False)
    assert client.delete(f"/v1/admin/routing-rules/{rule['id']}", headers=admin).status_code == 204
    response = client.delete(f"/v1/admin/routing-rules/{rule['id']}", headers=admin)
    assert response.status_code == 404
    assert response.get_json()["code"] == "routing_rule_not_found"


def test_a_rule_needs_a_known_category_and_desk_and_a_free_priority(client, auth):
    admin = auth(Role.ADMIN)
    url = "/v1/admin/routing-rules"
    response = client.post(url, headers=admin, json={**WINTER_RULE, "category": "volcano"})
    assert (response.status_code, response.get_json()["code"]) == (422, "unknown_category")
    response = client.post(url, headers=admin, json={**WINTER_RULE, "desk": "mars"})
    assert (response.status_code, response.get_json()["code"]) == (422, "unknown_desk")
    assert client.post(url, headers=admin, json=WINTER_RULE).status_code == 201
    response = client.post(url, headers=admin, json=WINTER_RULE)
    assert (response.status_code, response.get_json()["code"]) == (409, "routing_priority_taken")


def test_a_rule_zone_must_be_valid_and_its_window_complete(client, auth):
    admin = auth(Role.ADMIN)
    url = "/v1/admin/routing-rules"
    response = client.post(url, headers=admin, json={**WINTER_RULE, "zone": BOWTIE})
    assert (response.status_code, response.get_json()["code"]) == (422, "invalid_geometry")
    response = client.post(url, headers=admin, json={**WINTER_RULE, "starts_at": "22:00"})
    assert (response.status_code, response.get_json()["code"]) == (422, "invalid_time_window")
    response = client.post(
        url, headers=admin, json={**WINTER_RULE, "starts_at": "22:00", "ends_at": "22:00"}
    )
    assert (response.status_code, response.get_json()["code"]) == (422, "invalid_time_window")
    assert client.get("/v1/admin/routing-rules", headers=admin).get_json() == []


def test_routing_rules_are_for_admins_only(client, auth):
    for role in (Role.RESIDENT, Role.CREW, Role.AGENT, Role.SUPERVISOR):
        assert client.get("/v1/admin/routing-rules", headers=auth(role)).status_code == 403
        response = client.post("/v1/admin/routing-rules", headers=auth(role), json=WINTER_RULE)
        assert response.status_code == 403
