"""Devices: registering an FCM token, registering it again, removing it, pruning old ones."""

from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.notifications.models import Device
from app.users.models import Role
from worker.jobs import apply_retention

TOKEN = "fcm-token_A1:APA91b-example"


def register(client, headers, token=TOKEN, **fields):
    body = {"token": token, "platform": "android", "app_version": "1.4.0", "locale": "fr-FR"}
    return client.post("/v1/me/devices", headers=headers, json={**body, **fields})


def devices(app) -> list[Device]:
    with app.app_context():
        found = list(db.session.scalars(select(Device).order_by(Device.id)))
        db.session.expunge_all()
        db.session.remove()
    return found


def test_a_resident_registers_a_token_and_registering_it_again_updates_it(app, client, auth):
    headers = auth(Role.RESIDENT, uid="ana")
    first = register(client, headers)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["enabled"] is True
    again = register(client, headers, platform="ios", app_version="1.5.0", locale="en-GB")
    assert again.status_code == 200
    body = again.get_json()
    assert (body["platform"], body["app_version"], body["locale"]) == ("ios", "1.5.0", "en-GB")
    [device] = devices(app)
    assert device.uid == "ana" and device.locale == "en-GB"
    assert device.last_seen_at >= device.created_at


def test_registering_again_re_enables_a_token_fcm_had_refused(app, client, auth):
    headers = auth(Role.RESIDENT, uid="ana")
    register(client, headers)
    with app.app_context():
        db.session.execute(update(Device).values(enabled=False, disabled_reason="UNREGISTERED"))
        db.session.commit()
        db.session.remove()
    assert register(client, headers).get_json()["enabled"] is True
    [device] = devices(app)
    assert device.enabled and device.disabled_reason is None


def test_a_token_signed_in_on_another_account_moves_to_it(app, client, auth):
    register(client, auth(Role.RESIDENT, uid="ana"))
    register(client, auth(Role.RESIDENT, uid="ben"))
    [device] = devices(app)
    assert device.uid == "ben"


def test_a_resident_removes_their_own_token_only(app, client, auth):
    register(client, auth(Role.RESIDENT, uid="ana"))
    other = client.delete(f"/v1/me/devices/{TOKEN}", headers=auth(Role.RESIDENT, uid="ben"))
    assert other.status_code == 404
    assert other.get_json()["code"] == "device_not_found"
    assert other.content_type == "application/problem+json"
    mine = client.delete(f"/v1/me/devices/{TOKEN}", headers=auth(Role.RESIDENT, uid="ana"))
    assert mine.status_code == 204
    assert devices(app) == []


def test_invalid_registrations_are_problems_by_field(client, auth):
    headers = auth()
    bad = register(client, headers, token="has spaces", platform="symbian", locale="42")
    assert bad.status_code == 422
    problem = bad.get_json()
    assert problem["code"] == "validation_failed"
    assert set(problem["errors"]["json"]) == {"token", "platform", "locale"}


def test_tokens_unseen_for_270_days_are_pruned_by_the_retention_schedule(app, client, auth):
    register(client, auth(Role.RESIDENT, uid="ana"), token="old")
    register(client, auth(Role.RESIDENT, uid="ana"), token="recent")
    with app.app_context():
        for token, days in (("old", 271), ("recent", 269)):
            db.session.execute(
                update(Device)
                .where(Device.token == token)
                .values(last_seen_at=Device.last_seen_at - timedelta(days=days))
            )
        db.session.commit()
        assert apply_retention()["device_tokens"] == 1
        db.session.remove()
    assert [d.token for d in devices(app)] == ["recent"]
