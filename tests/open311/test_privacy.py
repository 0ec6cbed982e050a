"""Nothing a reporter wrote or gave about themselves reaches an Open311 response."""

from tests.open311.conftest import BASE, DIJON, place

SECRETS = {
    "description": "Le voisin du 3e, Mme Bernard, laisse ses sacs ici",
    "name": "Marguerite Tartempion",
    "first_name": "Marguerite",
    "last_name": "Tartempion",
    "email": "marguerite.tartempion@example.fr",
    "phone": "+33 6 98 76 54 32",
    "phone_digits": "698765432",
    "device_id": "device-7f3a9c",
    "house_number": "17 bis",
    "answer": "LP-PRIVATE-42",
}


def test_no_reporter_data_nor_exact_location_in_any_open311_response(
    client, auth, api_key, session
):
    exact_lon, exact_lat = 5.043217, 47.321789
    # Through the app, with contact details and free text.
    response = client.post(
        "/v1/reports",
        json={
            "category": "streetlight_out",
            "location": {"lon": exact_lon, "lat": exact_lat},
            "address": f"{SECRETS['house_number']} rue Chabot-Charny, 21000 Dijon",
            "description": SECRETS["description"],
            "answers": {"pole_number": SECRETS["answer"]},
            "contact": {
                "name": SECRETS["name"],
                "email": SECRETS["email"],
                "phone": SECRETS["phone"],
            },
        },
        headers={**auth(uid="resident-privacy"), "Idempotency-Key": "privacy"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    # Through Open311, with every optional personal field.
    key = api_key()
    partner = client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": key,
            "service_code": "other",
            "lat": str(place(4)["lat"]),
            "long": str(place(4)["lon"]),
            "address_string": f"{SECRETS['house_number']}, rue Chabot-Charny",
            "description": SECRETS["description"],
            "first_name": SECRETS["first_name"],
            "last_name": SECRETS["last_name"],
            "email": SECRETS["email"],
            "phone": SECRETS["phone"],
            "device_id": SECRETS["device_id"],
            "media_url": "https://example.org/marguerite.jpg",
        },
    )
    assert partner.status_code == 201, partner.get_data(as_text=True)
    (created,) = partner.get_json()
    references = [response.get_json()["reference"], created["service_request_id"]]
    bodies = []
    for fmt in ("xml", "json"):
        paths = [
            f"/discovery.{fmt}",
            f"/services.{fmt}",
            f"/services/streetlight_out.{fmt}",
            f"/requests.{fmt}",
            f"/requests.{fmt}?extensions=true",
            f"/requests.{fmt}?service_request_id={','.join(references)}&extensions=true",
            f"/tokens/{created['token']}.{fmt}",
            *(f"/requests/{r}.{fmt}?extensions=true" for r in references),
        ]
        for path in paths:
            got = client.get(BASE + path)
            assert got.status_code == 200, path
            bodies.append(got.get_data(as_text=True))
    listed = client.get(f"{BASE}/requests.json?extensions=true").get_json()
    assert {r["service_request_id"] for r in listed} == set(references)
    everything = "\n".join(bodies)
    for what, secret in SECRETS.items():
        assert secret not in everything, what
    assert "marguerite" not in everything.lower()
    assert "resident-privacy" not in everything and "open311:" not in everything
    # The typed address is never published: no register address near the grid point here,
    # so no address at all (tests/reports/test_public_projection.py: the register's street).
    assert "chabot-charny" not in everything.lower()
    for digits in (f"{exact_lon:.5f}", f"{exact_lat:.5f}", f"{DIJON[0]:.4f}"):
        assert digits not in everything
