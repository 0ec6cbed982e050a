"""Discovery, services and service definitions, in both formats."""

from tests.open311.conftest import BASE, children, get_json, get_xml


def test_discovery_names_the_v2_endpoint_its_formats_and_contact_in_xml(client):
    root = get_xml(client, "/discovery.xml")
    assert root.tag == "discovery"
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(children(root))
    (endpoint,) = root.find("endpoints")
    assert endpoint.tag == "endpoint"
    fields = children(endpoint)
    assert fields["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert fields["url"].endswith("/open311/v2/")
    # Requests filed here are real tickets: a production endpoint, whatever SIGNALE_ENV.
    assert fields["type"] == "production"
    assert [f.text for f in endpoint.find("formats")] == ["text/xml", "application/json"]
    assert [f.tag for f in endpoint.find("formats")] == ["format", "format"]


def test_a_sandbox_says_it_is_a_test_endpoint(database_url):
    from tests.conftest import make_app

    sandbox = make_app(database_url, OPEN311_ENDPOINT_TYPE="test").test_client()
    assert get_json(sandbox, "/discovery.json")["endpoints"][0]["type"] == "test"


def test_an_unknown_endpoint_type_is_refused_at_start(database_url):
    import pytest

    from app import ConfigurationError
    from tests.conftest import make_app

    with pytest.raises(ConfigurationError, match="OPEN311_ENDPOINT_TYPE"):
        make_app(database_url, OPEN311_ENDPOINT_TYPE="staging")


def test_discovery_in_json(client):
    document = get_json(client, "/discovery.json")
    assert document["endpoints"][0]["formats"] == ["text/xml", "application/json"]
    assert document["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert document["changeset"][:4] == "2026"


def test_services_lists_every_active_category_with_the_spec_fields_in_xml(client):
    root = get_xml(client, "/services.xml")
    assert root.tag == "services"
    assert {s.tag for s in root} == {"service"}
    by_code = {s.findtext("service_code"): children(s) for s in root}
    assert len(by_code) == 21
    pothole = by_code["pothole"]
    assert set(pothole) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    assert pothole["service_name"] == "Nid-de-poule"
    assert pothole["metadata"] == "true"
    assert pothole["type"] == "realtime"
    assert pothole["group"] == "Voirie"
    assert "Pothole" in pothole["keywords"]
    assert by_code["road_marking"]["metadata"] == "false"


def test_services_in_json_and_in_english(client):
    services = get_json(client, "/services.json", headers={"Accept-Language": "en"})
    pothole = next(s for s in services if s["service_code"] == "pothole")
    assert pothole["service_name"] == "Pothole"
    assert pothole["metadata"] is True
    assert pothole["group"] == "Roads"


def test_an_inactive_category_is_not_a_service(client, session):
    from app.categories.models import Category

    session.query(Category).filter_by(code="gas_smell").update({"active": False})
    session.commit()
    codes = [s["service_code"] for s in get_json(client, "/services.json")]
    assert "gas_smell" not in codes
    get_json(client, "/services/gas_smell.json", status=404)


def test_service_definition_maps_questions_to_attributes_in_xml(client):
    root = get_xml(client, "/services/pothole.xml")
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "pothole"
    attributes = root.find("attributes")
    assert [a.tag for a in attributes] == ["attribute", "attribute"]
    size, cycle_lane = attributes
    assert children(size) | {"values": None} == {
        "variable": "true",
        "code": "size",
        "datatype": "singlevaluelist",
        "required": "true",
        "order": "1",
        "description": "Taille approximative",
        "values": None,
    }
    values = size.find("values")
    assert [v.tag for v in values] == ["value"] * 3
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [
        ("small", "Moins de 30 cm"),
        ("medium", "30 cm à 1 m"),
        ("large", "Plus de 1 m"),
    ]
    assert cycle_lane.findtext("datatype") == "singlevaluelist"
    assert cycle_lane.findtext("required") == "false"
    assert cycle_lane.findtext("order") == "2"
    assert [v.findtext("key") for v in cycle_lane.find("values")] == ["true", "false"]


def test_service_definition_datatypes_number_text_string_and_multivaluelist(client, session):
    from app.categories.service import put_category

    put_category(
        session,
        "custom",
        {
            "group": "other",
            "name_fr": "Essai",
            "name_en": "Trial",
            "icon": "other",
            "questions": [
                {
                    "code": "count",
                    "type": "number",
                    "label_fr": "Combien ?",
                    "label_en": "How many?",
                    "min": 1,
                    "max": 10,
                },
                {"code": "note", "type": "text", "label_fr": "Note", "label_en": "Note"},
                {
                    "code": "plate",
                    "type": "text",
                    "label_fr": "Plaque",
                    "label_en": "Plate",
                    "max_length": 12,
                },
                {
                    "code": "kinds",
                    "type": "multiple_choice",
                    "required": True,
                    "label_fr": "Types",
                    "label_en": "Kinds",
                    "choices": [
                        {"key": "a", "name_fr": "A fr", "name_en": "A en"},
                        {"key": "b", "name_fr": "B fr", "name_en": "B en"},
                    ],
                },
            ],
        },
    )
    definition = get_json(client, "/services/custom.json", headers={"Accept-Language": "en"})
    attributes = {a["code"]: a for a in definition["attributes"]}
    assert [a["order"] for a in definition["attributes"]] == [1, 2, 3, 4]
    assert attributes["count"]["datatype"] == "number"
    assert "1" in attributes["count"]["datatype_description"]
    assert attributes["note"]["datatype"] == "text"
    assert attributes["plate"]["datatype"] == "string"
    assert attributes["kinds"]["datatype"] == "multivaluelist"
    assert attributes["kinds"]["required"] is True
    assert attributes["kinds"]["values"] == [
        {"key": "a", "name": "A en"},
        {"key": "b", "name": "B en"},
    ]
    assert "values" not in attributes["count"]


def test_a_service_without_questions_has_an_empty_definition(client):
    assert get_json(client, "/services/road_marking.json") == {
        "service_code": "road_marking",
        "attributes": [],
    }
    root = get_xml(client, "/services/road_marking.xml")
    assert list(root.find("attributes")) == []


def test_an_unknown_service_is_the_spec_404_error_document_in_both_formats(client):
    root = get_xml(client, "/services/nope.xml", status=404)
    assert root.tag == "errors"
    (error,) = root
    assert error.tag == "error"
    assert error.findtext("code") == "404"
    assert "nope" in error.findtext("description")
    document = get_json(client, "/services/nope.json", status=404)
    assert document[0]["code"] == 404
    assert "nope" in document[0]["description"]
    assert client.get(BASE + "/services/nope.json").headers["Content-Language"] == "fr"
