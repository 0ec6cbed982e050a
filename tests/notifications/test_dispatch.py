"""The dispatcher drives firebase-admin's real messaging client against the FCM stand-in:
every push reaches FCM exactly once (or is failed for a token gone for good), whatever
faults come: a duplicate run of the same batch, FCM down then back, transient errors. And
pushes tell the latest truth: of a backlog, a device gets only a report's newest state, and
pushes of one report to one device never overtake each other."""

import threading
import time
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from app.extensions import db
from app.notifications.dispatch import Policy, claim_rows, dispatch, due_waiting
from app.notifications.fcm import FirebaseSender
from app.notifications.models import Delivery, Device, Notification
from app.reports.models import ReportFollower
from app.users.models import Role
from tests.conftest import PROJECT_ID
from tests.factories import make_report
from tests.triage.helpers import act
from tools.fcm_standin import FcmStandIn

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


@pytest.mark.processes
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


# --- the latest truth: one push per device and report, the newest, never overtaken ---------


def progress(client, auth, report_id: int) -> None:
    """The report moves on while nothing is pushed: assigned, in progress, resolved."""
    agent, crew = auth(Role.AGENT), auth(Role.CREW, uid="crew-durand")
    assert act(client, agent, report_id, "assign", {"crew": "voirie-nord"}).status_code == 200
    assert act(client, crew, report_id, "start", staff_headers=agent).status_code == 200
    resolved = act(
        client, crew, report_id, "resolve", {"resolution": "repaired"}, staff_headers=agent
    )
    assert resolved.status_code == 200


def pushed_states(standin) -> list[tuple[str, str]]:
    """(token, the report's state it tells of), in the order FCM took them."""
    return [(a["token"], a["message"]["data"]["status"]) for a in standin.accepted]


def statuses_by_token(app) -> dict[str, list[str]]:
    """Each device token's deliveries, oldest notification first: their status."""
    with app.app_context():
        rows = db.session.execute(
            select(Device.token, Delivery.status)
            .join(Delivery, Delivery.device_id == Device.id)
            .order_by(Delivery.notification_id)
        ).all()
        db.session.remove()
    found: dict[str, list[str]] = {}
    for token, status in rows:
        found.setdefault(token, []).append(status)
    return found


@pytest.mark.parametrize("batch", [500, 1])
def test_a_backlog_pushes_only_the_newest_state_of_a_report_to_each_device(
    app, client, auth, standin, sender, batch
):
    """Four states of one report wait for each of three devices (the worker was down): each
    device gets one push, the resolution; the others are superseded, still in the feed. With
    batches of one, the claim still takes the newest of a device, not the oldest due."""
    report_id = told(app, client, auth)
    progress(client, auth, report_id)
    counts = run(app, sender, Policy(batch=batch))
    assert (counts["sent"], counts["superseded"]) == (3, 9)
    assert sorted(pushed_states(standin)) == sorted((t, "resolved") for t in RESIDENTS.values())
    older = ["superseded"] * 3
    assert statuses_by_token(app) == {token: [*older, "sent"] for token in RESIDENTS.values()}
    for uid in RESIDENTS:
        feed = client.get("/v1/me/notifications", headers=auth(Role.RESIDENT, uid=uid))
        assert [n["kind"] for n in feed.get_json()["items"]] == [
            "resolved",
            "in_progress",
            "assigned",
            "acknowledged",
        ]
    # Superseded is final: nothing is due, nothing more is sent.
    with app.app_context():
        assert not due_waiting(db.session)
        db.session.remove()
    assert run(app, sender)["sent"] == 0
    assert len(standin.accepted) == 3


def test_after_an_outage_a_phone_gets_the_newest_state_not_the_first_one_retried(
    app, client, auth, standin, sender
):
    report_id = told(app, client, auth, {"ana": "tok-ana"})
    standin.down = True
    assert run(app, sender)["retried"] == 1  # "acknowledged" waits for FCM
    progress(client, auth, report_id)
    standin.down = False
    time_passes(app)
    counts = run(app, sender)
    assert (counts["sent"], counts["superseded"]) == (1, 3)
    assert pushed_states(standin) == [("tok-ana", "resolved")]
    with app.app_context():
        first = db.session.scalar(select(Delivery).order_by(Delivery.notification_id).limit(1))
        # What it went through is kept.
        assert (first.status, first.attempts) == ("superseded", 1)
        assert first.last_error.startswith("UNAVAILABLE")
        db.session.remove()


@pytest.fixture
def other_standin():
    """A second FCM stand-in: what a second dispatcher sends there is told apart."""
    server = FcmStandIn(PROJECT_ID).start()
    yield server
    server.stop()


def sender_to(standin) -> FirebaseSender:
    return FirebaseSender(project_id=PROJECT_ID, credentials="static-token", endpoint=standin.url)


