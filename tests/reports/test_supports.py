"""Supports ("me too"): limited per address as reports are, and those of anonymous sign-ins
(which anyone can mint) counted apart for staff."""

import uuid

import pytest
from sqlalchemy import select

from app.auth.tokens import mint_emulator_token
from app.extensions import db
from app.reports.models import Report, ReportSupporter
from app.users.models import Role
from tests.conftest import PROJECT_ID, make_app
from tests.triage.helpers import act

DIJON = {"lon": 5.0415, "lat": 47.3220}


def anonymous(uid: str | None = None) -> dict:
    uid = uid or f"anon-{uuid.uuid4().hex[:10]}"
    return {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, uid, anonymous=True)}"}


def file(client, headers, *, at=DIJON, key=None, category="other") -> dict:
    answers = {"pothole": {"size": "small"}}.get(category, {})
    response = client.post(
        "/v1/reports",
        json={"category": category, "location": at, "answers": answers},
        headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def support(client, headers, report_id, lang="en"):
    return client.post(
        f"/v1/reports/{report_id}/support", headers={**headers, "Accept-Language": lang}
    )


@pytest.fixture
def limited(app, database_url):
    return make_app(
        database_url,
        RATELIMIT_KEY_PREFIX=f"rl-{uuid.uuid4().hex[:8]}",
        RATELIMIT_SUPPORTS_PER_IP="8/minute",
        RATELIMIT_SUPPORTS_PER_IP_AND_REPORT="5/day",
    )


def test_anonymous_sign_ins_from_one_address_cannot_inflate_a_reports_support_count(limited, auth):
    client = limited.test_client()
    report = file(client, auth(uid="reporter-inflated"))
    codes = [support(client, anonymous(), report["id"]).status_code for _ in range(25)]
    assert codes == [200] * 5 + [429] * 20
    refused = support(client, anonymous(), report["id"], lang="fr")
    assert refused.get_json()["code"] == "rate_limited"
    assert "Trop de requêtes" in refused.get_json()["detail"]
    assert refused.headers["Retry-After"]
    shown = client.get(f"/v1/reports/{report['id']}", headers=auth()).get_json()
    assert shown["support_count"] == 5


def test_supports_from_one_address_are_limited_across_reports(limited, auth):
    client = limited.test_client()
    reporter = auth(uid="reporter-many")
    reports = [
        file(client, reporter, at={"lon": DIJON["lon"] + 0.003 * n, "lat": DIJON["lat"]})
        for n in range(9)
    ]
    codes = [support(client, auth(), r["id"]).status_code for r in reports]
    assert codes == [200] * 8 + [429]


def test_staff_see_anonymous_supports_apart_and_the_public_count_is_the_total(client, auth, app):
    report = file(client, auth(uid="reporter-split"))
    for headers in (anonymous(), anonymous(), auth(uid="signed-in-supporter")):
        response = support(client, headers, report["id"])
        assert response.status_code == 200, response.get_json()
    with app.app_context():
        flags = db.session.scalars(select(ReportSupporter.anonymous)).all()
        db.session.remove()
    assert sorted(flags) == [False, True, True]

    staff = client.get(f"/v1/reports/{report['id']}", headers=auth(Role.SUPERVISOR)).get_json()
    assert (staff["support_count"], staff["anonymous_support_count"]) == (3, 2)
    public = client.get(f"/v1/reports/{report['id']}", headers=anonymous()).get_json()
    assert public["support_count"] == 3
    assert "anonymous_support_count" not in public
    desk = staff["desk"]["code"]
    queue = client.get(f"/v1/desks/{desk}/queue", headers=auth(Role.SUPERVISOR)).get_json()
    (item,) = [i for i in queue["items"] if i["id"] == report["id"]]
    assert (item["support_count"], item["anonymous_support_count"]) == (3, 2)


def test_an_anonymous_reporter_of_a_duplicate_supports_the_original_as_anonymous(client, auth):
    original = file(client, auth(uid="first-reporter"), category="pothole")
    duplicate = file(client, anonymous("anon-duplicate"), category="pothole")
    assert duplicate["status"] == "duplicate"
    staff = client.get(f"/v1/reports/{original['id']}", headers=auth(Role.SUPERVISOR)).get_json()
    assert (staff["support_count"], staff["anonymous_support_count"]) == (1, 1)


def test_a_merge_moves_anonymous_supports_as_anonymous(client, auth, app):
    supervisor = auth(Role.SUPERVISOR)
    target = file(client, auth(uid="target-reporter"))
    far = {"lon": DIJON["lon"] + 0.01, "lat": DIJON["lat"]}  # not a duplicate: 750 m away
    merged = file(client, anonymous("anon-merged-reporter"), at=far)
    assert support(client, anonymous(), merged["id"]).status_code == 200
    assert support(client, auth(uid="signed-in-2"), merged["id"]).status_code == 200
    assert support(client, anonymous(), target["id"]).status_code == 200

    response = act(client, supervisor, merged["id"], "merge", {"into": target["id"]})
    assert response.status_code == 200, response.get_json()
    staff = client.get(f"/v1/reports/{target['id']}", headers=supervisor).get_json()
    # Its own anonymous supporter, plus the merged report's reporter and two supporters.
    assert (staff["support_count"], staff["anonymous_support_count"]) == (4, 3)
    with app.app_context():
        left = db.session.get(Report, merged["id"])
        assert (left.support_count, left.anonymous_support_count) == (0, 0)
        db.session.remove()
