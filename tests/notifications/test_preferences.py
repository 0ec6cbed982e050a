"""Residents choose what is pushed: kinds muted (the feed still gets them, no push is
queued) and quiet hours, local time, during which pushes wait until the end (the feed
gets them at once). Time is injected: nothing here depends on the wall clock."""

from datetime import datetime, time

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.notifications import outbox, preferences
from app.notifications.kinds import KINDS
from app.notifications.models import Delivery, Device, Notification
from app.reports.models import Report
from app.triage.models import ReportEvent
from app.users.models import Role
from tests.factories import make_report
from tests.notifications.test_dispatch import run
from tests.triage.helpers import act


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


# --- the rule -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "until"),
    [
        # 22:00-07:00 spans midnight: evening -> tomorrow 07:00, small hours -> today 07:00.
        ("2026-12-01T23:30:00+01:00", "2026-12-02T07:00:00+01:00"),
        ("2026-12-01T22:00:00+01:00", "2026-12-02T07:00:00+01:00"),
        ("2026-12-02T03:15:00+01:00", "2026-12-02T07:00:00+01:00"),
        ("2026-12-02T06:59:00+01:00", "2026-12-02T07:00:00+01:00"),
        ("2026-12-02T07:00:00+01:00", None),  # the end is excluded
        ("2026-12-02T12:00:00+01:00", None),
        ("2026-12-01T21:59:00+01:00", None),
        # Given in UTC, read in Paris: 22:30Z is 23:30 in winter, 00:30 in summer.
        ("2026-12-01T22:30:00+00:00", "2026-12-02T07:00:00+01:00"),
        ("2026-07-01T22:30:00+00:00", "2026-07-02T07:00:00+02:00"),
        ("2026-07-01T19:30:00+00:00", None),  # 21:30 in Paris
    ],
)
def test_quiet_hours_spanning_midnight_hold_pushes_until_their_end(now, until):
    held = preferences.held_until(at(now), time(22, 0), time(7, 0))
    assert held == (at(until) if until else None)
    assert held is None or held.tzinfo is not None


@pytest.mark.parametrize(
    ("now", "until"),
    [
        ("2026-12-01T12:00:00+01:00", "2026-12-01T14:00:00+01:00"),
        ("2026-12-01T13:59:00+01:00", "2026-12-01T14:00:00+01:00"),
        ("2026-12-01T14:00:00+01:00", None),
        ("2026-12-01T11:59:00+01:00", None),
        ("2026-12-01T23:00:00+01:00", None),
    ],
)
def test_quiet_hours_within_a_day_hold_pushes_until_their_end(now, until):
    held = preferences.held_until(at(now), time(12, 0), time(14, 0))
    assert held == (at(until) if until else None)


def test_no_quiet_hours_hold_nothing():
    assert preferences.held_until(at("2026-12-01T03:00:00+01:00"), None, None) is None


# --- the API --------------------------------------------------------------------------------


def test_preferences_default_to_every_kind_pushed_and_no_quiet_hours(client, auth):
    response = client.get("/v1/me/notification-preferences", headers=auth(Role.RESIDENT))
    assert response.status_code == 200
    body = response.get_json()
    assert body["push"] == {kind: True for kind in KINDS}
    assert {"acknowledged", "resolved", "rejected", "update"} <= set(body["push"])
    assert body["quiet_hours"] is None and body["time_zone"] == "Europe/Paris"


