"""Failures of the Open311 endpoints are the spec's error documents, never a 500."""

import os
import xml.etree.ElementTree as ET

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.open311.conftest import BASE, get_json, get_xml


def test_an_unknown_path_is_a_404_error_document_in_xml_by_default(client):
    root = get_xml(client, "/nothing-here", status=404)
    assert root.tag == "errors"
    assert root.find("error").findtext("code") == "404"
    assert "discovery" in root.find("error").findtext("description")
    assert get_json(client, "/nothing-here.json", status=404)[0]["code"] == 404


def test_the_root_points_at_discovery(client):
    root = get_xml(client, "/", status=404)
    assert "discovery" in root.find("error").findtext("description")


def test_public_reads_are_open_to_web_applications_of_other_sites(client):
    response = client.get(BASE + "/services.json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_an_unknown_format_is_404(client):
    root = get_xml(client, "/services.csv", status=404)
    assert root.find("error").findtext("code") == "404"


def test_a_method_a_path_does_not_take_is_405_with_allow(client):
    response = client.post(BASE + "/services.json")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.get_json()[0]["code"] == 405
    response = client.delete(BASE + "/requests.xml")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}
    assert ET.fromstring(response.data).find("error").findtext("code") == "405"


def test_another_jurisdiction_is_404(client):
    get_json(client, "/services.json?jurisdiction_id=sfgov.org", status=404)
    get_json(client, "/services.json?jurisdiction_id=metropole-dijon.fr")


def test_nul_in_a_path_or_parameter_is_400(client):
    assert get_json(client, "/services/a%00b.json", status=400)[0]["code"] == 400
    response = client.post(BASE + "/requests.json", data={"api_key": "a\x00b"})
    assert response.status_code == 400


def test_a_body_over_the_limit_is_413(client, app):
    response = client.post(
        BASE + "/requests.json",
        data={"description": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)},
    )
    assert response.status_code == 413
    assert response.get_json()[0]["code"] == 413


PARAMETERS = [
    "service_request_id",
    "service_code",
    "start_date",
    "end_date",
    "status",
    "page",
    "page_size",
    "updated_after",
    "updated_before",
    "extensions",
    "jurisdiction_id",
]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=not os.environ.get("HYPOTHESIS_EXPLORE"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(query=st.dictionaries(st.sampled_from(PARAMETERS), st.text(max_size=40), max_size=5))
def test_no_query_a_client_sends_to_requests_is_a_server_error(client, query):
    response = client.get(BASE + "/requests.json", query_string=query)
    assert response.status_code in (200, 400, 404), response.get_data(as_text=True)


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "service_code",
                "lat",
                "long",
                "address_string",
                "email",
                "device_id",
                "first_name",
                "last_name",
                "phone",
                "description",
                "media_url",
                "attribute[size]",
                "attribute[size][]",
                "attribute[",
                "attribute[on_cycle_lane]",
            ]
        ),
        st.text(max_size=40),
        max_size=6,
    )
)
def test_no_form_a_partner_sends_is_a_server_error(client, api_key, fields):
    key = api_key()
    response = client.post(BASE + "/requests.xml", data={"api_key": key, **fields})
    assert response.status_code in (201, 400), response.get_data(as_text=True)
    assert ET.fromstring(response.data).tag in ("errors", "service_requests")


@FUZZ
@given(segment=st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s))
def test_no_path_segment_is_a_server_error(client, segment):
    for path in ("/services/{}.json", "/requests/{}.xml", "/tokens/{}.json"):
        response = client.get(BASE + path.format(segment))
        assert response.status_code in (200, 400, 404), response.get_data(as_text=True)
