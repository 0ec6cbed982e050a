"""POST requests: partner keys, answers to attributes, intake's rules, the spec's answer."""

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select

from app.open311.models import Submission
from app.reports.models import Report, ReportContact
from tests.open311.conftest import BASE, DIJON, get_json, place


def form(key: str | None, **fields) -> dict:
    body = {
        "service_code": "pothole",
        "lat": str(DIJON[1]),
        "long": str(DIJON[0]),
        "attribute[size]": "large",
        **fields,
    }
    if key is not None:
        body["api_key"] = key
    return {k: v for k, v in body.items() if v is not None}


def post(client, data, fmt="json", **kwargs):
    return client.post(f"{BASE}/requests.{fmt}", data=data, **kwargs)


def test_a_partner_creates_a_request_and_gets_its_id_and_token_in_json(client, api_key, session):
    response = post(client, form(api_key(), email="a@example.fr", device_id="phone-1"))
    assert response.status_code == 201, response.get_data(as_text=True)
    (created,) = response.get_json()
    assert created["service_request_id"].startswith("DIJ-")
    report = session.scalar(select(Report).where(Report.reference == created["service_request_id"]))
    assert report.source == "open311"
    assert report.answers == {"size": "large"}
    assert report.commune_insee == "21231"
    assert report.desk_id is not None  # routed as intake routes
    assert report.reporter_uid.startswith("open311:")
    assert "phone-1" not in report.reporter_uid and "a@example.fr" not in report.reporter_uid
    submission = session.get(Submission, report.id)
    assert submission.token == created["token"]
    (found,) = get_json(client, f"/tokens/{created['token']}.json")
    assert found == {"service_request_id": report.reference, "token": created["token"]}


def test_the_answer_in_xml_is_a_service_requests_document(client, api_key):
    response = post(client, form(api_key()), fmt="xml")
    assert response.status_code == 201
    root = ET.fromstring(response.data)
    assert root.tag == "service_requests"
    assert root.find("request").findtext("service_request_id").startswith("DIJ-")
    token = root.find("request").findtext("token")
    tokens = ET.fromstring(client.get(f"{BASE}/tokens/{token}.xml").data)
    assert tokens.find("request").findtext("token") == token


def test_an_unknown_token_is_404(client):
    assert get_json(client, "/tokens/nope.json", status=404)[0]["code"] == 404


def test_contact_details_are_kept_for_the_desk_and_notifications_are_off(client, api_key, session):
    response = post(
        client,
        form(
            api_key(),
            first_name="Jean",
            last_name="Dupont",
            email="j@example.fr",
            phone="0612345678",
            description="Devant chez moi",
        ),
    )
    reference = response.get_json()[0]["service_request_id"]
    report = session.scalar(select(Report).where(Report.reference == reference))
    contact = session.get(ReportContact, report.id)
    assert (contact.name, contact.email, contact.phone) == (
        "Jean Dupont",
        "j@example.fr",
        "0612345678",
    )
    assert (contact.by_push, contact.by_email) == (False, False)
    assert report.description == "Devant chez moi"


