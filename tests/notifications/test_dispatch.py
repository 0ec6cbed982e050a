"""The dispatcher drives firebase-admin's real messaging client against the FCM stand-in:
every push reaches FCM exactly once (or is failed for a token gone for good), whatever
faults come: a duplicate run of the same batch, FCM down then back, transient errors."""

import threading
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import insert, select, text

from app.extensions import db
from app.notifications.dispatch import Policy, dispatch
from app.notifications.fcm import FirebaseSender
from app.notifications.models import Delivery, Device, Notification
from app.reports.models import ReportFollower
from app.users.models import Role
from tests.conftest import PROJECT_ID
from tests.triage.helpers import act, make_report

RESIDENTS = {"ana": "tok-ana", "ben": "tok-ben", "carl": "tok-carl"}


def told(app, client, auth, residents=RESIDENTS, *, locale="fr-FR") -> int:
    """A report of the first resident, followed by the others, each with a device; the desk
    acknowledges it: one pending push per device. Returns the report id."""
    uids = list(residents)
    report_id = make_report(app, reporter=uids[0])
    with app.app_context():
        for uid, token in residents.items():
            db.session.add(Device(uid=uid, token=token, platform="android", locale=locale))
            if uid != uids[0]:
                db.session.execute(
                    insert(ReportFollower).values(report_id=report_id, uid=uid, reason="follow")
                )
        db.session.commit()
        db.session.remove()
    assert act(client, auth(Role.AGENT), report_id, "acknowledge").status_code == 200
    return report_id


def run(app, sender, policy=None):
    with app.app_context():
        counts = dispatch(db.session, sender, policy or Policy())
        db.session.remove()
    return counts


def deliveries(app) -> dict[str, Delivery]:
    """Each device token's delivery."""
    with app.app_context():
        rows = db.session.execute(
            select(Device.token, Delivery).join(Delivery, Delivery.device_id == Device.id)
        ).all()
        db.session.expunge_all()
        db.session.remove()
    return {token: delivery for token, delivery in rows}


def sql(app, statement: str) -> None:
    with app.app_context():
        db.session.execute(text(statement))
        db.session.commit()
        db.session.remove()


def time_passes(app) -> None:
    """Every retry comes due, every lease is over."""
    sql(
        app,
        "UPDATE notification_deliveries SET next_attempt_at = now() - interval '1 second', "
        "lease_until = CASE WHEN lease_until IS NULL THEN NULL "
        "ELSE now() - interval '1 second' END",
    )


def test_each_push_reaches_fcm_once_with_the_notification_and_its_message_id(
    app, client, auth, standin, sender
):
    report_id = told(app, client, auth)
    assert run(app, sender)["sent"] == 3
    assert sorted(standin.accepted_tokens()) == sorted(RESIDENTS.values())
    [to_ana] = [a for a in standin.accepted if a["token"] == "tok-ana"]
    message = to_ana["message"]
    with app.app_context():
        notification = db.session.scalar(select(Notification).where(Notification.uid == "ana"))
        assert message["notification"] == {"title": notification.title, "body": notification.body}
        assert message["data"] == {
            "report_id": str(report_id),
            "reference": notification.data["reference"],
            "status": "acknowledged",
            "kind": "acknowledged",
            "notification_id": str(notification.id),
        }
        db.session.remove()
    assert message["android"]["collapse_key"] == f"report-{report_id}"
    assert message["apns"]["headers"]["apns-collapse-id"] == f"report-{report_id}"
    sent = deliveries(app)
    assert {d.status for d in sent.values()} == {"sent"}
    assert sent["tok-ana"].fcm_message_id == to_ana["name"]
    # Run again: nothing is sent twice.
    assert run(app, sender)["sent"] == 0
    assert len(standin.accepted) == 3


def test_a_duplicate_run_of_the_same_batch_sends_each_push_once(app, client, auth, standin, sender):
    told(app, client, auth)
    standin.hold()
    first = threading.Thread(target=run, args=(app, sender))
    first.start()
    # The first run's batch is in flight at FCM...
    assert standin.in_flight.acquire(timeout=60)
    # ...when a second run (the same job queued twice, or the sweep's) comes: the batch is
    # leased, it finds nothing to send.
    assert run(app, sender)["sent"] == 0
    standin.release()
    first.join(timeout=60)
    assert sorted(standin.accepted_tokens()) == sorted(RESIDENTS.values())
    assert {d.status for d in deliveries(app).values()} == {"sent"}


@pytest.mark.parametrize("error", ["UNREGISTERED", "INVALID_ARGUMENT"])
def test_a_token_fcm_refuses_for_good_is_disabled_after_one_failure(
    app, client, auth, standin, sender, error
):
    report_id = told(app, client, auth)
    standin.fail_always("tok-ben", error)
    counts = run(app, sender)
    assert (counts["sent"], counts["failed"]) == (2, 1)
    ben = deliveries(app)["tok-ben"]
    assert ben.status == "failed" and ben.attempts == 1 and ben.last_error.startswith(error)
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.token == "tok-ben"))
        assert (device.enabled, device.disabled_reason) == (False, error)
        db.session.remove()
    # The feed still has it; the next event pushes to the others only.
    page = client.get("/v1/me/notifications", headers=auth(Role.RESIDENT, uid="ben")).get_json()
    assert page["unread_count"] == 1
    act(client, auth(Role.AGENT), report_id, "assign", {"crew": "voirie-nord"})
    time_passes(app)
    run(app, sender)
    assert standin.refused == [("tok-ben", error)]
    assert sorted(standin.accepted_tokens()) == sorted(["tok-ana", "tok-carl"] * 2)


