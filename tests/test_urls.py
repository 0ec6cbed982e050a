"""Every absolute URL the service hands out is under PUBLIC_BASE_URL, whatever Host header
the request came with (app/urls.py): the open data listing and catalogue, the exported
files' photo links, Open311 discovery and media URLs."""

import csv
import io

import pytest

from app.opendata import service
from app.storage import FilesystemStorage
from tests.conftest import MEDIA_ROOT, make_app
from tests.factories import add_report, database  # noqa: F401 (add_report: a fixture)
from tests.opendata.conftest import add_photo  # noqa: F401 (fixture)

# A base with a path, as behind a reverse proxy that serves the API under /signale.
BASE = "https://donnees.example.fr/signale"
HOSTILE = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


@pytest.fixture
def published(app, database_url, add_report, add_photo):  # noqa: F811
    """An application published under BASE, with a report, its photo and the nightly files."""
    public = make_app(database_url, PUBLIC_BASE_URL=BASE + "/")
    report_id = add_report(reference="DIJ-2026-000001")
    add_photo(report_id)
    with database(public) as session:
        service.export_reports(
            session, FilesystemStorage(MEDIA_ROOT), **service.settings(public.config)
        )
    return public.test_client()


def strings(document):
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from strings(value)
    elif isinstance(document, list):
        for item in document:
            yield from strings(item)


def get(client, path: str):
    response = client.get(path, headers=HOSTILE)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "evil.example" not in response.get_data(as_text=True)
    return response


def test_a_hostile_host_header_gets_public_base_url_links_everywhere(published):
    files = get(published, "/v1/opendata/files").get_json()["items"]
    assert files
    for entry in files:
        assert entry["url"] == f"{BASE}/v1/opendata/files/{entry['name']}"
    # The exported photo links follow the same rule as the files that carry them.
    reports_csv = get(published, "/v1/opendata/files/reports.csv").get_data(as_text=True)
    (row,) = csv.DictReader(io.StringIO(reports_csv))
    assert row["photo_url"].startswith(f"{BASE}/v1/media/display/")

    catalog = get(published, "/v1/opendata/catalog").get_json()
    assert catalog["@id"] == f"{BASE}/v1/opendata/catalog"
    ours = [s for s in strings(catalog) if "/v1/opendata/" in s]
    assert any(s.startswith(f"{BASE}/v1/opendata/files/") for s in ours)
    assert any(s.startswith(f"{BASE}/v1/opendata/schemas/") for s in ours)
    assert all(s.startswith(f"{BASE}/v1/opendata/") for s in ours)

    discovery = get(published, "/open311/v2/discovery.json").get_json()
    assert [e["url"] for e in discovery["endpoints"]] == [f"{BASE}/open311/v2/"]
    (request,) = get(published, "/open311/v2/requests.json").get_json()
    assert request["media_url"].startswith(f"{BASE}/v1/media/display/")
