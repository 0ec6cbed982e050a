import re
import threading
from datetime import datetime, timedelta

import psycopg
import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.reports.models import Report, ReportFollower
from app.reports.service import SUBMIT_SCOPE
from app.users.models import Role
from tests.conftest import make_app

DIJON = {"lon": 5.0415, "lat": 47.3220}
POTHOLE = {
    "category": "pothole",
    "location": {**DIJON, "accuracy_m": 6},
    "address": "12 rue de la Liberté",
    "description": "Trou profond devant la boutique",
    "answers": {"size": "large", "on_cycle_lane": False},
    "contact": {
        "name": "Camille",
        "email": "camille@example.fr",
        "phone": "06 12 34 56 78",
        "by_email": True,
    },
}
PERSONAL = ("Camille", "camille@example.fr", "06 12 34 56 78", "Trou profond")


@pytest.fixture
def resident(token_for):
    token = token_for(Role.RESIDENT, uid="camille")
    return {"Authorization": f"Bearer {token}"}


def submit(client, headers, body=POTHOLE, key="key-1"):
    return client.post("/v1/reports", headers={**headers, "Idempotency-Key": key}, json=body)


def count_reports(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(Report))
        db.session.remove()
        return n


def test_a_report_is_created_with_a_reference_its_commune_and_the_reporters_view(
    app, client, resident
):
    response = submit(client, resident)
    assert response.status_code == 201
    body = response.get_json()
    assert re.fullmatch(r"DIJ-\d{4}-\d{6}", body["reference"])
    assert response.headers["Location"] == f"/v1/reports/{body['id']}"
    assert body["commune"] == {"insee_code": "21231", "name": "Dijon"}
    assert body["location"] == {"type": "Point", "coordinates": [5.0415, 47.322]}
    assert body["is_mine"] is True
    assert body["contact"]["email"] == "camille@example.fr"
    assert body["answers"] == {"size": "large", "on_cycle_lane": False}
    assert body["status"] == "new"