@pytest.mark.processes
def test_a_newer_push_of_a_report_never_overtakes_one_in_flight_to_the_same_device(
    app, client, auth, standin, sender, other_standin
):
    report_id = told(app, client, auth, {"ana": "tok-ana"})
    standin.hold()
    first = threading.Thread(target=run, args=(app, sender))
    first.start()
    assert standin.in_flight.acquire(timeout=60)  # "acknowledged" is in flight...
    assert (
        act(client, auth(Role.AGENT), report_id, "assign", {"crew": "voirie-nord"}).status_code
        == 200
    )
    # ...when "assigned" is written and another dispatcher runs: it waits for the first.
    assert run(app, sender_to(other_standin))["sent"] == 0
    assert other_standin.accepted == []
    standin.release()
    first.join(timeout=60)
    # Once "acknowledged" is recorded, the first run's last look sends "assigned" after it.
    assert pushed_states(standin) == [("tok-ana", "acknowledged"), ("tok-ana", "assigned")]
    assert statuses_by_token(app) == {"tok-ana": ["sent", "sent"]}


@pytest.mark.processes
def test_a_push_in_flight_holds_back_only_its_own_report_on_that_device(
    app, client, auth, standin, sender, other_standin
):
    told(app, client, auth, {"ana": "tok-ana"})
    standin.hold()
    first = threading.Thread(target=run, args=(app, sender))
    first.start()
    assert standin.in_flight.acquire(timeout=60)
    # Another report of ana's is acknowledged meanwhile: nothing of it is in flight.
    other = make_report(app, reporter="ana")
    assert act(client, auth(Role.AGENT), other, "acknowledge").status_code == 200
    assert run(app, sender_to(other_standin))["sent"] == 1
    assert other_standin.accepted[0]["message"]["data"]["report_id"] == str(other)
    standin.release()
    first.join(timeout=60)
    assert pushed_states(standin) == [("tok-ana", "acknowledged")]


@pytest.mark.processes
def test_two_dispatchers_never_claim_for_one_device_at_once(app, client, auth, standin, sender):
    """A claim keeps the devices it works on locked until its leases are committed: a
    second dispatcher, whose snapshot cannot see those leases yet, skips the device
    (without waiting) rather than send a newer push past the one being claimed."""
    report_id = told(app, client, auth, {"ana": "tok-ana"})
    with app.app_context():
        claiming = Session(db.engine)
        try:
            claimed, _, _ = claim_rows(claiming, Policy(), None)  # "acknowledged", uncommitted
            assert [row.data["status"] for row in claimed] == ["acknowledged"]
            # A newer state is written meanwhile (its delivery's foreign key is not held up).
            assign = act(client, auth(Role.AGENT), report_id, "assign", {"crew": "voirie-nord"})
            assert assign.status_code == 200
            second: list[Counter] = []
            running = threading.Thread(target=lambda: second.append(run(app, sender)))
            running.start()
            # Were it to wait for the first claim's rows, it would go on once they are
            # committed, blind to the lease: it must have finished without waiting.
            while running.is_alive() and not waiting_for_a_lock(db.engine):
                time.sleep(0.05)
            claiming.commit()
            running.join(timeout=60)
        finally:
            claiming.close()
        db.session.remove()
    assert (second[0]["sent"], second[0]["superseded"]) == (0, 0)
    assert standin.accepted == []
    assert statuses_by_token(app) == {"tok-ana": ["pending", "pending"]}
    # The first dispatcher died before sending: once its lease is over, the newest goes.
    time_passes(app)
    assert run(app, sender)["sent"] == 1
    assert pushed_states(standin) == [("tok-ana", "assigned")]
    assert statuses_by_token(app) == {"tok-ana": ["superseded", "sent"]}


def waiting_for_a_lock(engine) -> bool:
    """Whether some connection to this database waits for a lock (asked in a transaction
    of its own: pg_stat_activity is read once per transaction)."""
    with engine.connect() as connection:
        return bool(
            connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).scalar()
        )


@pytest.mark.processes
def test_a_push_still_in_flight_past_its_lease_and_accepted_is_recorded_sent(
    app, client, auth, standin, sender, other_standin
):
    """Past its lease a push is no longer in flight for the others: a newer one supersedes
    it and goes; if FCM accepts the first all the same, it was sent (sent is final)."""
    report_id = told(app, client, auth, {"ana": "tok-ana"})
    standin.hold()
    first = threading.Thread(target=run, args=(app, sender))
    first.start()
    assert standin.in_flight.acquire(timeout=60)
    time_passes(app)  # the first run stalls past its lease
    assert (
        act(client, auth(Role.AGENT), report_id, "assign", {"crew": "voirie-nord"}).status_code
        == 200
    )
    counts = run(app, sender_to(other_standin))
    assert (counts["sent"], counts["superseded"]) == (1, 1)
    assert statuses_by_token(app) == {"tok-ana": ["superseded", "sent"]}
    standin.release()
    first.join(timeout=60)
    assert pushed_states(standin) == [("tok-ana", "acknowledged")]
    assert statuses_by_token(app) == {"tok-ana": ["sent", "sent"]}
