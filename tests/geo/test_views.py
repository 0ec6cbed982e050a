def test_communes_are_a_geojson_feature_collection_of_23(client, auth):
    response = client.get("/v1/communes", headers=auth())
    assert response.status_code == 200
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 23
    feature = body["features"][0]
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] == "MultiPolygon"
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    assert 4.8 < lon < 5.3 and 47.1 < lat < 47.5  # RFC 7946: lon, lat in WGS 84
    assert set(feature["properties"]) == {"insee_code", "name", "area_m2"}


def test_one_commune_by_insee_code(client, auth):
    response = client.get("/v1/communes/21231", headers=auth())
    assert response.status_code == 200
    assert response.get_json()["properties"]["name"] == "Dijon"


def test_an_unknown_commune_is_a_404_problem(client, auth):
    response = client.get("/v1/communes/21054", headers={**auth(), "Accept-Language": "en"})
    assert response.status_code == 404
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "commune_not_found"
    assert "21054" in body["detail"]


def test_locate_says_dijon_is_inside(client, auth):
    response = client.get("/v1/service-area/locate?lon=5.0415&lat=47.3220", headers=auth())
    assert response.status_code == 200
    assert response.get_json() == {
        "inside": True,
        "commune": {"insee_code": "21231", "name": "Dijon"},
        "nearest": {"insee_code": "21231", "name": "Dijon", "distance_m": 0},
    }


def test_locate_says_beaune_is_outside(client, auth):
    response = client.get("/v1/service-area/locate?lon=4.8400&lat=47.0260", headers=auth())
    assert response.status_code == 200
    body = response.get_json()
    assert body["inside"] is False
    assert body["commune"] is None
    assert body["nearest"]["distance_m"] > 15_000


def test_locate_rejects_coordinates_out_of_range_with_field_errors(client, auth):
    response = client.get("/v1/service-area/locate?lon=200&lat=nan", headers=auth())
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_failed"
    assert set(body["errors"]["query"]) == {"lon", "lat"}


def test_the_service_area_feature(client, auth):
    response = client.get("/v1/service-area", headers=auth())
    assert response.status_code == 200
    body = response.get_json()
    assert body["type"] == "Feature"
    assert body["properties"]["communes"] == 23


def test_an_unknown_query_parameter_is_named_not_ignored(client, auth):
    response = client.get("/v1/service-area/locate?lon=5&lat=47.3&radius=9", headers=auth())
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"query": {"radius": ["Champ inconnu."]}}
