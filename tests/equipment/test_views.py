"""Commands over HTTP: who may do what (the two-person rule for signals), selections, bad
input as problem+json in French first, and retries under an Idempotency-Key."""

import pytest
from sqlalchemy import func, select

from app.equipment.models import EquipmentCommand
from app.users.models import Role
from tests.equipment.conftest import LIGHTS, SIGNALS, call

LIGHT, SIGNAL = LIGHTS[0].reference, SIGNALS[0].reference
SWITCH_OFF = {"command": "switch_off", "reason": "Orage annoncé"}
FLASHING = {"command": "flashing_amber", "reason": "Accident au carrefour"}

# Who may ask for a command to a street light and to a traffic signal: the desk that runs
# the equipment (lighting, traffic) and supervisors; nobody else.
CALLERS = {
    "resident": (Role.RESIDENT, ()),
    "crew": (Role.CREW, ()),
    "agent of roads": (Role.AGENT, ("voirie",)),
    "agent of lighting": (Role.AGENT, ("eclairage",)),
    "agent of traffic": (Role.AGENT, ("circulation",)),
    "supervisor": (Role.SUPERVISOR, ()),
    "admin": (Role.ADMIN, ()),
    "privacy officer": (Role.PRIVACY_OFFICER, ()),
}
MAY_COMMAND = {
    # caller: (street light, traffic signal)
    "resident": (403, 403),
    "crew": (403, 403),
    "agent of roads": (403, 403),
    "agent of lighting": (201, 403),
    "agent of traffic": (403, 201),
    "supervisor": (201, 201),
    "admin": (403, 403),
    "privacy officer": (403, 403),
}
# Who may decide on a signal command awaiting its second person (requested by the agent of
# traffic, or by a supervisor).
MAY_CONFIRM = {
    "the agent who asked": 403,
    "another agent of traffic": 403,
    "the supervisor who asked": 403,
    "another supervisor": 200,
    "admin": 403,
}


@pytest.fixture
def person(app, staff, crew_code):
    from app.auth.tokens import mint_emulator_token
    from tests.conftest import PROJECT_ID

    def make(name: str) -> dict:
        role, desks = CALLERS[name]
        uid = name.replace(" ", "-")
        if role == Role.RESIDENT:
            return {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, uid)}"}
        if role == Role.CREW:
            from app.extensions import db
            from app.users.service import put_user

            with app.app_context():
                put_user(db.session, actor=None, uid=uid, role=role, crew=crew_code)
                db.session.remove()
            return {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, uid)}"}
        return staff(uid, role, desks)

    return make


@pytest.mark.parametrize("caller", sorted(MAY_COMMAND))
def test_who_may_command_a_street_light_and_a_traffic_signal(city, session, client, person, caller):
    city.poll(session)
    headers = person(caller)
    light = call(client, "POST", f"/v1/assets/{LIGHT}/commands", headers, SWITCH_OFF, "a")
    signal = call(client, "POST", f"/v1/assets/{SIGNAL}/commands", headers, FLASHING, "b")
    assert (light.status_code, signal.status_code) == MAY_COMMAND[caller], (
        light.get_json(),
        signal.get_json(),
    )
    if signal.status_code == 201:
        assert signal.get_json()["state"] == "pending_confirmation"
        assert signal.get_json()["needs_second_person"] is True
    if light.status_code == 201:
        assert light.get_json()["state"] == "queued"
    for refused in (r for r in (light, signal) if r.status_code == 403):
        assert refused.get_json()["code"] in ("forbidden_role", "equipment_not_your_desk")
        assert refused.mimetype == "application/problem+json"


@pytest.mark.parametrize("decider", sorted(MAY_CONFIRM))
@pytest.mark.parametrize("requester", ["agent of traffic", "supervisor"])
def test_a_signal_command_needs_a_second_person_a_supervisor(
    city, session, client, staff, requester, decider
):
    city.poll(session)
    asker = {
        "agent of traffic": staff("traffic-agent", Role.AGENT, ["circulation"]),
        "supervisor": staff("first-supervisor", Role.SUPERVISOR),
    }[requester]
    asked = call(client, "POST", f"/v1/assets/{SIGNAL}/commands", asker, FLASHING, "k")
    command_id = asked.get_json()["id"]
    deciders = {
        "the agent who asked": lambda: staff("traffic-agent", Role.AGENT, ["circulation"]),
        "another agent of traffic": lambda: staff("traffic-agent-2", Role.AGENT, ["circulation"]),
        "the supervisor who asked": lambda: staff("first-supervisor", Role.SUPERVISOR),
        "another supervisor": lambda: staff("second-supervisor", Role.SUPERVISOR),
        "admin": lambda: staff("an-admin", Role.ADMIN),
    }
    expected = MAY_CONFIRM[decider]
    if decider == "the supervisor who asked" and requester != "supervisor":
        expected = 200  # a supervisor other than the requester: the agent asked
    headers = deciders[decider]()
    confirmed = call(client, "POST", f"/v1/equipment-commands/{command_id}/confirm", headers, {})
    assert confirmed.status_code == expected, confirmed.get_json()
    state = session.scalar(select(EquipmentCommand.state).where(EquipmentCommand.id == command_id))
    assert state == ("queued" if expected == 200 else "pending_confirmation")
    if expected == 403:
        code = confirmed.get_json()["code"]
        own = decider in ("the supervisor who asked",)
        assert code == ("command_second_person_required" if own else "forbidden_role")


