"""Helpers of the Open311 tests: reports filed through the app, partner keys, parsing."""

import io
import json
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import text

from app.auth.identity import Identity
from app.extensions import db
from app.open311 import service
from app.users.models import Role
from tests.photos.images import jpeg

DIJON = (5.0415, 47.3220)
BASE = "/open311/v2"


def place(n: int) -> dict:
    """The n-th of a row of places in Dijon, about 150 m apart (no duplicates between)."""
    return {"lon": DIJON[0] + 0.002 * n, "lat": DIJON[1]}


@pytest.fixture
def file_report(client, auth):
    """``file_report(category, n, **fields)``: a report filed by a resident through the app."""
    counter = iter(range(10_000))

    def make(category="other", n=0, answers=None, **fields) -> dict:
        body = {"category": category, "location": place(n), "answers": answers or {}, **fields}
        headers = {**auth(), "Idempotency-Key": f"report-{next(counter)}"}
        response = client.post("/v1/reports", json=body, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    return make


@pytest.fixture
def set_report(app):
    """``set_report(reference, status=..., created_at=...)``: as triage would move it."""

    def update(reference: str, **columns) -> None:
        assignments = ", ".join(f"{c} = :{c}" for c in columns)
        with app.app_context():
            db.session.execute(
                text(f"UPDATE reports SET {assignments} WHERE reference = :reference"),
                {**columns, "reference": reference},
            )
            db.session.commit()
            db.session.remove()

    return update


@pytest.fixture
def ready_photo(app, client, auth):
    """A processed photo on a report (processed here, as the worker would)."""
    from app.reports.photos import process_photo

    def make(report_id: int, headers: dict) -> dict:
        response = client.post(
            f"/v1/reports/{report_id}/photos",
            headers={**headers, "Idempotency-Key": f"photo-{report_id}"},
            data={"file": (io.BytesIO(jpeg()), "photo.jpg")},
        )
        assert response.status_code == 202, response.get_data(as_text=True)
        with app.app_context():
            assert process_photo(db.session, response.get_json()["id"]) == "ready"
            db.session.remove()
        return response.get_json()

    return make


@pytest.fixture
def api_key(app):
    """``api_key(rate_limit=...)``: a partner key, as an admin would issue it."""

    def make(rate_limit: str = "1000/minute", name: str = "Partner app") -> str:
        with app.app_context():
            created = service.create_key(
                db.session,
                actor=Identity(uid="admin-1", role=Role.ADMIN, anonymous=False, email=None),
                name=name,
                contact=None,
                rate_limit=rate_limit,
            )
            db.session.remove()
        return created["api_key"]

    return make


def get_xml(client, path: str, status: int = 200, **kwargs) -> ET.Element:
    response = client.get(BASE + path, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    return ET.fromstring(response.data)


def get_json(client, path: str, status: int = 200, **kwargs):
    response = client.get(BASE + path, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return json.loads(response.data)


def children(element: ET.Element) -> dict[str, str | None]:
    """A flat element's children as {name: text}."""
    return {child.tag: child.text for child in element}


@pytest.fixture
def address_register(session):
    """The small BAN register of tests/addresses, imported."""
    from app.addresses import importing
    from tests.addresses.conftest import REGISTER, ban_csv

    assert importing.import_file(session, ban_csv()).inserted == len(REGISTER)