@pytest.mark.parametrize("error", ["UNAVAILABLE", "QUOTA_EXCEEDED", "INTERNAL"])
def test_a_transient_error_is_retried_after_a_backoff_and_sent_once(
    app, client, auth, standin, sender, error
):
    told(app, client, auth)
    standin.fail("tok-ben", error)
    counts = run(app, sender)
    assert (counts["sent"], counts["retried"]) == (2, 1)
    ben = deliveries(app)["tok-ben"]
    assert (ben.status, ben.attempts) == ("pending", 1) and ben.last_error.startswith(error)
    # Not due yet: another run leaves it.
    assert run(app, sender)["sent"] == 0
    time_passes(app)
    assert run(app, sender)["sent"] == 1
    assert sorted(standin.accepted_tokens()) == sorted(RESIDENTS.values())
    assert deliveries(app)["tok-ben"].status == "sent"


def test_retry_after_is_honoured_over_a_shorter_backoff(app, client, auth, standin, sender):
    told(app, client, auth, {"ana": "tok-ana"})
    standin.retry_after = 7200
    standin.fail("tok-ana", "UNAVAILABLE")
    run(app, sender, Policy(retry_base_seconds=1))
    with app.app_context():
        wait = db.session.scalar(
            text("SELECT next_attempt_at - now() > interval '1 hour' FROM notification_deliveries")
        )
        db.session.remove()
    assert wait is True


def test_backoff_doubles_and_a_push_is_given_up_after_the_last_attempt():
    policy = Policy(retry_base_seconds=30, retry_max_seconds=3600, max_attempts=3)
    assert [policy.delay(n, None) for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]
    assert policy.delay(1, 300) == 300


def test_a_push_failing_every_time_is_given_up_after_max_attempts(
    app, client, auth, standin, sender
):
    told(app, client, auth, {"ana": "tok-ana"})
    standin.fail_always("tok-ana", "INTERNAL")
    policy = Policy(max_attempts=2)
    run(app, sender, policy)
    time_passes(app)
    run(app, sender, policy)
    ana = deliveries(app)["tok-ana"]
    assert (ana.status, ana.attempts) == ("failed", 2)
    assert ana.last_error.startswith("gave up: INTERNAL")
    with app.app_context():  # a transient error never disables the token
        assert db.session.scalar(select(Device.enabled).where(Device.token == "tok-ana"))
        db.session.remove()


def test_fcm_down_for_a_while_then_back_loses_nothing_and_sends_once(
    app, client, auth, standin, sender
):
    told(app, client, auth)
    standin.down = True
    assert run(app, sender)["retried"] == 3
    time_passes(app)
    assert run(app, sender)["retried"] == 3
    assert standin.accepted == []
    standin.down = False
    time_passes(app)
    assert run(app, sender)["sent"] == 3
    assert sorted(standin.accepted_tokens()) == sorted(RESIDENTS.values())
    assert {(d.status, d.attempts) for d in deliveries(app).values()} == {("sent", 3)}


def test_fcm_unreachable_is_retried_like_an_outage(app, client, auth, standin):
    told(app, client, auth, {"ana": "tok-ana"})
    closed = closed_port_url()
    nowhere = FirebaseSender(project_id=PROJECT_ID, credentials="static-token", endpoint=closed)
    assert run(app, nowhere)["retried"] == 1
    assert deliveries(app)["tok-ana"].last_error.startswith("TRANSPORT")


def test_a_proxy_set_in_the_environment_is_used(app, client, auth, standin, monkeypatch):
    """The sender reads the environment once, when made (not at every push): a proxy set
    there still carries the pushes (here one nothing listens on: nothing reaches FCM)."""
    told(app, client, auth, {"ana": "tok-ana"})
    nowhere = closed_port_url()
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, nowhere)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxied = FirebaseSender(
        project_id=PROJECT_ID, credentials="static-token", endpoint=standin.url
    )
    assert run(app, proxied)["retried"] == 1
    assert standin.accepted == [] and standin.refused == []
    assert deliveries(app)["tok-ana"].last_error.startswith("TRANSPORT")
    # Made again without it: straight to FCM.
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name)
    direct = FirebaseSender(project_id=PROJECT_ID, credentials="static-token", endpoint=standin.url)
    time_passes(app)
    assert run(app, direct)["sent"] == 1
    assert standin.accepted_tokens() == ["tok-ana"]


