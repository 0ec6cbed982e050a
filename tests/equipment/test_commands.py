"""Commands through the outbox to the simulator's broker and back through the feeds:
confirmed, failed, expired, superseded; outages delay; a lost record sends nothing twice."""

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.equipment import dispatch
from app.equipment.models import EquipmentCommand
from app.users.models import Role
from tests.equipment.conftest import LIGHTS, POLICY, SIGNALS, call

LIGHT = LIGHTS[0].reference


def ask(client, headers, reference, body, key="k-1"):
    return call(client, "POST", f"/v1/assets/{reference}/commands", headers, body, key)


def command(session, command_id) -> EquipmentCommand:
    found = session.get(EquipmentCommand, command_id)
    session.refresh(found)
    return found


def send(session, city, **delta):
    return dispatch.dispatch(session, dispatch.HttpBroker(), POLICY, now=city.at(**delta))


def test_a_switched_off_light_is_confirmed_when_the_light_reports_it(city, session, client, staff):
    city.poll(session)
    lights_agent = staff("lights-agent", Role.AGENT, ["eclairage"])
    asked = ask(client, lights_agent, LIGHT, {"command": "dim", "level": 40, "reason": "Fête"})
    assert asked.status_code == 201, asked.get_json()
    body = asked.get_json()
    assert (body["state"], body["command"], body["level"]) == ("queued", "dim", 40)
    assert asked.headers["Location"] == f"/v1/equipment-commands/{body['id']}"
    counts = send(session, city, seconds=0)
    assert counts["sent"] == 1
    sent = command(session, body["id"])
    assert sent.state == "sent"
    assert sent.before["control_mode"] == "schedule"
    entity = f"urn:ngsi-ld:Streetlight:dijon:{LIGHT}"
    assert city.equipment.patches == [(entity, sent.uid)]
    # Before the light obeys (2 s), polls see it pending: still sent.
    city.at(seconds=1)
    city.poll(session, "test-lights")
    assert command(session, body["id"]).state == "sent"
    city.at(seconds=2)
    city.poll(session, "test-lights")
    done = command(session, body["id"])
    assert done.state == "confirmed"
    assert done.after["dimming_level"] == 40 and done.after["control_mode"] == "manual"
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == LIGHT).order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "equipment.command.queued",
        "equipment.command.sent",
        "equipment.command.confirmed",
    ]
    history = call(client, "GET", f"/v1/assets/{LIGHT}/commands", lights_agent).get_json()
    assert [(c["id"], c["state"]) for c in history["items"]] == [(body["id"], "confirmed")]
    live = call(client, "GET", f"/v1/assets/{LIGHT}", lights_agent).get_json()["live"]
    assert live["dimming_level"] == 40


def test_a_command_the_equipment_reports_an_error_for_fails(city, session, client, staff):
    city.poll(session)
    city.equipment.behaviour.failure_rate = 1.0
    supervisor = staff("sup", Role.SUPERVISOR)
    body = ask(client, supervisor, LIGHT, {"command": "switch_on", "reason": "Accident"}).get_json()
    send(session, city, seconds=0)
    city.at(seconds=3)
    city.poll(session, "test-lights")
    failed = command(session, body["id"])
    assert (failed.state, failed.last_error) == ("failed", "equipment_error")


def test_a_command_the_broker_refuses_fails_without_retry(city, session, client, staff):
    city.poll(session)
    city.equipment.behaviour.mode = "refuse"
    supervisor = staff("sup", Role.SUPERVISOR)
    body = ask(client, supervisor, LIGHT, {"command": "switch_on", "reason": "Accident"}).get_json()
    assert send(session, city, seconds=0)["failed"] == 1
    failed = command(session, body["id"])
    assert failed.state == "failed" and failed.last_error.startswith("HTTP 422")


def test_a_command_the_equipment_never_applies_expires(city, session, client, staff):
    city.poll(session)
    city.equipment.behaviour.mode = "ignore"
    supervisor = staff("sup", Role.SUPERVISOR)
    body = ask(client, supervisor, LIGHT, {"command": "switch_off", "reason": "Test"}).get_json()
    send(session, city, seconds=0)
    city.at(seconds=60)
    city.poll(session, "test-lights")
    assert command(session, body["id"]).state == "sent"
    assert dispatch.expire(session, now=city.at(seconds=61)) == 1  # 121 s > 120 s
    expired = command(session, body["id"])
    assert (expired.state, expired.last_error) == ("expired", "no_matching_state")


def test_a_newer_command_supersedes_an_unsent_older_one(city, session, client, staff):
    city.poll(session)
    supervisor = staff("sup", Role.SUPERVISOR)
    older = ask(client, supervisor, LIGHT, {"command": "switch_on", "reason": "Orage"}, "k-1")
    newer = ask(
        client, supervisor, LIGHT, {"command": "switch_off", "reason": "Fin d'orage"}, "k-2"
    )
    assert newer.status_code == 201, newer.get_json()
    send(session, city, seconds=0)
    first, second = (
        command(session, older.get_json()["id"]),
        command(session, newer.get_json()["id"]),
    )
    assert (first.state, first.superseded_by_id) == ("superseded", second.id)
    assert second.state == "sent"
    assert [uid for _, uid in city.equipment.patches] == [second.uid]


