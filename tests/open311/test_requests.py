"""GET requests, requests/{id} and their filters, defaults and extensions, in both formats."""

import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from app.extensions import db
from tests.addresses.conftest import add_addresses
from tests.factories import database
from tests.open311.conftest import children, get_json, get_xml
from tests.photos.images import jpeg

SPEC_FIELDS = {
    "service_request_id",
    "status",
    "service_name",
    "service_code",
    "agency_responsible",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "lat",
    "long",
}


def test_requests_xml_carries_the_spec_fields_of_each_request(app, client, file_report):
    # The register's address nearest the report's public position names its street.
    with database(app) as session:
        add_addresses(
            session,
            [
                (
                    "21231_0420_00030",
                    30,
                    "",
                    "Rue de la Liberté",
                    "21000",
                    "21231",
                    "Dijon",
                    5.0416,
                    47.322,
                )
            ],
        )
    filed = file_report("pothole", answers={"size": "small"}, address="30 rue de la Liberté")
    root = get_xml(client, "/requests.xml")
    assert root.tag == "service_requests"
    (request,) = root
    assert request.tag == "request"
    fields = children(request)
    assert set(fields) == SPEC_FIELDS
    assert fields["service_request_id"] == filed["reference"]
    assert fields["status"] == "open"
    assert fields["service_code"] == "pothole"
    assert fields["service_name"] == "Nid-de-poule"
    assert fields["agency_responsible"] == filed["desk"]["name_fr"]
    assert fields["address"] == "Rue de la Liberté 21000 Dijon"  # never the typed text
    assert datetime.fromisoformat(fields["requested_datetime"]).utcoffset() is not None
    assert datetime.fromisoformat(fields["expected_datetime"]) > datetime.fromisoformat(
        fields["requested_datetime"]
    )
    assert abs(float(fields["lat"]) - 47.322) < 0.001
    assert abs(float(fields["long"]) - 5.0415) < 0.001


def test_requests_json_is_a_list_of_the_same_requests(client, file_report):
    filed = file_report("pothole", answers={"size": "small"})
    (request,) = get_json(client, "/requests.json", headers={"Accept-Language": "en"})
    assert set(request) == SPEC_FIELDS - {"address"}  # no address given: left out
    assert request["service_request_id"] == filed["reference"]
    assert request["service_name"] == "Pothole"
    assert request["agency_responsible"] == filed["desk"]["name_en"]
    assert isinstance(request["lat"], float)
    assert "zipcode" not in request  # not known: omitted


def test_the_expected_datetime_is_the_due_date(client, file_report, app):
    filed = file_report("pothole", answers={"size": "small"})
    with app.app_context():
        due = db.session.scalar(
            text("SELECT due_at FROM reports WHERE reference = :r"), {"r": filed["reference"]}
        )
        db.session.remove()
    (request,) = get_json(client, "/requests.json")
    assert datetime.fromisoformat(request["expected_datetime"]) == due.replace(microsecond=0)


def test_open_states_are_open_closed_states_closed_and_the_detail_is_an_extension(
    client, file_report, set_report
):
    states = ["new", "acknowledged", "in_progress", "resolved", "rejected", "closed"]
    references = {}
    for n, state in enumerate(states):
        reference = file_report(n=n)["reference"]
        set_report(reference, status=state)
        references[reference] = state
    requests = get_json(client, "/requests.json?extensions=true")
    assert {r["service_request_id"]: r["status"] for r in requests} == {
        ref: "closed" if state in ("resolved", "rejected", "closed") else "open"
        for ref, state in references.items()
    }
    for request in requests:
        extended = request["extended_attributes"]
        assert extended["detailed_status"] == references[request["service_request_id"]]
        assert extended["commune"] == "Dijon"
        assert extended["channel"] == "app"
    assert all("extended_attributes" not in r for r in get_json(client, "/requests.json"))
    root = get_xml(client, "/requests.xml?extensions=true")
    extended = root.find("request").find("extended_attributes")
    assert extended.findtext("detailed_status") in states
    assert extended.findtext("support_count") == "0"


def test_a_duplicate_is_closed_and_names_its_original_in_the_extension(client, file_report):
    original = file_report("pothole", answers={"size": "small"})
    duplicate = file_report("pothole", answers={"size": "small"})
    (request,) = get_json(client, f"/requests/{duplicate['reference']}.json?extensions=true")
    assert request["status"] == "closed"
    assert request["extended_attributes"]["detailed_status"] == "duplicate"
    assert request["extended_attributes"]["duplicate_of"] == original["reference"]


