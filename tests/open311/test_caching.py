"""Caching of the public GET documents: a strong ETag (304 when the client has it),
Cache-Control, Last-Modified, Vary; the ETag changes when a request changes."""

from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.http import parse_date

from tests.open311.conftest import BASE

DOCUMENTS = [
    ("/discovery", 3600),
    ("/services", 600),
    ("/services/pothole", 600),
    ("/requests", 60),
]


@pytest.mark.parametrize("fmt", ["xml", "json"])
@pytest.mark.parametrize(("path", "max_age"), DOCUMENTS)
def test_get_documents_are_publicly_cacheable_and_revalidated_by_etag(
    client, file_report, path, max_age, fmt
):
    file_report("pothole", answers={"size": "small"})
    first = client.get(f"{BASE}{path}.{fmt}")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    assert first.headers["Cache-Control"] == f"public, max-age={max_age}"
    assert first.headers["Last-Modified"]
    again = client.get(f"{BASE}{path}.{fmt}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Cache-Control"] == f"public, max-age={max_age}"
    other = client.get(f"{BASE}{path}.{fmt}", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


def test_documents_in_words_vary_on_the_language_and_the_discovery_does_not(client):
    french = client.get(f"{BASE}/services.json")
    english = client.get(f"{BASE}/services.json", headers={"Accept-Language": "en"})
    assert french.headers["Vary"] == "Accept-Language"
    assert french.headers["ETag"] != english.headers["ETag"]
    stale = client.get(
        f"{BASE}/services.json",
        headers={"Accept-Language": "en", "If-None-Match": french.headers["ETag"]},
    )
    assert stale.status_code == 200
    assert "Vary" not in client.get(f"{BASE}/discovery.json").headers


def test_the_etag_of_the_list_and_of_the_request_change_when_the_request_changes(
    client, file_report, set_report, now
):
    reference = file_report("pothole", answers={"size": "small"})["reference"]
    paths = [f"{BASE}/requests.json", f"{BASE}/requests/{reference}.json"]
    before = {path: client.get(path).headers["ETag"] for path in paths}
    set_report(reference, status="resolved", updated_at=now + timedelta(seconds=2))
    for path in paths:
        response = client.get(path, headers={"If-None-Match": before[path]})
        assert response.status_code == 200, path
        assert response.headers["ETag"] != before[path]
        assert response.get_json()[0]["status"] == "closed"


def test_last_modified_of_requests_is_their_latest_update(client, file_report, set_report):
    first = file_report(n=0)["reference"]
    file_report(n=1)
    latest = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    set_report(first, updated_at=latest)
    listed = client.get(f"{BASE}/requests.json")
    assert parse_date(listed.headers["Last-Modified"]) == latest
    one = client.get(f"{BASE}/requests/{first}.xml")
    assert parse_date(one.headers["Last-Modified"]) == latest
    since = client.get(
        f"{BASE}/requests/{first}.xml",
        headers={"If-Modified-Since": listed.headers["Last-Modified"]},
    )
    assert since.status_code == 304


def test_errors_are_not_given_caching_headers(client):
    response = client.get(f"{BASE}/requests/DIJ-2026-999999.json")
    assert response.status_code == 404
    assert "ETag" not in response.headers and "Cache-Control" not in response.headers