def test_a_rejected_signal_command_is_never_sent_and_a_decided_one_cannot_be_again(
    city, session, client, staff
):
    city.poll(session)
    agent = staff("traffic-agent", Role.AGENT, ["circulation"])
    chief = staff("chief", Role.SUPERVISOR)
    command_id = call(
        client, "POST", f"/v1/assets/{SIGNAL}/commands", agent, FLASHING, "k"
    ).get_json()["id"]
    path = f"/v1/equipment-commands/{command_id}"
    rejected = call(client, "POST", f"{path}/reject", chief, {"note": "Pas nécessaire"})
    assert (rejected.status_code, rejected.get_json()["state"]) == (200, "rejected")
    again = call(client, "POST", f"{path}/confirm", staff("other-chief", Role.SUPERVISOR), {})
    assert (again.status_code, again.get_json()["code"]) == (409, "command_not_pending")
    cancelled = call(client, "POST", f"{path}/cancel", agent, {})
    assert (cancelled.status_code, cancelled.get_json()["code"]) == (
        409,
        "command_not_cancellable",
    )


def test_a_queued_command_is_cancelled_by_its_requester_not_by_another_agent(
    city, session, client, staff
):
    city.poll(session)
    mine = staff("lights-agent", Role.AGENT, ["eclairage"])
    other = staff("lights-agent-2", Role.AGENT, ["eclairage"])
    command_id = call(
        client, "POST", f"/v1/assets/{LIGHT}/commands", mine, SWITCH_OFF, "k"
    ).get_json()["id"]
    path = f"/v1/equipment-commands/{command_id}/cancel"
    refused = call(client, "POST", path, other, {})
    assert (refused.status_code, refused.get_json()["code"]) == (403, "command_not_yours")
    done = call(client, "POST", path, mine, {"note": "Erreur de lampadaire"})
    assert (done.status_code, done.get_json()["state"]) == (200, "cancelled")


def test_a_selection_by_polygon_commands_every_connected_light_in_it_at_once(
    city, session, client, staff
):
    city.poll(session)
    supervisor = staff("sup", Role.SUPERVISOR)
    inside = LIGHTS[:3]  # the polygon's east edge falls between the third and fourth
    east = (inside[-1].lon + LIGHTS[3].lon) / 2
    polygon = {
        "type": "Polygon",
        "coordinates": [
            [[5.02, 47.31], [east, 47.31], [east, 47.33], [5.02, 47.33], [5.02, 47.31]]
        ],
    }
    body = {"command": "switch_on", "reason": "Orage", "selection": {"polygon": polygon}}
    made = call(client, "POST", "/v1/equipment-commands/selections", supervisor, body, "s")
    assert made.status_code == 201, made.get_json()
    out = made.get_json()
    # Signals and cameras inside are not street lights: not taken.
    assert sorted(c["asset"] for c in out["commands"]) == [light.reference for light in inside]
    assert out["count"] == 3 and out["skipped"] == []
    assert {c["selection_id"] for c in out["commands"]} == {out["selection_id"]}
    # The same request again under its key: the same answer, nothing more.
    again = call(client, "POST", "/v1/equipment-commands/selections", supervisor, body, "s")
    assert again.get_json() == out and again.headers["Idempotent-Replayed"] == "true"
    assert session.scalar(select(func.count()).select_from(EquipmentCommand)) == 3


def test_a_selection_by_references_skips_the_unknown_and_the_unreported(
    city, session, client, staff
):
    from app.assets.service import put_asset

    city.poll(session)
    put_asset(
        session,
        "SL-UNREPORTED",
        {"kind": "street_light", "status": "in_service", "location": {"lon": 5.04, "lat": 47.32}},
    )
    supervisor = staff("sup", Role.SUPERVISOR)
    references = [LIGHT, "SL-UNREPORTED", "SL-NOWHERE"]
    body = {"command": "schedule", "reason": "Retour", "selection": {"references": references}}
    made = call(client, "POST", "/v1/equipment-commands/selections", supervisor, body, "s")
    assert made.status_code == 201, made.get_json()
    assert [c["asset"] for c in made.get_json()["commands"]] == [LIGHT]
    assert made.get_json()["skipped"] == [
        {"reference": "SL-NOWHERE", "reason": "asset_not_found"},
        {"reference": "SL-UNREPORTED", "reason": "asset_not_connected"},
    ]