def test_status_filter_open_closed_and_both(client, file_report, set_report):
    open_ref = file_report(n=0)["reference"]
    closed_ref = file_report(n=1)["reference"]
    set_report(closed_ref, status="resolved")

    def ids(query):
        return {r["service_request_id"] for r in get_json(client, f"/requests.json?{query}")}

    assert ids("status=open") == {open_ref}
    assert ids("status=closed") == {closed_ref}
    assert ids("status=open,closed") == {open_ref, closed_ref}
    assert ids("status=OPEN") == {open_ref}


def test_service_request_id_takes_a_comma_list_and_ignores_other_filters(
    client, file_report, set_report, now
):
    refs = [file_report(n=n)["reference"] for n in range(3)]
    set_report(refs[0], created_at=now - timedelta(days=400))
    found = get_json(client, f"/requests.json?service_request_id={refs[0]},{refs[2]}&status=closed")
    assert {r["service_request_id"] for r in found} == {refs[0], refs[2]}


def test_service_code_filter(client, file_report):
    file_report("other", n=0)
    pothole = file_report("pothole", n=1, answers={"size": "small"})["reference"]
    found = get_json(client, "/requests.json?service_code=pothole")
    assert [r["service_request_id"] for r in found] == [pothole]
    assert len(get_json(client, "/requests.json?service_code=pothole,other")) == 2


def test_without_dates_only_the_last_90_days_are_listed(client, file_report, set_report, now):
    recent = file_report(n=0)["reference"]
    old = file_report(n=1)["reference"]
    set_report(old, created_at=now - timedelta(days=91))
    assert [r["service_request_id"] for r in get_json(client, "/requests.json")] == [recent]
    start = (now - timedelta(days=100)).isoformat()
    end = (now - timedelta(days=20)).isoformat()
    found = get_json(client, "/requests.json", query_string={"start_date": start, "end_date": end})
    assert [r["service_request_id"] for r in found] == [old]


def test_a_start_date_alone_spans_90_days_from_it(client, file_report, set_report):
    old = file_report(n=0)["reference"]
    older = file_report(n=1)["reference"]
    set_report(old, created_at=datetime(2026, 3, 1, 12, tzinfo=UTC))
    set_report(older, created_at=datetime(2026, 1, 1, 12, tzinfo=UTC))
    found = get_json(client, "/requests.json?start_date=2026-02-01")
    assert [r["service_request_id"] for r in found] == [old]
    found = get_json(client, "/requests.json?end_date=2026-01-15T00:00:00Z")
    assert [r["service_request_id"] for r in found] == [older]


def test_a_range_longer_than_90_days_is_a_400_error_document(client):
    root = get_xml(client, "/requests.xml?start_date=2026-01-01&end_date=2026-06-01", status=400)
    assert root.tag == "errors"
    assert root.find("error").findtext("code") == "400"
    assert "90" in root.find("error").findtext("description")


def test_at_most_1000_requests_newest_first_then_pages(client, app, file_report):
    newest = file_report(n=0)["reference"]
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO reports (category_id, geom, reporter_uid, commune_insee, created_at)"
                " SELECT c.id, ST_SetSRID(ST_MakePoint(5.04 + g * 0.00001, 47.32), 4326),"
                " 'bulk', '21231', now() - make_interval(mins => g)"
                " FROM generate_series(1, 1005) g, categories c WHERE c.code = 'other'"
            )
        )
        db.session.commit()
        db.session.remove()
    first = get_json(client, "/requests.json")
    assert len(first) == 1000
    assert first[0]["service_request_id"] == newest
    times = [r["requested_datetime"] for r in first]
    assert times == sorted(times, reverse=True)
    second = get_json(client, "/requests.json?page=2")
    assert len(second) == 6
    assert not {r["service_request_id"] for r in first} & {r["service_request_id"] for r in second}
    small = get_json(client, "/requests.json?page_size=10&page=3")
    assert [r["service_request_id"] for r in small] == [
        r["service_request_id"] for r in first[20:30]
    ]


