import io
import json

import pytest

from app.users.models import Role

DARCY = {"lon": 5.0345, "lat": 47.3226}
BODY = {"kind": "street_light", "location": DARCY, "attributes": {"lamp": "led"}}


def put(client, auth, reference="SL-000001", body=BODY, role=Role.ADMIN):
    return client.put(f"/v1/admin/assets/{reference}", json=body, headers=auth(role))


def upload(client, auth, data: bytes, name: str, query: str = "", role=Role.ADMIN):
    return client.post(
        f"/v1/admin/asset-imports{query}",
        headers=auth(role),
        data={"file": (io.BytesIO(data), name)},
    )


def test_an_admin_creates_replaces_reads_and_deletes_an_asset(client, auth):
    created = put(client, auth)
    assert created.status_code == 200, created.get_data(as_text=True)
    body = created.get_json()
    assert body["reference"] == "SL-000001"
    assert body["status"] == "in_service"
    assert body["commune_insee"] == "21231"
    assert body["location"] == pytest.approx(DARCY)
    replaced = put(client, auth, body={**BODY, "status": "faulty", "name": "Darcy 1"})
    assert replaced.get_json()["status"] == "faulty"
    read = client.get("/v1/assets/SL-000001", headers=auth(Role.AGENT))
    assert read.status_code == 200
    assert read.get_json()["name"] == "Darcy 1"
    deleted = client.delete("/v1/admin/assets/SL-000001", headers=auth(Role.ADMIN))
    assert deleted.status_code == 204
    missing = client.get("/v1/assets/SL-000001", headers=auth(Role.ADMIN))
    assert missing.status_code == 404
    assert missing.get_json()["code"] == "asset_not_found"


def test_agents_may_read_but_not_write(client, auth):
    response = put(client, auth, role=Role.AGENT)
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden_role"
    assert client.get("/v1/assets", headers=auth(Role.RESIDENT)).status_code == 403


def test_an_asset_outside_the_service_area_is_a_422_problem(client, auth):
    response = put(client, auth, body={**BODY, "location": {"lon": 4.84, "lat": 47.02}})
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["code"] == "outside_service_area"


@pytest.mark.parametrize(
    "body",
    [
        {**BODY, "kind": "rocket"},
        {**BODY, "status": "broken"},
        {**BODY, "location": {"lon": 200, "lat": 47}},
        {"kind": "bench"},
    ],
)
def test_bad_asset_bodies_are_refused(client, auth, body):
    response = put(client, auth, body=body)
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_failed"


def test_the_list_filters_by_kind_status_and_place_and_pages(client, auth):
    for i in range(5):
        location = {"lon": DARCY["lon"] + i * 0.0002, "lat": DARCY["lat"]}
        put(client, auth, f"SL-{i}", {**BODY, "location": location})
    put(client, auth, "CAM-1", {"kind": "camera", "location": DARCY, "status": "faulty"})
    put(client, auth, "BN-FAR", {"kind": "bench", "location": {"lon": 5.07, "lat": 47.35}})
    headers = auth(Role.SUPERVISOR)

    def refs(query):
        response = client.get(f"/v1/assets{query}", headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [a["reference"] for a in response.get_json()["items"]]

    assert refs("?kind=camera") == ["CAM-1"]
    assert refs("?status=faulty") == ["CAM-1"]
    assert "BN-FAR" not in refs(f"?near={DARCY['lon']},{DARCY['lat']}&radius=100")
    assert refs("?bbox=5.06,47.34,5.08,47.36") == ["BN-FAR"]
    first = client.get("/v1/assets?limit=4", headers=headers).get_json()
    second = client.get(f"/v1/assets?limit=4&cursor={first['next_cursor']}", headers=headers)
    seen = [a["reference"] for a in first["items"] + second.get_json()["items"]]
    assert len(seen) == len(set(seen)) == 7
    assert second.get_json()["next_cursor"] is None


def test_importing_a_geojson_file_returns_the_counts_and_first_errors(client, auth):
    data = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [DARCY["lon"], DARCY["lat"]]},
                    "properties": {"reference": "TS-1", "kind": "traffic_signal"},
                },
                {"type": "Feature", "geometry": None, "properties": {"reference": "TS-2"}},
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [4.84, 47.02]},
                    "properties": {"reference": "TS-3", "kind": "traffic_signal"},
                },
            ],
        }
    ).encode()
    response = upload(client, auth, data, "signals.geojson")
    assert response.status_code == 200, response.get_data(as_text=True)
    report = response.get_json()
    assert (report["total"], report["inserted"], report["skipped"], report["outside"]) == (
        3,
        1,
        1,
        1,
    )
    assert [e["where"] for e in report["errors"]] == ["feature 2", "feature 3"]
    again = upload(client, auth, data, "signals.geojson").get_json()
    assert (again["inserted"], again["updated"]) == (0, 1)


def test_importing_a_csv_file_with_a_default_kind(client, auth):
    data = f"reference,lon,lat\nDR-1,{DARCY['lon']},{DARCY['lat']}\n".encode()
    response = upload(client, auth, data, "drains.txt", "?format=csv&kind=drain")
    assert response.get_json()["inserted"] == 1
    assert client.get("/v1/assets/DR-1", headers=auth(Role.ADMIN)).get_json()["kind"] == "drain"


def test_an_unreadable_file_is_a_422_problem(client, auth):
    response = upload(client, auth, b"\x89PNG\r\n\x1a\n", "photo.geojson")
    assert response.status_code == 422
    assert response.get_json()["code"] == "invalid_asset_file"


def test_a_file_over_the_limit_is_a_413_problem(app, client, auth, monkeypatch):
    monkeypatch.setitem(app.config, "ASSET_IMPORT_MAX_BYTES", 1000)
    response = upload(client, auth, b"reference,lon,lat\n" + b"x" * 2000, "big.csv")
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"
    assert "1000" in response.get_json()["detail"]


def test_only_admins_import(client, auth):
    response = upload(client, auth, b"reference,lon,lat\n", "a.csv", role=Role.SUPERVISOR)
    assert response.status_code == 403