def test_preferences_are_replaced_by_put_and_read_back(client, auth):
    ana = auth(Role.RESIDENT, uid="ana")
    wanted = {"push": {"update": False}, "quiet_hours": {"start": "22:30", "end": "07:00"}}
    response = client.put("/v1/me/notification-preferences", headers=ana, json=wanted)
    assert response.status_code == 200, response.get_json()
    body = client.get("/v1/me/notification-preferences", headers=ana).get_json()
    assert body["push"]["update"] is False and body["push"]["resolved"] is True
    assert body["quiet_hours"] == {"start": "22:30", "end": "07:00"}
    assert body == response.get_json()
    # Another resident's are their own.
    other = client.get("/v1/me/notification-preferences", headers=auth(Role.RESIDENT))
    assert other.get_json()["push"]["update"] is True
    # PUT replaces the whole: kinds left out are pushed again, no quiet hours.
    response = client.put("/v1/me/notification-preferences", headers=ana, json={"push": {}})
    assert response.get_json()["push"]["update"] is True
    assert response.get_json()["quiet_hours"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quiet_hours": {"start": "22:00", "end": "07:00"}}, "push"),
        ({"push": {}, "quiet_hours": None}, "quiet_hours"),
        ({"push": {"teleported": False}}, "push"),
        ({"push": {"update": "no"}}, "push"),
        ({"quiet_hours": {"start": "24:00", "end": "07:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "7h", "end": "08:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours"),
    ],
)
def test_bad_preferences_are_a_422_problem_naming_the_field(client, auth, body, field):
    response = client.put(
        "/v1/me/notification-preferences",
        headers={**auth(Role.RESIDENT), "Accept-Language": "en"},
        json=body,
    )
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] and field in str(problem["errors"])


def test_quiet_hours_that_start_when_they_end_are_a_422_problem_of_their_own(client, auth):
    response = client.put(
        "/v1/me/notification-preferences",
        headers={**auth(Role.RESIDENT), "Accept-Language": "en"},
        json={"push": {}, "quiet_hours": {"start": "22:00", "end": "22:00"}},
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "quiet_hours_empty"
    assert "22:00" in response.get_json()["detail"]


# --- what is pushed -------------------------------------------------------------------------


def prefer(client, auth, uid, body):
    response = client.put(
        "/v1/me/notification-preferences", headers=auth(Role.RESIDENT, uid=uid), json=body
    )
    assert response.status_code == 200, response.get_json()


def add_device(app, uid, token):
    with app.app_context():
        db.session.add(Device(uid=uid, token=token, platform="android", locale="fr-FR"))
        db.session.commit()
        db.session.remove()


def pushes(app) -> dict[str, Delivery]:
    """Each resident's delivery."""
    with app.app_context():
        rows = db.session.execute(
            select(Notification.uid, Delivery).join(
                Delivery, Delivery.notification_id == Notification.id
            )
        ).all()
        db.session.expunge_all()
        db.session.remove()
    return dict(rows)


def feed_of(app, uid) -> list[str]:
    with app.app_context():
        kinds = db.session.scalars(select(Notification.kind).where(Notification.uid == uid))
        found = list(kinds)
        db.session.remove()
    return found


def test_a_muted_kind_reaches_the_feed_but_is_not_pushed(app, client, auth):
    report_id = make_report(app, reporter="ana")
    add_device(app, "ana", "tok-ana")
    prefer(client, auth, "ana", {"push": {"acknowledged": False}})
    assert act(client, auth(Role.AGENT), report_id, "acknowledge").status_code == 200
    assert feed_of(app, "ana") == ["acknowledged"]
    assert pushes(app) == {}
    # Other kinds still are.
    message = {"fr": "Passage lundi", "en": "Coming on Monday"}
    act(client, auth(Role.AGENT), report_id, "public_update", {"message": message})
    assert list(pushes(app)) == ["ana"]


def tell(app, report_id, uids, now):
    """The report's latest event told (again) to ``uids`` as if it were ``now``."""
    with app.app_context():
        session = db.session
        report = session.get(Report, report_id)
        event = session.scalar(
            select(ReportEvent)
            .where(ReportEvent.report_id == report_id)
            .order_by(ReportEvent.id.desc())
            .limit(1)
        )
        told = outbox.notify(session, event=event, report=report, recipients=uids, now=now)
        session.commit()
        session.remove()
    return told


def test_quiet_hours_hold_the_push_until_morning_and_the_feed_gets_it_at_once(
    app, client, auth, standin, sender
):
    # The event is told to a reporter nobody else is: ana and ben are told of it below.
    report_id = make_report(app, reporter="zed")
    assert act(client, auth(Role.AGENT), report_id, "acknowledge").status_code == 200
    add_device(app, "ana", "tok-ana")
    add_device(app, "ben", "tok-ben")
    prefer(client, auth, "ana", {"push": {}, "quiet_hours": {"start": "22:00", "end": "07:00"}})
    # Late in the evening, some day to come: ana's quiet period spans midnight.
    assert tell(app, report_id, {"ana", "ben"}, at("2099-12-01T23:30:00+01:00")) == 2
    assert feed_of(app, "ana") == ["acknowledged"] and feed_of(app, "ben") == ["acknowledged"]
    held = pushes(app)
    assert held["ana"].next_attempt_at == at("2099-12-02T07:00:00+01:00")
    assert held["ana"].status == "pending"
    # ben has no quiet hours: due as soon as written.
    assert held["ben"].next_attempt_at == held["ben"].created_at
    # The dispatcher sends ben's now; ana's waits.
    assert run(app, sender)["sent"] == 1
    assert standin.accepted_tokens() == ["tok-ben"]
    # Morning comes: it goes, once.
    with app.app_context():
        db.session.execute(text("UPDATE notification_deliveries SET next_attempt_at = now()"))
        db.session.commit()
        db.session.remove()
    assert run(app, sender)["sent"] == 1
    assert sorted(standin.accepted_tokens()) == ["tok-ana", "tok-ben"]


def test_outside_quiet_hours_the_push_goes_at_once(app, client, auth):
    report_id = make_report(app, reporter="zed")
    act(client, auth(Role.AGENT), report_id, "acknowledge")
    add_device(app, "ana", "tok-ana")
    prefer(client, auth, "ana", {"push": {}, "quiet_hours": {"start": "22:00", "end": "07:00"}})
    tell(app, report_id, {"ana"}, at("2099-12-01T12:00:00+01:00"))
    push = pushes(app)["ana"]
    assert push.next_attempt_at == push.created_at


def test_an_event_with_thousands_of_followers_tells_each_of_them(app, client, auth):
    """More rows than one statement's 65,535 parameters allow: written in slices."""
    report_id = make_report(app, reporter="zed")
    act(client, auth(Role.AGENT), report_id, "acknowledge")
    uids = {f"resident-{i}" for i in range(8000)}
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO devices (uid, token, platform, locale) SELECT 'resident-' || i, "
                "'tok-' || i, 'android', 'fr-FR' FROM generate_series(0, 7999) AS i"
            )
        )
        db.session.commit()
        db.session.remove()
    assert tell(app, report_id, uids, at("2099-12-01T12:00:00+01:00")) == 8000
    with app.app_context():
        assert db.session.scalar(text("SELECT count(*) FROM notification_deliveries")) == 8000
        db.session.remove()