def closed_port_url() -> str:
    """An address nothing listens on."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_second_sender_in_the_same_process_sends_too(app, client, auth, standin, sender):
    """firebase-admin's app is shared by senders of the same settings: the second one
    finds its URL already pointed at the stand-in."""
    again = FirebaseSender(project_id=PROJECT_ID, credentials="static-token", endpoint=standin.url)
    told(app, client, auth)
    assert run(app, again)["sent"] == 3
    assert sorted(standin.accepted_tokens()) == sorted(RESIDENTS.values())


# --- quiet hours on retries: time is injected, nothing depends on the wall clock -------------


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def run_at(app, sender, stamp: str) -> Counter:
    with app.app_context():
        counts = dispatch(db.session, sender, Policy(), now=at(stamp))
        db.session.remove()
    return counts


def quiet_from(client, auth, uid: str, start: str, end: str) -> None:
    body = {"push": {}, "quiet_hours": {"start": start, "end": end}}
    response = client.put(
        "/v1/me/notification-preferences", headers=auth(Role.RESIDENT, uid=uid), json=body
    )
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(
    ("quiet", "fails_at", "during", "ends"),
    [
        # 22:00-07:00 spans midnight: a retry due at 22:00:15 waits until the next morning.
        (
            ("22:00", "07:00"),
            "2099-12-01T21:59:45+01:00",
            ["2099-12-01T22:00:15+01:00", "2099-12-01T23:30:00+01:00", "2099-12-02T06:59:59+01:00"],
            "2099-12-02T07:00:00+01:00",
        ),
        # In the small hours of the same period: until 07:00 that day.
        (
            ("22:00", "07:00"),
            "2099-12-02T03:00:00+01:00",
            ["2099-12-02T03:00:30+01:00", "2099-12-02T06:00:00+01:00"],
            "2099-12-02T07:00:00+01:00",
        ),
        # Within a day (a summer date: Paris is UTC+2).
        (
            ("12:00", "14:00"),
            "2099-07-01T11:59:50+02:00",
            ["2099-07-01T12:00:20+02:00", "2099-07-01T13:59:00+02:00"],
            "2099-07-01T14:00:00+02:00",
        ),
    ],
)
def test_a_retry_due_in_the_residents_quiet_hours_waits_until_their_end(
    app, client, auth, standin, sender, quiet, fails_at, during, ends
):
    told(app, client, auth, {"ana": "tok-ana"})
    # Set after the push was written: the retry follows the preferences of its time.
    quiet_from(client, auth, "ana", *quiet)
    standin.fail("tok-ana", "UNAVAILABLE")  # Retry-After 30 s: due inside the quiet period
    assert run_at(app, sender, fails_at)["retried"] == 1
    ana = deliveries(app)["tok-ana"]
    assert (ana.status, ana.next_attempt_at) == ("pending", at(ends))
    for stamp in during:
        assert run_at(app, sender, stamp)["sent"] == 0
    assert standin.accepted == [] and standin.refused == [("tok-ana", "UNAVAILABLE")]
    # The quiet period is over: it goes, once.
    assert run_at(app, sender, ends)["sent"] == 1
    assert run_at(app, sender, "2099-12-31T12:00:00+01:00")["sent"] == 0
    assert standin.accepted_tokens() == ["tok-ana"]
    assert deliveries(app)["tok-ana"].status == "sent"


def test_a_retry_due_outside_quiet_hours_keeps_its_backoff(app, client, auth, standin, sender):
    told(app, client, auth, {"ana": "tok-ana", "ben": "tok-ben"})
    quiet_from(client, auth, "ana", "22:00", "07:00")
    standin.fail("tok-ana", "UNAVAILABLE")
    standin.fail("tok-ben", "UNAVAILABLE")
    # 21:59:15 + 30 s is still evening for ana; ben has no quiet hours.
    assert run_at(app, sender, "2099-12-01T21:59:15+01:00")["retried"] == 2
    due = at("2099-12-01T21:59:45+01:00")
    assert {token: d.next_attempt_at for token, d in deliveries(app).items()} == {
        "tok-ana": due,
        "tok-ben": due,
    }
    assert run_at(app, sender, "2099-12-01T21:59:45+01:00")["sent"] == 2
    assert sorted(standin.accepted_tokens()) == ["tok-ana", "tok-ben"]


def test_a_retry_of_a_resident_in_quiet_hours_holds_only_theirs(app, client, auth, standin, sender):
    told(app, client, auth, {"ana": "tok-ana", "ben": "tok-ben"})
    quiet_from(client, auth, "ben", "22:00", "07:00")
    standin.fail("tok-ana", "UNAVAILABLE")
    standin.fail("tok-ben", "UNAVAILABLE")
    assert run_at(app, sender, "2099-12-01T23:00:00+01:00")["retried"] == 2
    assert run_at(app, sender, "2099-12-01T23:00:30+01:00")["sent"] == 1
    assert standin.accepted_tokens() == ["tok-ana"]
    assert run_at(app, sender, "2099-12-02T07:00:00+01:00")["sent"] == 1
    assert standin.accepted_tokens() == ["tok-ana", "tok-ben"]
