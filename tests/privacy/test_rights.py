"""Residents' rights (issue 18, part 2): a resident's whole data as one document, and its
erasure, checked against the database's catalogue, the photo files, the open data files and
Open311's answers."""

import io
import json

import pytest
from rq import Queue
from sqlalchemy import text

from app.auth.tokens import mint_emulator_token
from app.extensions import db
from app.jobs import worker_queues
from app.notifications.models import Notification
from app.opendata import service as opendata
from app.photos.service import storage
from app.privacy.service import EXPORTED, NOT_EXPORTED
from app.reports.photos import process_photo
from app.storage import FilesystemStorage
from app.triage.models import ReportEvent
from app.users.models import Role
from tests.conftest import PROJECT_ID
from tests.opendata.test_privacy import read_back
from tests.photos.images import jpeg

UID = "resident-rights-7c1e"
SECRETS = {
    "uid": UID,
    "description": "Devant chez Mme Rosalie Quenouille, au fond de la cour",
    "name": "Rosalie Quenouille",
    "email": "rosalie.quenouille@example.fr",
    "phone": "+33 6 11 22 33 44",
    "address": "42 ter rue des Perrières, 21000 Dijon",
    "answer": "MAT-ROSALIE-9",
    "device": "device-token-rosalie",
    "area": "Chez Rosalie",
}
# Columns that hold uids: by name. Checked against what the models say in EXPORTED and
# NOT_EXPORTED: a new one fails the catalogue test until it is handled.
UID_COLUMNS = text(
    """
    SELECT table_name, column_name FROM information_schema.columns
    WHERE table_schema = 'public'
      AND data_type IN ('character varying', 'text')
      AND (column_name ~ '(^|_)uid$' OR column_name ~ '^reporter' OR column_name = 'owner'
           OR column_name ~ '_by$')
    """
)
TEXT_COLUMNS = text(
    """
    SELECT table_name, column_name FROM information_schema.columns c
    JOIN information_schema.tables t USING (table_schema, table_name)
    WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      AND c.data_type IN ('character varying', 'text', 'character', 'json', 'jsonb', 'ARRAY')
    """
)


def headers(uid=UID, **extra) -> dict:
    return {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, uid)}", **extra}


