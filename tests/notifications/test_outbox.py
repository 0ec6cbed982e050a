"""Notifications are written with each public event, in its transaction, one per resident
told (reporter, supporters, followers; never the actor), in their language; the in-app feed
lists them and marks them read, with no Firebase at all."""

import pytest
from sqlalchemy import insert, select

from app.extensions import db
from app.notifications.models import Delivery, Device, Notification
from app.reports.models import ReportFollower
from app.reports.service import add_support
from app.users.models import Role
from tests.factories import make_report
from tests.triage.helpers import act


@pytest.fixture
def setup(app):
    def run(fn):
        with app.app_context():
            result = fn(db.session)
            db.session.commit()
            db.session.remove()
        return result

    return run


def follow(session, report_id, uid):
    session.execute(insert(ReportFollower).values(report_id=report_id, uid=uid, reason="follow"))


def device(session, uid, token, locale="fr-FR", enabled=True):
    session.add(Device(uid=uid, token=token, platform="android", locale=locale, enabled=enabled))


def notifications_of(app, **where) -> list[Notification]:
    with app.app_context():
        query = select(Notification).order_by(Notification.id)
        for column, value in where.items():
            query = query.where(getattr(Notification, column) == value)
        found = list(db.session.scalars(query))
        db.session.expunge_all()
        db.session.remove()
    return found


def test_a_state_change_tells_the_reporter_supporters_and_followers_once_each(
    app, client, auth, setup
):
    report_id = make_report(app, reporter="ana")
    setup(lambda s: add_support(s, report_id, "ben"))  # ben supports, so follows too
    setup(lambda s: follow(s, report_id, "carl"))
    assert act(client, auth(Role.AGENT), report_id, "acknowledge").status_code == 200
    told = notifications_of(app)
    assert sorted(n.uid for n in told) == ["ana", "ben", "carl"]
    [ana] = [n for n in told if n.uid == "ana"]
    assert ana.kind == "acknowledged" and ana.language == "fr"
    assert ana.data["report_id"] == str(report_id) and ana.data["status"] == "acknowledged"
    assert ana.data["reference"] in ana.title and "pris en compte" in ana.body
    assert ana.collapse_key == f"report-{report_id}"


@pytest.mark.parametrize("reporter", ["open311:1:4f2a9c", "sensor:demo-streetlights"])
def test_internal_reporters_are_never_told(app, client, auth, reporter):
    report_id = make_report(app, reporter=reporter)
    assert act(client, auth(Role.AGENT), report_id, "acknowledge").status_code == 200
    assert notifications_of(app) == []


def test_internal_actions_tell_nobody(app, client, auth):
    report_id = make_report(app, status="assigned", reporter="ana")
    assert act(client, auth(Role.AGENT), report_id, "note", {"note": "x"}).status_code == 200
    assert (
        act(client, auth(Role.AGENT), report_id, "set_priority", {"priority": 1}).status_code == 200
    )
    assert notifications_of(app) == []


def test_a_public_update_is_told_as_an_update_with_the_agents_words(app, client, auth):
    report_id = make_report(app, status="assigned", reporter="ana")
    message = {"fr": "Passage lundi", "en": "Coming on Monday"}
    response = act(client, auth(Role.AGENT), report_id, "public_update", {"message": message})
    assert response.status_code == 200
    [told] = notifications_of(app)
    assert (told.kind, told.body) == ("update", "Passage lundi")


def test_the_actor_is_not_told_of_their_own_action(app, client, auth):
    report_id = make_report(app, status="resolved", reporter="ana")
    reopened = act(
        client,
        auth(Role.RESIDENT, uid="ana"),
        report_id,
        "reopen",
        {"reason": "Toujours là"},
        staff_headers=auth(Role.AGENT),
    )
    assert reopened.status_code == 200, reopened.get_json()
    assert notifications_of(app) == []


def test_language_follows_the_locale_of_the_residents_latest_device(app, client, auth, setup):
    report_id = make_report(app, reporter="ana")
    setup(lambda s: follow(s, report_id, "ben"))
    setup(lambda s: device(s, "ben", "ben-phone", locale="en-GB"))
    act(client, auth(Role.AGENT), report_id, "acknowledge")
    [ben] = notifications_of(app, uid="ben")
    assert ben.language == "en"
    assert ben.title.startswith("Report") and "acknowledged" in ben.body
    [ana] = notifications_of(app, uid="ana")
    assert ana.language == "fr" and ana.title.startswith("Signalement")