def test_updated_after_and_before(client, file_report, set_report, now):
    stale = file_report(n=0)["reference"]
    fresh = file_report(n=1)["reference"]
    set_report(stale, updated_at=now - timedelta(days=200))
    between = {"updated_after": (now - timedelta(days=100)).isoformat()}
    found = get_json(client, "/requests.json", query_string=between)
    assert [r["service_request_id"] for r in found] == [fresh]
    between = {"updated_before": (now - timedelta(days=100)).isoformat()}
    found = get_json(client, "/requests.json", query_string=between)
    assert [r["service_request_id"] for r in found] == [stale]


def test_bad_parameters_are_400_error_documents(client):
    for query in (
        "start_date=yesterday",
        "status=pending",
        "page=0",
        "page_size=1001",
        "page=abc",
        "end_date=2026-01-01&start_date=2026-02-01",
        "service_code=a%00b",
    ):
        document = get_json(client, f"/requests.json?{query}", status=400)
        assert document[0]["code"] == 400, query


def test_one_request_by_its_reference_in_both_formats(client, file_report):
    filed = file_report("pothole", answers={"size": "small"})
    root = get_xml(client, f"/requests/{filed['reference']}.xml")
    assert root.tag == "service_requests"
    assert root.find("request").findtext("service_request_id") == filed["reference"]
    (request,) = get_json(client, f"/requests/{filed['reference']}.json")
    assert request["service_code"] == "pothole"


def test_an_unknown_request_is_404(client):
    root = get_xml(client, "/requests/DIJ-2026-999999.xml", status=404)
    assert root.find("error").findtext("code") == "404"
    get_json(client, "/requests/DIJ-2026-999999.json", status=404)


def test_a_report_waiting_for_its_photo_position_is_not_public(client, auth):
    headers = {**auth(), "Idempotency-Key": "unplaced"}
    response = client.post("/v1/reports", json={"category": "other"}, headers=headers)
    assert response.status_code == 201
    reference = response.get_json()["reference"]
    assert get_json(client, "/requests.json") == []
    get_json(client, f"/requests/{reference}.json", status=404)


def test_media_url_is_the_public_display_photo(client, file_report, ready_photo, auth):
    headers = auth(uid="photographer")
    response = client.post(
        "/v1/reports",
        json={"category": "other", "location": {"lon": 5.0415, "lat": 47.322}},
        headers={**headers, "Idempotency-Key": "with-photo"},
    )
    report = response.get_json()
    ready_photo(report["id"], headers)
    (request,) = get_json(client, f"/requests/{report['reference']}.json")
    base = "https://signale.metropole-dijon.fr"  # PUBLIC_BASE_URL, not the request's host
    assert request["media_url"].startswith(f"{base}/v1/media/display/")
    assert client.get(request["media_url"].removeprefix(base)).status_code == 200


def test_media_url_is_never_a_reopen_or_after_photo(app, client, auth):
    from app.reports.photos import process_photo

    headers = auth(uid="photographer")
    report = client.post(
        "/v1/reports",
        json={"category": "other", "location": {"lon": 5.0415, "lat": 47.322}},
        headers={**headers, "Idempotency-Key": "reopen-photo"},
    ).get_json()
    photo = client.post(
        f"/v1/reports/{report['id']}/photos",
        headers={**headers, "Idempotency-Key": "p"},
        query_string={"kind": "reopen"},
        data={"file": (io.BytesIO(jpeg()), "photo.jpg")},
    ).get_json()
    with app.app_context():
        assert process_photo(db.session, photo["id"]) == "ready"
        db.session.remove()
    (request,) = get_json(client, f"/requests/{report['reference']}.json")
    assert "media_url" not in request


def test_positions_are_snapped_to_the_grid(client, file_report, app):
    filed = file_report(n=0)
    (request,) = get_json(client, "/requests.json")
    with app.app_context():
        x, y = db.session.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID("
                "ST_MakePoint(:lon, :lat), 4326), 2154) p) s"
            ),
            {"lon": request["long"], "lat": request["lat"]},
        ).one()
        db.session.remove()
    # On a 50 m node of Lambert-93 (to the rounding of 6 decimals of a degree).
    assert abs(x / 50 - round(x / 50)) * 50 < 0.2
    assert abs(y / 50 - round(y / 50)) * 50 < 0.2
    assert filed["location"]["coordinates"] != [request["long"], request["lat"]]