@pytest.fixture
def resident(app, client, auth, redis_conn):
    """Rosalie's data in every table that can hold it; returns her report's id and the
    storage keys of her published and unpublished photos."""
    other = client.post(
        "/v1/reports",
        json={
            "category": "pothole",
            "location": {"lon": 5.03, "lat": 47.33},
            "answers": {"size": "small"},
        },
        headers={**auth(uid="someone-else"), "Idempotency-Key": "other"},
    )
    assert other.status_code == 201, other.get_data(as_text=True)
    other_id = other.get_json()["id"]
    filed = client.post(
        "/v1/reports",
        json={
            "category": "streetlight_out",
            "location": {"lon": 5.043217, "lat": 47.321789},
            "address": SECRETS["address"],
            "description": SECRETS["description"],
            "answers": {"pole_number": SECRETS["answer"], "how_many": 2},
            "contact": {
                "name": SECRETS["name"],
                "email": SECRETS["email"],
                "phone": SECRETS["phone"],
            },
        },
        headers=headers(**{"Idempotency-Key": "rosalie"}),
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    report_id = filed.get_json()["id"]
    photos = []
    for n in range(3):
        upload = client.post(
            f"/v1/reports/{report_id}/photos",
            headers=headers(**{"Idempotency-Key": f"photo-{n}"}),
            data={"file": (io.BytesIO(jpeg(size=(320 + n, 240))), "photo.jpg")},
        )
        assert upload.status_code == 202, upload.get_data(as_text=True)
        photos.append(upload.get_json()["id"])
    with app.app_context():
        assert process_photo(db.session, photos[0]) == "ready"
        # The third processed, then hidden by the desk: not published.
        assert process_photo(db.session, photos[2]) == "ready"
        db.session.execute(
            text("UPDATE photos SET hidden = true WHERE id = :id"), {"id": photos[2]}
        )
        db.session.commit()
        rows = db.session.execute(
            text("SELECT id, upload_key, display_key, original_key FROM photos ORDER BY id")
        ).all()
        db.session.remove()
    keys = {row.id: row for row in rows}
    assert client.post(f"/v1/reports/{other_id}/support", headers=headers()).status_code < 300
    assert client.post(f"/v1/reports/{other_id}/follow", headers=headers()).status_code < 300
    device = client.post(
        "/v1/me/devices", headers=headers(), json={"token": SECRETS["device"], "platform": "ios"}
    )
    assert device.status_code < 300, device.get_data(as_text=True)
    preferences = client.put(
        "/v1/me/notification-preferences",
        headers=headers(),
        json={"push": {"update": False}, "quiet_hours": {"start": "22:00", "end": "07:00"}},
    )
    assert preferences.status_code == 200, preferences.get_data(as_text=True)
    area = client.post(
        "/v1/me/area-subscriptions",
        headers=headers(),
        json={"label": SECRETS["area"], "point": {"lon": 5.04, "lat": 47.32}, "radius_m": 300},
    )
    assert area.status_code == 201, area.get_data(as_text=True)
    with app.app_context():
        event = ReportEvent(
            report_id=report_id,
            actor_uid=UID,
            actor_role="resident",
            action="reopen",
            from_status="resolved",
            to_status="new",
            public=True,
        )
        db.session.add(event)
        db.session.flush()
        db.session.add(
            Notification(
                uid=UID,
                report_id=report_id,
                event_id=event.id,
                kind="update",
                language="fr",
                title="Du nouveau",
                body="Passage lundi",
                data={"report_id": str(report_id)},
                collapse_key=f"report-{report_id}",
            )
        )
        db.session.commit()
        db.session.remove()
    # An agent of the desk reads her contact details: the read is hers to know about.
    agent = auth(Role.SUPERVISOR, uid="agent-reads")
    assert client.get(f"/v1/reports/{report_id}/contact", headers=agent).status_code == 200
    yield {
        "report_id": report_id,
        "published": keys[photos[0]].display_key,
        "unpublished": keys[photos[1]].upload_key,
        # The published photo's unblurred original; the hidden one's files.
        "original": keys[photos[0]].original_key,
        "hidden": [keys[photos[2]].display_key, keys[photos[2]].original_key],
    }
    # The jobs this queued (her photos' processing, pushes) are not run: leave the queue
    # as it was found (tests/notifications/test_worker.py counts what it queues).
    Queue(worker_queues()[0], connection=redis_conn).empty()


def counts_by_column(session, uid: str) -> dict[tuple[str, str], int]:
    found = {}
    for table, column in session.execute(UID_COLUMNS).all():
        found[(table, column)] = session.scalar(
            text(f'SELECT count(*) FROM "{table}" WHERE "{column}" = :uid'), {"uid": uid}
        )
    return found


def test_every_table_holding_uids_is_exported_or_excluded_with_a_reason(session):
    columns = {tuple(row) for row in session.execute(UID_COLUMNS).all()}
    assert columns == set(EXPORTED) | set(NOT_EXPORTED)
    assert not set(EXPORTED) & set(NOT_EXPORTED)
    assert all(len(reason) > 20 for reason in NOT_EXPORTED.values())


def test_the_export_carries_every_row_holding_the_uid(app, client, resident, session):
    response = client.get("/v1/me/data", headers=headers())
    assert response.status_code == 200, response.get_data(as_text=True)
    document = response.get_json()
    held = counts_by_column(session, UID)
    for column, section in EXPORTED.items():
        assert len(document[section]) == held[column], column
    for column in NOT_EXPORTED:
        if column != ("idempotency_keys", "owner"):
            assert held[column] == 0, column
    # Every kind of data is there, and what she wrote with it.
    assert all(document[section] for section in EXPORTED.values())
    (report,) = document["reports"]
    assert report["description"] == SECRETS["description"]
    assert report["address"] == SECRETS["address"]
    assert report["answers"] == {"pole_number": SECRETS["answer"], "how_many": 2}
    assert report["contact"]["email"] == SECRETS["email"]
    assert report["location"] == {"lon": 5.043217, "lat": 47.321789}
    ready = [p for p in document["photos"] if p["status"] == "ready"]
    assert ready[0]["url"] == f"/v1/media/{resident['published']}"
    assert client.get(ready[0]["url"], headers=headers()).status_code == 200
    assert document["devices"][0]["token"] == SECRETS["device"]
    assert document["area_subscriptions"][0]["label"] == SECRETS["area"]
    assert document["notification_preferences"][0]["push_off"] == ["update"]
    (read,) = document["personal_data_reads"]
    assert read["actor_uid"] == "agent-reads"
    assert read["report_id"] == resident["report_id"]
    json.dumps(document)  # machine-readable as it is


def test_the_export_of_someone_signale_knows_nothing_about_is_empty(client):
    response = client.get("/v1/me/data", headers=headers("nobody-here"))
    assert response.status_code == 200
    document = response.get_json()
    assert document["uid"] == "nobody-here"
    assert document["account"]["staff"] is None
    assert all(document[section] == [] for section in EXPORTED.values())
    assert document["personal_data_reads"] == []


def scan(session, values) -> list[str]:
    """Every (table.column, value) where a value occurs, in every text-like column."""
    found = []
    for table, column in session.execute(TEXT_COLUMNS).all():
        for value in values:
            hit = session.scalar(
                text(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE :pattern'),
                {"pattern": f"%{value}%"},
            )
            if hit:
                found.append(f"{table}.{column}: {value}")
    return found


def test_erasure_leaves_nothing_linking_to_her_in_any_table_file_or_public_output(
    app, client, resident, session, tmp_path
):
    with app.app_context():
        assert storage().exists(resident["unpublished"])
        assert storage().exists(resident["original"])
        assert all(storage().exists(key) for key in resident["hidden"])
    values = list(SECRETS.values())
    assert scan(session, values)  # the scan finds what is there
    before = client.get("/v1/me/data", headers=headers()).get_json()
    response = client.delete("/v1/me", headers=headers())
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    # Everything her export listed is accounted for, deleted or detached.
    assert answer["deleted"] == {
        "contacts": 1,
        "devices": len(before["devices"]) == 1 and 1,
        "notifications": len(before["notifications"]) == 1 and 1,
        "notification_preferences": 1,
        "area_subscriptions": 1,
        "follows": len(before["follows"]),
        "unpublished_photos": 2,
        "unblurred_originals": 1,
        "idempotency_keys": answer["deleted"]["idempotency_keys"],
    }
    assert before["follows"]
    assert answer["deleted"]["idempotency_keys"] >= 4  # her report, her three photos
    assert answer["detached"] == {
        "reports": 1,
        "published_photos": 1,
        "supports": 1,
        "actions": len(before["actions"]),
    }
    assert before["actions"]
    assert answer["message"].startswith("Vos données personnelles ont été effacées")
    assert all(item["reason"] for item in answer["items"])

    assert scan(session, values) == []
    with app.app_context():
        assert not storage().exists(resident["unpublished"])
        assert storage().exists(resident["published"])
        # Only the blurred version of her published photo stays; the hidden one is gone.
        assert not storage().exists(resident["original"])
        assert not [key for key in resident["hidden"] if storage().exists(key)]
    # The report stays for the city, detached, with what is not free text.
    report = session.execute(
        text("SELECT reporter_uid, description, address, answers FROM reports WHERE id = :id"),
        {"id": resident["report_id"]},
    ).one()
    assert report.reporter_uid.startswith("erased:")
    assert (report.description, report.address) == (None, None)
    assert report.answers == {"how_many": 2}
    supports = session.scalar(text("SELECT sum(support_count) FROM reports"))
    assert supports >= 1
    # The erasure is counted, naming nobody.
    assert (
        session.scalar(text("SELECT count(*) FROM audit_events WHERE action = 'resident.erasure'"))
        == 1
    )

    # The open data files and Open311's answers do not name her either.
    files = FilesystemStorage(tmp_path / "opendata")
    with app.app_context():
        opendata.export_reports(db.session, files, **opendata.settings(app.config))
        db.session.remove()
    written = [p for p in (tmp_path / "opendata").rglob("*") if p.is_file()]
    assert written
    for path in written:
        data = path.read_bytes()
        readable = read_back(path.name, data)[0] if path.suffix == ".parquet" else data.decode()
        assert not [value for value in values if value.lower() in readable.lower()], path
    for url in (
        "/open311/v2/requests.json",
        f"/open311/v2/requests/{before['reports'][0]['reference']}.json",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert "service_request_id" in body
        assert not [value for value in values if value.lower() in body.lower()], url

    # Her export is now empty, and a second erasure finds nothing: same shape, zero counts.
    document = client.get("/v1/me/data", headers=headers()).get_json()
    assert all(document[section] == [] for section in EXPORTED.values())
    again = client.delete("/v1/me", headers=headers(**{"Accept-Language": "en"}))
    assert again.status_code == 200
    again = again.get_json()
    assert set(again) == set(answer)
    assert sum(again["deleted"].values()) + sum(again["detached"].values()) == 0
    assert again["message"].startswith("Signale holds no personal data about you")


def test_staff_cannot_erase_their_account_themselves(client, auth):
    response = client.delete("/v1/me", headers={**auth(Role.AGENT), "Accept-Language": "en"})
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "staff_account_not_erasable"
    assert "administrators" in problem["detail"]


def test_no_token_can_name_an_erased_reporter(client):
    for method in ("GET", "DELETE"):
        url = "/v1/me/data" if method == "GET" else "/v1/me"
        response = client.open(url, method=method, headers=headers("erased:0123abcd"))
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.get_json()["code"] == "token_uid_reserved"


def test_both_need_a_token(client):
    for method, url in (("GET", "/v1/me/data"), ("DELETE", "/v1/me")):
        response = client.open(url, method=method)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/problem+json"