def test_a_broker_outage_delays_a_command_and_never_loses_it(city, session, client, staff):
    city.poll(session)
    supervisor = staff("sup", Role.SUPERVISOR)
    body = ask(client, supervisor, LIGHT, {"command": "switch_on", "reason": "Nuit"}).get_json()
    for mode in ("error", "lose"):
        city.equipment.behaviour.mode = mode
        counts = send(session, city, seconds=0)
        assert counts["retried"] == 1, counts
        waiting = command(session, body["id"])
        assert waiting.state == "queued" and waiting.next_attempt_at > city.now
        # Not due yet: nothing is tried before the backoff.
        assert send(session, city, seconds=1)["retried"] == 0
        city.at(minutes=5)
    assert city.equipment.patches == []
    city.equipment.behaviour.mode = "normal"
    assert send(session, city, seconds=0)["sent"] == 1
    assert command(session, body["id"]).state == "sent"
    assert len(city.equipment.patches) == 1


def test_a_worker_killed_after_sending_and_before_recording_sends_nothing_twice(
    city, session, client, staff
):
    city.poll(session)
    supervisor = staff("sup", Role.SUPERVISOR)
    body = ask(client, supervisor, LIGHT, {"command": "switch_off", "reason": "Nuit"}).get_json()
    broker = dispatch.HttpBroker()
    # The killed run: it claimed the command and PATCHed it, and died before recording.
    (row,) = dispatch.claim(session, POLICY, city.now)
    assert dispatch._send_one(broker, row).outcome.accepted
    assert command(session, body["id"]).state == "queued"
    # Its lease is not over: another run leaves it alone.
    assert send(session, city, seconds=30)["sent"] == 0
    # Over: the next run sees the command on the broker and records it, sending nothing.
    assert send(session, city, seconds=31)["sent"] == 1
    sent = command(session, body["id"])
    assert (sent.state, sent.attempts) == ("sent", 2)
    assert len(city.equipment.patches) == 1


def test_a_command_claimed_again_after_a_lost_patch_is_sent_once(city, session, client, staff):
    city.poll(session)
    supervisor = staff("sup", Role.SUPERVISOR)
    body = ask(client, supervisor, LIGHT, {"command": "switch_off", "reason": "Nuit"}).get_json()
    dispatch.claim(session, POLICY, city.now)  # killed before its PATCH left
    assert send(session, city, seconds=61)["sent"] == 1
    assert command(session, body["id"]).state == "sent"
    assert len(city.equipment.patches) == 1


def test_a_traffic_signal_goes_flashing_once_a_second_supervisor_confirms(
    city, session, client, staff
):
    city.poll(session)
    agent = staff("traffic-agent", Role.AGENT, ["circulation"])
    chief = staff("chief", Role.SUPERVISOR)
    signal = SIGNALS[0].reference
    asked = ask(client, agent, signal, {"command": "flashing_amber", "reason": "Manifestation"})
    assert asked.get_json()["state"] == "pending_confirmation"
    command_id = asked.get_json()["id"]
    assert send(session, city, seconds=0)["sent"] == 0  # not before the second person
    confirmed = call(
        client, "POST", f"/v1/equipment-commands/{command_id}/confirm", chief, {"note": "OK"}
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    assert (confirmed.get_json()["state"], confirmed.get_json()["decided_by"]) == (
        "queued",
        "chief",
    )
    send(session, city, seconds=0)
    city.at(seconds=3)
    city.poll(session, "test-signals")
    done = command(session, command_id)
    if done.state != "confirmed":  # the signal happened to be faulty in this window
        assert done.after is None
    else:
        assert done.after["mode"] == "flashing_amber"


def test_a_signal_command_nobody_confirms_in_time_expires_unsent(city, session, client, staff):
    city.poll(session)
    agent = staff("traffic-agent", Role.AGENT, ["circulation"])
    body = ask(
        client, agent, SIGNALS[0].reference, {"command": "normal", "reason": "Fin"}
    ).get_json()
    assert dispatch.expire(session, now=city.at(minutes=14)) == 0
    assert dispatch.expire(session, now=city.at(minutes=2)) == 1  # 15 minutes to decide
    expired = command(session, body["id"])
    assert (expired.state, expired.last_error) == ("expired", "not_confirmed_in_time")
    assert send(session, city, seconds=0)["sent"] == 0 and city.equipment.patches == []


def test_the_worker_job_sends_what_is_queued(app, city, session, client, staff):
    from worker import jobs

    city.poll(session)
    supervisor = staff("sup", Role.SUPERVISOR)
    body = ask(client, supervisor, LIGHT, {"command": "switch_on", "reason": "Nuit"}).get_json()
    assert jobs.dispatch_equipment_commands()["sent"] == 1
    assert command(session, body["id"]).state == "sent"
    assert jobs.sweep_equipment_commands() is False  # nothing due any more
