"""The DCAT-AP catalogue (JSON-LD) and the Table Schemas it points at."""

import csv
import io
import json
import re

import pytest

from app.opendata import service
from app.storage import FilesystemStorage
from tests.conftest import MEDIA_ROOT
from tests.opendata.conftest import database

CATALOG = "/v1/opendata/catalog"
LICENCE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
RDF_TYPE = "@type"
# DCAT-AP 2.x mandatory properties of the mandatory classes.
MANDATORY = {
    DCAT + "Catalog": (DCT + "title", DCT + "description", DCT + "publisher", DCAT + "dataset"),
    DCAT + "Dataset": (DCT + "title", DCT + "description"),
    DCAT + "Distribution": (DCAT + "accessURL",),
}
# The reporter's text, contact, uid (resident-<n>) and address (<n> rue de la Liberté).
SECRETS = ("Durand", "durand@example.org", "06 12 34 56 78", r"resident-\d", "Liberté")


@pytest.fixture
def exported(app, add_report, history):
    contact = {"name": "Mme Durand", "email": "durand@example.org", "phone": "06 12 34 56 78"}
    add_report(created_hours_ago=24 * 3, description="Chez Mme Durand", contact=contact)
    history(add_report(created_hours_ago=30), ("acknowledged", 1), ("resolved", 5))
    add_report(created_hours_ago=1)
    with database(app) as session:
        service.export_reports(
            session, FilesystemStorage(MEDIA_ROOT), **service.settings(app.config)
        )


def expand(node, context: dict):
    """Every compact IRI and term of ``node`` written out in full with the document's
    context (a minimal JSON-LD expansion: prefixes only, which is all the catalogue uses);
    fails on a term the context does not define."""

    def iri(term: str) -> str:
        if term.startswith("@") or "://" in term:
            return term
        prefix, _, local = term.partition(":")
        assert prefix in context, f"{term}: prefix not in the @context"
        return context[prefix] + local

    if isinstance(node, list):
        return [expand(item, context) for item in node]
    if not isinstance(node, dict):
        return node
    expanded = {}
    for key, value in node.items():
        if key == "@context":
            continue
        if key in ("@type", "@id") and isinstance(value, str):
            expanded[key] = iri(value)
        else:
            expanded[iri(key)] = expand(value, context)
    return expanded


def nodes(node):
    """Every node object of an expanded document."""
    if isinstance(node, list):
        for item in node:
            yield from nodes(item)
    elif isinstance(node, dict):
        yield node
        for value in node.values():
            yield from nodes(value)


def listing(client) -> list[dict]:
    items, cursor = [], None
    while True:
        page = client.get("/v1/opendata/files?limit=200" + (f"&cursor={cursor}" if cursor else ""))
        items += page.get_json()["items"]
        cursor = page.get_json()["next_cursor"]
        if cursor is None:
            return items


def test_the_catalogue_is_json_ld_with_the_dcat_ap_mandatory_properties(client, exported):
    response = client.get(CATALOG)
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    document = json.loads(response.data)
    graph = expand(document, document["@context"])
    typed = [node for node in nodes(graph) if node.get(RDF_TYPE) in MANDATORY]
    assert {node[RDF_TYPE] for node in typed} == set(MANDATORY)
    for node in typed:
        for prop in MANDATORY[node[RDF_TYPE]]:
            assert node.get(prop), f"{node.get('@id')} ({node[RDF_TYPE]}) lacks {prop}"
    assert graph["@type"] == DCAT + "Catalog"
    assert graph[DCT + "license"] == {"@id": LICENCE}
    assert graph[DCT + "publisher"]["http://xmlns.com/foaf/0.1/name"] == "Dijon Métropole"
    for dataset in graph[DCAT + "dataset"]:
        assert dataset[DCT + "license"] == {"@id": LICENCE}
        assert dataset[DCT + "accrualPeriodicity"] == {
            "@id": "http://publications.europa.eu/resource/authority/frequency/DAILY"
        }
        assert {t["@language"] for t in dataset[DCT + "title"]} == {"fr", "en"}
        assert {t["@language"] for t in dataset[DCT + "description"]} == {"fr", "en"}
        assert (
            dataset[DCT + "temporal"][DCAT + "startDate"]["@type"]
            == "http://www.w3.org/2001/XMLSchema#date"
        )
        assert dataset[DCT + "spatial"][DCAT + "bbox"]["@value"].startswith("POLYGON")


def test_every_published_file_is_a_distribution_with_its_url_size_and_checksum(client, exported):
    document = client.get(CATALOG).get_json(force=True)
    distributions = {
        d["dcat:downloadURL"]["@id"]: (dataset["dct:identifier"], d)
        for dataset in document["dcat:dataset"]
        for d in dataset["dcat:distribution"]
    }
    files = listing(client)
    days = {f["day"] for f in files if f["day"]}  # 72, 30 and 1 hours ago: 2 or 3 days
    assert len(files) == 3 * (1 + len(days)) + 4 * 2  # reports in 3 formats, 4 tables x 2
    assert set(distributions) == {f["url"] for f in files}
    for entry in files:
        dataset, distribution = distributions[entry["url"]]
        assert dataset == entry["dataset"]
        assert distribution["dcat:accessURL"]["@id"] == entry["url"]
        assert distribution["dcat:byteSize"]["@value"] == str(entry["size_bytes"])
        assert distribution["spdx:checksum"]["spdx:checksumValue"]["@value"] == entry["sha256"]
        assert distribution["dcat:mediaType"]["@id"].endswith(entry["media_type"])
        assert distribution["dct:license"]["@id"] == LICENCE
    datasets = {d["dct:identifier"] for d in document["dcat:dataset"]}
    assert datasets == {
        "reports",
        "reports-daily",
        "reports-by-month",
        "resolution-times",
        "service-level",
        "sources",
    }


def test_no_personal_data_in_the_catalogue(client, exported):
    body = client.get(CATALOG).get_data(as_text=True)
    for secret in SECRETS:
        assert not re.search(secret, body), secret


def test_before_any_export_the_catalogue_has_no_dataset_and_it_revalidates(client, app):
    response = client.get(CATALOG)
    assert response.status_code == 200
    assert response.get_json(force=True)["dcat:dataset"] == []
    again = client.get(CATALOG, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_each_dataset_conforms_to_a_table_schema_of_its_csv_columns(client, exported):
    document = client.get(CATALOG).get_json(force=True)
    files = {f["url"]: f for f in listing(client)}
    for dataset in document["dcat:dataset"]:
        schema_url = dataset["dct:conformsTo"]["@id"]
        schema = client.get(schema_url)
        assert schema.status_code == 200 and schema.mimetype == "application/json"
        fields = [field["name"] for field in schema.get_json()["fields"]]
        for distribution in dataset["dcat:distribution"]:
            assert distribution["dct:conformsTo"]["@id"] == schema_url
            entry = files[distribution["dcat:downloadURL"]["@id"]]
            if entry["format"] == "csv":
                body = client.get(entry["url"]).get_data(as_text=True)
                assert next(csv.reader(io.StringIO(body))) == fields


def test_an_unknown_schema_is_a_problem(client):
    response = client.get("/v1/opendata/schemas/people.json")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "opendata_schema_not_found"