def test_one_pending_delivery_per_enabled_device(app, client, auth, setup):
    report_id = make_report(app, reporter="ana")
    setup(lambda s: device(s, "ana", "phone"))
    setup(lambda s: device(s, "ana", "tablet"))
    setup(lambda s: device(s, "ana", "old-phone", enabled=False))
    act(client, auth(Role.AGENT), report_id, "acknowledge")
    with app.app_context():
        tokens = db.session.scalars(
            select(Device.token)
            .join(Delivery, Delivery.device_id == Device.id)
            .where(Delivery.status == "pending")
            .order_by(Device.token)
        ).all()
        db.session.remove()
    assert tokens == ["phone", "tablet"]


def test_a_refused_action_writes_no_notification(app, client, auth):
    report_id = make_report(app, reporter="ana")
    stale = act(client, auth(Role.AGENT), report_id, "acknowledge", etag='"99"')
    assert stale.status_code == 412
    assert notifications_of(app) == []


def test_a_merge_tells_each_side_once(app, client, auth, setup):
    original = make_report(app, reporter="olga")
    duplicate = make_report(app, reporter="ana")
    setup(lambda s: follow(s, duplicate, "ben"))
    response = act(client, auth(Role.AGENT), duplicate, "merge", {"into": original})
    assert response.status_code == 200, response.get_json()
    told = {n.uid: n for n in notifications_of(app)}
    assert set(told) == {"olga", "ana", "ben"}
    assert told["ana"].kind == "duplicate" and told["ana"].report_id == duplicate
    assert told["ben"].report_id == duplicate
    assert told["olga"].kind == "update" and told["olga"].report_id == original


# --- the feed -------------------------------------------------------------------------------


def test_the_feed_lists_newest_first_with_the_unread_count_and_marks_read(app, client, auth):
    report_id = make_report(app, reporter="ana", status="assigned")
    crew = auth(Role.CREW)
    act(client, crew, report_id, "start", staff_headers=auth(Role.AGENT))
    act(
        client,
        crew,
        report_id,
        "resolve",
        {"resolution": "repaired"},
        staff_headers=auth(Role.AGENT),
    )
    ana = auth(Role.RESIDENT, uid="ana")
    page = client.get("/v1/me/notifications?limit=1", headers=ana).get_json()
    assert page["unread_count"] == 2
    [newest] = page["items"]
    assert newest["kind"] == "resolved" and newest["read_at"] is None
    assert newest["data"] == {
        "report_id": str(report_id),
        "reference": newest["data"]["reference"],
        "status": "resolved",
        "kind": "resolved",
    }
    second = client.get(f"/v1/me/notifications?cursor={page['next_cursor']}", headers=ana)
    [older] = second.get_json()["items"]
    assert older["kind"] == "in_progress" and second.get_json()["next_cursor"] is None

    read = client.post(f"/v1/me/notifications/{older['id']}/read", headers=ana)
    assert read.status_code == 200 and read.get_json()["read_at"] is not None
    assert client.get("/v1/me/notifications", headers=ana).get_json()["unread_count"] == 1
    # Someone else's notification is not found, whoever asks.
    theirs = client.post(f"/v1/me/notifications/{newest['id']}/read", headers=auth())
    assert theirs.status_code == 404 and theirs.get_json()["code"] == "notification_not_found"

    done = client.post("/v1/me/notifications/read-all", headers=ana, json={"up_to": newest["id"]})
    assert done.get_json() == {"marked": 1, "unread_count": 0}


def test_mark_all_read_up_to_leaves_a_newer_notification_unread(app, client, auth):
    report_id = make_report(app, reporter="ana", status="assigned")
    crew = auth(Role.CREW)
    act(client, crew, report_id, "start", staff_headers=auth(Role.AGENT))
    ana = auth(Role.RESIDENT, uid="ana")
    [shown] = client.get("/v1/me/notifications", headers=ana).get_json()["items"]
    act(
        client,
        crew,
        report_id,
        "resolve",
        {"resolution": "repaired"},
        staff_headers=auth(Role.AGENT),
    )
    done = client.post("/v1/me/notifications/read-all", headers=ana, json={"up_to": shown["id"]})
    assert done.get_json() == {"marked": 1, "unread_count": 1}
    # Without up_to, everything; with no body at all too.
    assert client.post("/v1/me/notifications/read-all", headers=ana).get_json() == {
        "marked": 1,
        "unread_count": 0,
    }


def test_a_cursor_not_issued_by_us_is_a_problem(client, auth):
    response = client.get("/v1/me/notifications?cursor=bm9wZQ", headers=auth())
    assert response.status_code == 400 and response.get_json()["code"] == "invalid_cursor"
