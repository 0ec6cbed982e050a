"""Internal reporters (Open311 partners' residents, sensor feeds) are not people: no token
may carry their uid, so nobody reads what was filed under it."""

import pytest
from sqlalchemy import select

from app.auth.identity import is_internal_uid
from app.auth.tokens import mint_emulator_token
from app.feeds.faults import sensor_uid
from app.reports.models import Report
from app.users.models import Role
from tests.conftest import PROJECT_ID
from tests.open311.conftest import BASE, DIJON


def bearer(uid: str) -> dict:
    return {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, uid)}"}


def test_a_token_with_an_open311_reporters_uid_cannot_read_its_contact_details(
    client, app, session
):
    from app.auth.identity import Identity
    from app.open311 import service

    key = service.create_key(
        session,
        actor=Identity(uid="admin-1", role=Role.ADMIN, anonymous=False, email=None),
        name="Partner",
        contact=None,
        rate_limit="1000/minute",
    )["api_key"]
    filed = client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": key,
            "service_code": "other",
            "lat": str(DIJON[1]),
            "long": str(DIJON[0]),
            "first_name": "Jean",
            "last_name": "Dupont",
            "email": "j@example.fr",
            "phone": "0612345678",
        },
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    reference = filed.get_json()[0]["service_request_id"]
    report = session.scalar(select(Report).where(Report.reference == reference))
    assert report.reporter_uid.startswith("open311:")

    for path in ("/v1/me/reports", f"/v1/reports/{report.id}", "/v1/me"):
        refused = client.get(path, headers={**bearer(report.reporter_uid), "Accept-Language": "fr"})
        assert refused.status_code == 401, path
        body = refused.get_json()
        assert body["code"] == "token_uid_reserved"
        assert "identifiant réservé" in body["detail"]
        assert "Dupont" not in refused.get_data(as_text=True)
        assert "0612345678" not in refused.get_data(as_text=True)


@pytest.mark.parametrize("uid", ["open311:1:0123456789abcdef", sensor_uid("lampadaires")])
def test_a_token_naming_an_internal_reporter_is_refused_in_english_too(client, uid):
    refused = client.get("/v1/me", headers={**bearer(uid), "Accept-Language": "en"})
    assert refused.status_code == 401
    assert refused.get_json()["code"] == "token_uid_reserved"
    assert "reserved for reports received through other channels" in refused.get_json()["detail"]
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_people_whose_uid_merely_resembles_a_namespace_still_sign_in(client):
    for uid in ("open311", "sensors:x", "my-open311:x", "Xsensor:1"):
        assert client.get("/v1/me", headers=bearer(uid)).status_code == 200, uid


def test_internal_uids_are_the_ones_open311_and_sensors_file_under():
    assert is_internal_uid(sensor_uid("lampadaires"))
    assert is_internal_uid("open311:3:abc")
    assert not is_internal_uid("k3J9xYqPz1aBcDeFgHiJkLmNoPq2")  # a Firebase-generated uid


def test_no_staff_account_can_be_given_an_internal_uid(client, auth):
    admin = auth(Role.ADMIN)
    for uid in ("sensor:lampadaires", "open311:1:abc"):
        refused = client.put(
            f"/v1/admin/users/{uid}",
            json={"role": "agent", "desks": ["voirie"]},
            headers={**admin, "Accept-Language": "en"},
        )
        assert refused.status_code == 422, refused.get_data(as_text=True)
        assert "reserved" in str(refused.get_json()["errors"])