def test_answers_are_typed_per_question(client, api_key, session):
    key = api_key()
    response = post(
        client,
        form(
            key,
            service_code="streetlight_out",
            **{
                "attribute[size]": None,
                "attribute[how_many]": "3",
                "attribute[pole_number]": "LP-12",
            },
        ),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    reference = response.get_json()[0]["service_request_id"]
    report = session.scalar(select(Report).where(Report.reference == reference))
    assert report.answers == {"how_many": 3, "pole_number": "LP-12"}
    response = post(
        client,
        {
            **form(
                key,
                service_code="illegal_dumping",
                **{"attribute[size]": None},
                lat=str(place(3)["lat"]),
                long=str(place(3)["lon"]),
            ),
            "attribute[waste][]": ["bulky", "rubble"],
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    reference = response.get_json()[0]["service_request_id"]
    report = session.scalar(select(Report).where(Report.reference == reference))
    assert report.answers["waste"] == ["bulky", "rubble"]


def test_wrong_answers_are_400_naming_the_attribute(client, api_key):
    response = post(client, form(api_key(), **{"attribute[size]": "huge"}))
    assert response.status_code == 400
    descriptions = " ".join(e["description"] for e in response.get_json())
    assert "attribute[size]" in descriptions
    response = post(client, form(api_key(), **{"attribute[size]": None}))
    assert response.status_code == 400
    assert "attribute[size]" in response.get_data(as_text=True)
    response = post(client, form(api_key(), **{"attribute[nope]": "x"}))
    assert response.status_code == 400
    assert "attribute[nope]" in response.get_data(as_text=True)


def test_an_address_string_alone_is_geocoded_and_routed_at_the_address(
    client, api_key, session, address_register
):
    response = post(
        client,
        form(api_key(), lat=None, long=None, address_string="12 rue de la liberte, DIJON"),
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    (created,) = response.get_json()
    report = session.scalar(select(Report).where(Report.reference == created["service_request_id"]))
    lon, lat = session.execute(
        select(func.ST_X(Report.geom), func.ST_Y(Report.geom)).where(Report.id == report.id)
    ).one()
    assert (lon, lat) == (5.0380, 47.3221)  # the register's point of 12 Rue de la Liberté
    assert report.address == "12 Rue de la Liberté 21000 Dijon"
    assert report.commune_insee == "21231"
    assert report.desk_id is not None  # routed as intake routes
    (public,) = get_json(client, f"/requests/{report.reference}.json")
    assert public["address"] == "Rue de la Liberté 21000 Dijon"  # never the house number


def test_an_address_id_alone_is_the_register_address(client, api_key, session, address_register):
    response = post(client, form(api_key(), lat=None, long=None, address_id="21231_0150_00003"))
    assert response.status_code == 201, response.get_data(as_text=True)
    (created,) = response.get_json()
    report = session.scalar(select(Report).where(Report.reference == created["service_request_id"]))
    assert report.address == "3 Place Darcy 21000 Dijon"
    unknown = post(client, form(api_key(), lat=None, long=None, address_id="21231_0150_00099"))
    assert unknown.status_code == 400
    assert "21231_0150_00099" in unknown.get_json()[0]["description"]


def test_an_ambiguous_address_is_a_400_naming_the_candidates(client, api_key, address_register):
    data = form(api_key(), lat=None, long=None, address_string="7 rue Chabot-Charny")
    response = post(client, data, fmt="xml")
    assert response.status_code == 400
    root = ET.fromstring(response.data)
    description = root.find("error").findtext("description")
    assert root.find("error").findtext("code") == "400"
    assert description.startswith("Adresse ambiguë")
    assert "7 Rue Chabot-Charny 21000 Dijon" in description
    assert "7 Rue Chabot-Charny 21300 Chenôve" in description
    english = post(client, data, headers={"Accept-Language": "en"})
    assert english.get_json()[0]["description"].startswith("Ambiguous address")
    assert english.get_json()[0]["code"] == 400


def test_an_address_the_register_does_not_know_is_a_400(client, api_key, session, address_register):
    response = post(
        client, form(api_key(), lat=None, long=None, address_string="3 rue de Rivoli, Paris")
    )
    assert response.status_code == 400
    (error,) = response.get_json()
    assert "3 rue de Rivoli, Paris" in error["description"]
    assert "lat" in error["description"]
    assert session.scalar(select(func.count()).select_from(Report)) == 0


@pytest.mark.parametrize(
    "place",
    [
        {"lat": None, "long": None},
        {"long": None},
        {"lat": None, "address_string": "12 rue de la Liberté, Dijon"},
    ],
)
def test_without_a_whole_place_the_request_is_refused_clearly(client, api_key, place):
    response = post(client, form(api_key(), **place))
    assert response.status_code == 400
    (error,) = response.get_json()
    assert "address_string" in error["description"] and "lat" in error["description"]


@pytest.mark.parametrize(
    "fields",
    [
        {"service_code": "nope"},
        {"service_code": None},
        {"lat": "48.8566", "long": "2.3522"},  # Paris: outside the 23 communes
        {"lat": "abc"},
        {"lat": "nan"},
        {"long": "inf"},
        {"lat": "91"},
        {"email": "not-an-email"},
        {"phone": "call me"},
        {"media_url": "ftp://example.org/a.jpg"},
        {"description": "x" * 2001},
    ],
)
def test_invalid_requests_are_400_error_documents(client, api_key, fields):
    response = post(client, form(api_key(), **fields))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert all(e["code"] == 400 for e in response.get_json())


def test_the_same_problem_twice_is_a_duplicate_as_in_the_app(client, api_key):
    key = api_key()
    first = post(client, form(key, device_id="a")).get_json()[0]["service_request_id"]
    second = post(client, form(key, device_id="b")).get_json()[0]["service_request_id"]
    (request,) = get_json(client, f"/requests/{second}.json?extensions=true")
    assert request["status"] == "closed"
    assert request["extended_attributes"]["duplicate_of"] == first
    (original,) = get_json(client, f"/requests/{first}.json?extensions=true")
    assert original["extended_attributes"]["support_count"] == 1


def test_media_url_waits_for_the_worker(client, api_key, session):
    response = post(client, form(api_key(), media_url="https://example.org/photo.jpg"))
    reference = response.get_json()[0]["service_request_id"]
    report = session.scalar(select(Report).where(Report.reference == reference))
    submission = session.get(Submission, report.id)
    assert submission.media_url == "https://example.org/photo.jpg"
    assert submission.media_status == "pending"
    (request,) = get_json(client, f"/requests/{reference}.json")
    assert "media_url" not in request


def test_an_api_key_is_required(client):
    response = post(client, form(None))
    assert response.status_code == 403
    assert response.get_json()[0]["code"] == 403
    response = post(client, form(None), fmt="xml")
    assert response.status_code == 403
    assert ET.fromstring(response.data).find("error").findtext("code") == "403"


def test_an_invalid_api_key_is_refused(client, api_key):
    api_key()
    response = post(client, form("s311_not-a-key"))
    assert response.status_code == 403


def test_a_revoked_api_key_is_refused(client, api_key, auth, session):
    key = api_key()
    assert post(client, form(key)).status_code == 201
    listed = client.get("/v1/admin/open311-keys", headers=auth("admin")).get_json()["items"]
    revoked = client.delete(f"/v1/admin/open311-keys/{listed[0]['id']}", headers=auth("admin"))
    assert revoked.status_code == 200
    response = post(client, form(key, lat=str(place(5)["lat"]), long=str(place(5)["lon"])))
    assert response.status_code == 403


def test_each_key_has_its_own_rate_limit(client, api_key):
    limited, other = api_key(rate_limit="2/minute"), api_key(rate_limit="100/minute")
    for n in range(2):
        lat, lon = str(place(n)["lat"]), str(place(n)["lon"])
        assert post(client, form(limited, lat=lat, long=lon)).status_code == 201
    response = post(client, form(limited, lat=str(place(3)["lat"]), long=str(place(3)["lon"])))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.get_json()[0]["code"] == 429
    lat, lon = str(place(4)["lat"]), str(place(4)["lon"])
    assert post(client, form(other, lat=lat, long=lon)).status_code == 201


def test_descriptions_follow_accept_language(client):
    fr = post(client, form(None)).get_json()[0]["description"]
    en = post(client, form(None), headers={"Accept-Language": "en"}).get_json()[0]["description"]
    assert "Clé d'API" in fr
    assert "API key" in en