def test_outside_the_service_area_is_422_naming_the_nearest_commune(app, client, resident):
    body = {**POTHOLE, "location": {"lon": 4.84, "lat": 47.026}}  # Beaune
    response = client.post(
        "/v1/reports",
        json=body,
        headers={**resident, "Idempotency-Key": "k", "Accept-Language": "en"},
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "outside_service_area"
    assert "Flavignerot" in problem["detail"]
    assert "location" in problem["errors"]["json"]
    assert count_reports(app) == 0


def test_invalid_answers_are_field_errors_and_nothing_is_created(app, client, resident):
    response = submit(client, resident, {**POTHOLE, "answers": {"size": 3, "depth": 9}})
    assert response.status_code == 422
    assert response.get_json()["errors"]["json"]["answers"] == {
        "size": ["attendu parmi : small, medium, large"],
        "depth": ["la catégorie pothole n'a pas cette question"],
    }
    assert count_reports(app) == 0


def test_unknown_category_and_email_without_address(client, resident):
    response = submit(client, resident, {**POTHOLE, "category": "unicorn"})
    assert (response.status_code, response.get_json()["code"]) == (422, "unknown_category")
    response = submit(client, resident, {**POTHOLE, "contact": {"by_email": True}}, key="k2")
    assert (response.status_code, response.get_json()["code"]) == (422, "contact_email_required")


def test_a_retry_with_the_same_key_and_body_replays_the_original(app, client, resident):
    first = submit(client, resident)
    again = submit(client, resident, {**POTHOLE})  # same content, new dict
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert count_reports(app) == 1


def test_the_same_key_with_a_different_body_is_422(app, client, resident):
    submit(client, resident)
    response = submit(client, resident, {**POTHOLE, "description": "Autre chose"})
    assert (response.status_code, response.get_json()["code"]) == (422, "idempotency_key_reused")
    assert count_reports(app) == 1


def test_keys_belong_to_their_caller(app, client, resident, auth):
    submit(client, resident)
    other = submit(client, auth(), key="key-1")
    assert other.status_code == 201
    assert other.get_json()["id"] != submit(client, resident).get_json()["id"]
    assert count_reports(app) == 2


@pytest.mark.processes
def test_a_concurrent_duplicate_is_409_and_creates_nothing(app, database_url, client, resident):
    """While another request holds the key (its transaction is open), a duplicate gets 409."""
    from app.idempotency.service import lock_id

    with psycopg.connect(database_url) as other:
        other.execute("BEGIN")
        other.execute(
            "SELECT pg_advisory_xact_lock(%s)", (lock_id("camille", SUBMIT_SCOPE, "key-1"),)
        )
        response = submit(client, resident)
        assert response.status_code == 409
        assert response.get_json()["code"] == "idempotency_in_progress"
        assert response.headers["Retry-After"] == "1"
        other.execute("ROLLBACK")
    assert count_reports(app) == 0
    assert submit(client, resident).status_code == 201


@pytest.mark.processes
def test_truly_concurrent_retries_create_one_report(app, resident):
    results = []
    barrier = threading.Barrier(4)

    def post():
        barrier.wait()
        results.append(submit(app.test_client(), resident).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results) <= {201, 409}
    assert 201 in results
    assert count_reports(app) == 1


def test_the_key_is_required_and_checked(client, resident):
    response = client.post("/v1/reports", headers=resident, json=POTHOLE)
    assert (response.status_code, response.get_json()["code"]) == (400, "idempotency_key_required")
    response = submit(client, resident, key="has space")
    assert (response.status_code, response.get_json()["code"]) == (400, "idempotency_key_invalid")


def test_nobody_else_sees_the_reporters_data(client, resident, auth):
    report_id = submit(client, resident).get_json()["id"]
    for headers in (auth(), auth(Role.AGENT)):
        for url in (
            f"/v1/reports/{report_id}",
            "/v1/reports",
            "/v1/reports/geojson",
            "/v1/reports?near=5.0415,47.322&radius=50",
        ):
            text = client.get(url, headers=headers).get_data(as_text=True)
            assert "camille" not in text
            for secret in PERSONAL:
                assert secret not in text, (url, secret)
    mine = client.get(f"/v1/reports/{report_id}", headers=resident).get_json()
    assert mine["description"].startswith("Trou profond")


def test_the_reports_staff_see_what_the_resident_said_and_which_crew_holds_it(
    app, client, resident, auth, crew_code
):
    """The desk and the crew triage with the description and the answers; after an assign,
    the answer and the report name the crew holding the ticket, while routing.crew stays
    what routing proposed."""
    from app.organisation.service import create_rule, put_crew
    from tests.triage.helpers import act

    with app.app_context():
        create_rule(db.session, {"name": "Voirie", "priority": 1, "desk": "voirie"})
        put_crew(db.session, code="v-east", name="Est", desk="voirie", skills=["pothole"])
        db.session.remove()
    report_id = submit(client, resident).get_json()["id"]
    agent, crew_member = auth(Role.AGENT), auth(Role.CREW)  # voirie; voirie-nord
    said = {"description": POTHOLE["description"], "answers": POTHOLE["answers"]}
    view = client.get(f"/v1/reports/{report_id}", headers=agent).get_json()
    assert {key: view[key] for key in said} == said
    assert view["crew"] == {"code": "v-east", "name": "Est"}
    assert view["routing"]["crew"]["crew"] == "v-east"
    assert "contact" not in view  # read at /contact, audited
    # Not the crew's ticket yet: the public projection, nothing the resident said.
    view = client.get(f"/v1/reports/{report_id}", headers=crew_member).get_json()
    assert not set(said) & set(view)
    assert view["location"] != {"type": "Point", "coordinates": [DIJON["lon"], DIJON["lat"]]}
    answer = act(client, agent, report_id, "assign", {"crew": crew_code})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    answer = answer.get_json()
    assert answer["status"] == "assigned"
    assert answer["crew"] == {"code": "voirie-nord", "name": "Voirie Nord"}
    assert answer["routing"]["crew"]["crew"] == "v-east"  # what routing proposed
    view = client.get(f"/v1/reports/{report_id}", headers=agent).get_json()
    assert (view["crew"], view["routing"]) == (answer["crew"], answer["routing"])
    # The crew now holding it sees what the resident said, and where exactly.
    view = client.get(f"/v1/reports/{report_id}", headers=crew_member).get_json()
    assert {key: view[key] for key in said} == said
    assert view["location"] == {"type": "Point", "coordinates": [DIJON["lon"], DIJON["lat"]]}
    assert view["address"] == POTHOLE["address"]
    assert view["crew"]["code"] == crew_code


def test_lists_filter_by_place_category_and_paginate(client, resident, auth):
    near_keys = []
    for i in range(3):
        body = {**POTHOLE, "location": {"lon": 5.0415 + i * 0.0001, "lat": 47.322}}
        near_keys.append(submit(client, resident, body, key=f"n{i}").get_json()["id"])
    far = submit(
        client, resident, {**POTHOLE, "location": {"lon": 5.10, "lat": 47.30}}, key="far"
    ).get_json()["id"]
    other = submit(client, resident, {"category": "other", "location": DIJON}, key="o").get_json()[
        "id"
    ]

    def ids(url):
        return [r["id"] for r in client.get(url, headers=resident).get_json()["items"]]

    assert set(ids("/v1/reports?near=5.0415,47.322&radius=100")) == {*near_keys, other}
    assert ids("/v1/reports?near=5.0415,47.322&radius=100&category=other") == [other]
    assert far in ids("/v1/reports?bbox=5.09,47.29,5.11,47.31")
    assert ids("/v1/reports?bbox=5.09,47.29,5.11,47.31") == [far]
    seen, cursor = [], None
    while True:
        page = client.get(
            "/v1/reports?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=resident
        ).get_json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == 5
    collection = client.get("/v1/reports/geojson?category=other", headers=resident).get_json()
    assert collection["type"] == "FeatureCollection"
    # The public map: the report's public projection, even for its reporter (whose own list
    # is /v1/me/reports).
    (feature,) = collection["features"]
    public = client.get(f"/v1/reports/{other}", headers=auth()).get_json()
    assert (
        feature["geometry"]
        == public["location"]
        != {"type": "Point", "coordinates": [5.0415, 47.322]}
    )


def test_a_bad_area_is_a_clear_422(client, resident):
    response = client.get("/v1/reports?bbox=5.2,47.3,5.1,47.4", headers=resident)
    assert (response.status_code, response.get_json()["code"]) == (422, "invalid_area")
    response = client.get("/v1/reports?near=5.0,47.3&radius=999999", headers=resident)
    assert response.status_code == 422


def test_my_reports_lists_only_mine_with_my_fields(client, resident, auth):
    mine = submit(client, resident).get_json()["id"]
    submit(client, auth(), key="someone")
    page = client.get("/v1/me/reports", headers=resident).get_json()
    assert [r["id"] for r in page["items"]] == [mine]
    assert page["items"][0]["contact"]["name"] == "Camille"


def test_support_counts_once_and_follows_and_the_reporter_cannot_support(
    app, client, resident, auth
):
    report_id = submit(client, resident).get_json()["id"]
    supporter = auth(uid="dominique")
    for _ in range(2):
        response = client.post(f"/v1/reports/{report_id}/support", headers=supporter)
        assert response.status_code == 200
        assert response.get_json() == {
            "report_id": report_id,
            "supported": True,
            "support_count": 1,
        }
    with app.app_context():
        followers = {(f.uid, f.reason) for f in db.session.scalars(select(ReportFollower))}
        db.session.remove()
    assert followers == {("dominique", "supporter")}  # the reporter follows as reporter
    response = client.post(f"/v1/reports/{report_id}/support", headers=resident)
    assert (response.status_code, response.get_json()["code"]) == (409, "cannot_support_own_report")
    assert client.post("/v1/reports/999999/support", headers=supporter).status_code == 404


def test_a_report_is_accepted_while_redis_is_down(database_url, token_for):
    app = make_app(database_url, REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    token = token_for(Role.RESIDENT, uid="offline")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "offline-1"}
    response = client.post("/v1/reports", json=POTHOLE, headers=headers)
    # The answer: the reporter's view of the new report.
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert re.fullmatch(r"DIJ-\d{4}-\d{6}", body["reference"])
    assert response.headers["Location"] == f"/v1/reports/{body['id']}"
    assert (body["status"], body["is_mine"]) == ("new", True)
    assert body["description"] == POTHOLE["description"]
    assert body["answers"] == POTHOLE["answers"]
    # The state: stored, new, the resident's, in the commune, routed to a desk.
    with app.app_context():
        report = db.session.get(Report, body["id"])
        assert (report.status, report.reporter_uid, report.commune_insee) == (
            "new",
            "offline",
            "21231",
        )
        assert report.desk_id is not None and report.reference == body["reference"]
        db.session.remove()
    # The event: the report's history opens with its submission.
    history = client.get(f"/v1/reports/{body['id']}/history", headers=headers).get_json()
    (submitted,) = history["items"]
    assert (submitted["action"], submitted["from_status"], submitted["to_status"]) == (
        "submit",
        None,
        "new",
    )
    # A retry is answered from PostgreSQL, not Redis: the same report, nothing more created.
    again = client.post("/v1/reports", json=POTHOLE, headers=headers)
    assert (again.status_code, again.get_json()) == (201, body)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_reports(app) == 1


def test_references_keep_growing_past_a_million(client, resident, session):
    from sqlalchemy import text

    session.execute(text("SELECT setval('report_reference_seq', 999998)"))
    session.commit()
    first = submit(client, resident, key="a").get_json()["reference"]
    second = submit(client, resident, key="b").get_json()["reference"]
    assert first.endswith("-999999") and second.endswith("-1000000")


def test_the_answer_is_what_the_database_kept(app, client, resident):
    """The 201 is rendered before the INSERT (the database completes id and reference):
    it says what the row holds, and so does the stored answer a retry gets."""
    created = submit(client, resident)
    body = created.get_json()
    with app.app_context():
        report = db.session.get(Report, body["id"])
        kept = {
            "reference": report.reference,
            "status": report.status,
            "created_at": report.created_at,
            "updated_at": report.updated_at,
            "due_at": report.due_at,
        }
        service_hours = report.category.service_level_hours
        db.session.remove()
    assert body["reference"] == kept["reference"] and body["status"] == kept["status"] == "new"
    for name in ("created_at", "updated_at"):
        assert datetime.fromisoformat(body[name]) == kept[name]
    # The due date: the creation instant plus the service level, in absolute time.
    assert kept["due_at"] - kept["created_at"] == timedelta(hours=service_hours)
    staff = client.get(f"/v1/reports/{body['id']}", headers=resident).get_json()
    assert {key: staff[key] for key in ("id", "reference", "created_at", "updated_at")} == {
        key: body[key] for key in ("id", "reference", "created_at", "updated_at")
    }
    again = submit(client, resident)
    assert again.get_json() == body and again.headers["Location"] == created.headers["Location"]


def test_a_report_is_three_statements_between_begin_and_commit(client, resident, statements):
    """The key's claim with the routing's setup, the routing lookup, then the report and
    the key's record in one INSERT (the caller's identity is cached after the first; the
    abuse limits' look for a completed key comes before, and the test's savepoints aside)."""
    body = {key: value for key, value in POTHOLE.items() if key != "contact"}
    submit(client, resident, body, key="warm")
    with statements() as seen:
        assert submit(client, resident, body, key="measured").status_code == 201
    harness = ("SAVEPOINT", "RELEASE SAVEPOINT", "RESET ALL")
    sent = [s for s in seen if not s.startswith(harness)]
    claim = next(i for i, s in enumerate(sent) if "pg_try_advisory_xact_lock" in s)
    claimed, lookup, insert = sent[claim:]
    assert "set_config(" in claimed and "now()" in claimed
    assert "FROM categories" in lookup
    assert insert.lstrip().startswith("WITH report AS")
    assert "INSERT INTO idempotency_keys" in insert


@pytest.mark.processes  # the twin's key is committed by a connection of its own
def test_a_twin_that_committed_the_key_first_gets_409_and_nothing_is_kept(
    app, database_url, client, resident
):
    """Between this request's claim and its INSERT, another writer commits the same key
    (the race the unique constraint settles): 409, and the report is not kept."""
    engine = _engine(app)
    twin = {"done": False}

    def commit_the_key_first(conn, cursor, statement, *args):
        if twin["done"] or "INSERT INTO idempotency_keys" not in statement:
            return
        twin["done"] = True
        with psycopg.connect(database_url, autocommit=True) as other:
            other.execute(
                "INSERT INTO idempotency_keys (owner, scope, key, fingerprint, status_code,"
                " body, expires_at) VALUES ('camille', %s, 'key-1', 'x', 201, '{}',"
                " now() + interval '1 day')",
                (SUBMIT_SCOPE,),
            )

    event.listen(engine, "before_cursor_execute", commit_the_key_first)
    try:
        response = submit(client, resident)
    finally:
        event.remove(engine, "before_cursor_execute", commit_the_key_first)
    assert twin["done"]
    assert (response.status_code, response.get_json()["code"]) == (409, "idempotency_in_progress")
    assert response.headers["Retry-After"] == "1"
    assert count_reports(app) == 0


def _engine(app):
    with app.app_context():
        return db.engine