def test_an_idempotent_retry_creates_nothing_and_a_reused_key_is_refused(
    city, session, client, staff
):
    city.poll(session)
    supervisor = staff("sup", Role.SUPERVISOR)
    path = f"/v1/assets/{LIGHT}/commands"
    first = call(client, "POST", path, supervisor, SWITCH_OFF, "same")
    again = call(client, "POST", path, supervisor, SWITCH_OFF, "same")
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = call(client, "POST", path, supervisor, {**SWITCH_OFF, "reason": "Autre"}, "same")
    assert (other.status_code, other.get_json()["code"]) == (422, "idempotency_key_reused")
    assert session.scalar(select(func.count()).select_from(EquipmentCommand)) == 1
    missing = call(client, "POST", path, supervisor, SWITCH_OFF)
    assert (missing.status_code, missing.get_json()["code"]) == (400, "idempotency_key_required")


BAD = [
    (LIGHT, {"command": "dim", "reason": "Fête"}, 422, "validation_failed", "level"),
    (
        LIGHT,
        {"command": "switch_on", "level": 20, "reason": "Fête"},
        422,
        "validation_failed",
        "level",
    ),
    (LIGHT, {"command": "dim", "level": 140, "reason": "Fête"}, 422, "validation_failed", "level"),
    (LIGHT, {"command": "explode", "reason": "Fête"}, 422, "validation_failed", "command"),
    (LIGHT, {"command": "switch_on"}, 422, "validation_failed", "reason"),
    (LIGHT, {"command": "flashing_amber", "reason": "Fête"}, 422, "command_not_for_kind", None),
    (SIGNAL, {"command": "switch_on", "reason": "Fête"}, 422, "command_not_for_kind", None),
    ("SL-NOWHERE", {"command": "switch_on", "reason": "Fête"}, 404, "asset_not_found", None),
    ("TS-UNREPORTED", {"command": "normal", "reason": "Fête"}, 409, "asset_not_connected", None),
]


@pytest.mark.parametrize(("reference", "body", "status", "code", "field"), BAD)
def test_bad_input_is_a_problem_in_french_first(
    city, session, client, staff, reference, body, status, code, field
):
    from app.assets.service import put_asset

    city.poll(session)
    put_asset(
        session,
        "TS-UNREPORTED",
        {"kind": "traffic_signal", "status": "in_service", "location": {"lon": 5.04, "lat": 47.32}},
    )
    supervisor = staff("sup", Role.SUPERVISOR)
    response = call(client, "POST", f"/v1/assets/{reference}/commands", supervisor, body, "k")
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == code
    if field:
        assert field in problem["errors"]["json"]
    english = call(
        client,
        "POST",
        f"/v1/assets/{reference}/commands",
        {**supervisor, "Accept-Language": "en"},
        body,
        "k2",
    ).get_json()
    assert english["code"] == code and english["detail"] != problem["detail"]


BAD_SELECTIONS = [
    (
        {"references": [LIGHT], "polygon": {"type": "Polygon", "coordinates": []}},
        "validation_failed",
    ),
    ({}, "validation_failed"),
    (
        {
            "polygon": {
                "type": "Polygon",
                "coordinates": [[[5, 47], [5.1, 47.1], [5, 47.1], [5.1, 47], [5, 47]]],
            }
        },
        "invalid_polygon",
    ),
    ({"polygon": {"type": "Polygon", "coordinates": [["x"]]}}, "invalid_polygon"),
    (
        {"polygon": {"type": "Polygon", "coordinates": [[[1, 1], [1.1, 1], [1.1, 1.1], [1, 1]]]}},
        "selection_empty",
    ),
    ({"street": {"name": "Rue de Nulle Part"}}, "street_not_found"),
    ({"references": [SIGNAL]}, "command_not_for_kind"),
]


@pytest.mark.parametrize(("selection", "code"), BAD_SELECTIONS)
def test_a_bad_selection_is_refused_and_commands_nothing(
    city, session, client, staff, selection, code
):
    city.poll(session)
    supervisor = staff("sup", Role.SUPERVISOR)
    body = {"command": "switch_on", "reason": "Orage", "selection": selection}
    response = call(client, "POST", "/v1/equipment-commands/selections", supervisor, body, "k")
    assert (response.status_code, response.get_json()["code"]) == (422, code), response.get_json()
    assert session.scalar(select(func.count()).select_from(EquipmentCommand)) == 0


def test_a_selection_by_street_takes_the_lights_along_its_addresses(city, session, client, staff):
    from tests.addresses.conftest import add_addresses

    city.poll(session)
    along = LIGHTS[1:3]
    add_addresses(
        session,
        [
            (
                f"21231_0777_{n:05d}",
                n,
                "",
                "Rue de la Nuit",
                "21000",
                "21231",
                "Dijon",
                light.lon,
                47.3201,
            )
            for n, light in enumerate(along, start=1)
        ],
    )
    supervisor = staff("sup", Role.SUPERVISOR)
    body = {
        "command": "dim",
        "level": 30,
        "reason": "Économies",
        "selection": {"street": {"name": "rue de la nuit", "commune_insee": "21231"}},
    }
    made = call(client, "POST", "/v1/equipment-commands/selections", supervisor, body, "s")
    assert made.status_code == 201, made.get_json()
    assert sorted(c["asset"] for c in made.get_json()["commands"]) == [
        light.reference for light in along
    ]
    assert {c["level"] for c in made.get_json()["commands"]} == {30}
