"""What the console asks before it offers a command: the commands a caller may send, a
selection's count before sending (nothing written), and an asset's open tickets."""

from flask import g
from sqlalchemy import func, select, text

from app.equipment.models import EquipmentCommand
from app.users.models import Role
from tests.equipment.conftest import LIGHTS, SIGNALS
from tests.factories import make_report

LIGHT = LIGHTS[0].reference
STREET = "Rue des Essais"


class As:
    """The test client as one caller: the test's app context (the session fixture) would
    otherwise keep the first caller's identity in ``g`` for every request."""

    def __init__(self, client, headers=None):
        self.client, self.headers = client, headers or {}

    def get(self, url, **kwargs):
        g.pop("identity", None)
        return self.client.get(url, headers=self.headers, **kwargs)

    def post(self, url, **kwargs):
        g.pop("identity", None)
        return self.client.post(url, headers=self.headers, **kwargs)


def commands_of(answer) -> list[str]:
    return [option["command"] for option in answer.get_json()["commands"]]


def a_street_along_the_lights(session, lights):
    for n, light in enumerate(lights):
        session.execute(
            text(
                "INSERT INTO addresses (id, numero, nom_voie, code_postal, commune_insee, "
                "nom_commune, label, search, geom) VALUES (:id, :n, :street, '21000', '21231', "
                "'Dijon', :label, :search, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
            ),
            {
                "id": f"21231_8888_{n:05d}",
                "n": n + 1,
                "street": STREET,
                "label": f"{n + 1} {STREET} 21000 Dijon",
                "search": f"{n + 1} rue des essais 21000 dijon",
                "lon": light.lon,
                "lat": light.lat - 4e-5,
            },
        )
    session.commit()


def test_the_options_follow_the_desks_that_run_the_equipment(city, session, client, staff):
    city.poll(session)
    lights = staff("lights-agent", Role.AGENT, ["eclairage"])
    signals = staff("signals-agent", Role.AGENT, ["circulation"])
    roads = staff("roads-agent", Role.AGENT, ["voirie"])
    supervisor = staff("sup", Role.SUPERVISOR)
    admin = staff("admin", Role.ADMIN)
    url = "/v1/equipment-commands/options"
    light_commands = ["switch_on", "switch_off", "dim", "schedule"]
    signal_commands = ["flashing_amber", "normal"]

    assert commands_of(As(client, lights).get(url)) == light_commands
    assert commands_of(As(client, signals).get(url)) == signal_commands
    assert commands_of(As(client, roads).get(url)) == []
    assert commands_of(As(client, admin).get(url)) == []
    everything = As(client, supervisor).get(url).get_json()
    assert [o["command"] for o in everything["commands"]] == light_commands + signal_commands
    assert everything["confirms"] is True
    assert As(client, signals).get(url).get_json()["confirms"] is False

    one = As(client, lights).get(url, query_string={"asset": LIGHT}).get_json()
    assert [o["command"] for o in one["commands"]] == light_commands
    assert one["connected"] is True
    dim = next(o for o in one["commands"] if o["command"] == "dim")
    assert dim == {
        "command": "dim",
        "kind": "street_light",
        "takes_level": True,
        "needs_second_person": False,
    }
    assert commands_of(As(client, signals).get(url, query_string={"asset": LIGHT})) == []
    assert commands_of(As(client, roads).get(url, query_string={"asset": LIGHT})) == []
    # An admin reads the equipment, commands none of it.
    seen_by_admin = As(client, admin).get(url, query_string={"asset": LIGHT}).get_json()
    assert (seen_by_admin["commands"], seen_by_admin["connected"]) == ([], True)
    signal = As(client, signals).get(url, query_string={"asset": SIGNALS[0].reference})
    assert all(o["needs_second_person"] for o in signal.get_json()["commands"])
    # A camera takes no command; an unknown asset is 404; a bad reference 422.
    camera = As(client, supervisor).get(url, query_string={"asset": "CAM-90000"})
    assert commands_of(camera) == []
    missing = As(client, supervisor).get(url, query_string={"asset": "NOPE-1"})
    assert (missing.status_code, missing.get_json()["code"]) == (404, "asset_not_found")
    bad = As(client, supervisor).get(url, query_string={"asset": "../x"})
    assert bad.status_code == 422
    assert As(client).get(url).status_code == 401


def test_a_preview_counts_the_selection_and_writes_nothing(city, session, client, staff):
    city.poll(session)
    a_street_along_the_lights(session, LIGHTS[:3])
    lights = staff("lights-agent", Role.AGENT, ["eclairage"])
    roads = staff("roads-agent", Role.AGENT, ["voirie"])
    body = {"command": "switch_off", "reason": "Travaux", "selection": {"street": {"name": STREET}}}
    url = "/v1/equipment-commands/selections/preview"

    preview = As(client, lights).post(url, json=body)
    assert preview.status_code == 200, preview.get_json()
    answer = preview.get_json()
    assert (answer["count"], answer["kind"], answer["skipped"]) == (3, "street_light", [])
    assert answer["references"] == sorted(light.reference for light in LIGHTS[:3])
    assert answer["needs_second_person"] is False
    # A zone drawn around the first two.
    west, east = LIGHTS[0].lon - 1e-4, LIGHTS[1].lon + 1e-4
    south, north = LIGHTS[0].lat - 1e-4, LIGHTS[0].lat + 1e-4
    zone = {
        "type": "Polygon",
        "coordinates": [
            [[west, south], [east, south], [east, north], [west, north], [west, south]]
        ],
    }
    drawn = As(client, lights).post(url, json={**body, "selection": {"polygon": zone}})
    assert drawn.get_json()["count"] == 2
    assert session.scalar(select(func.count()).select_from(EquipmentCommand)) == 0

    # The same refusals as sending it.
    refused = As(client, roads).post(url, json=body)
    assert (refused.status_code, refused.get_json()["code"]) == (403, "equipment_not_your_desk")
    unknown = As(client, lights).post(
        url, json={**body, "selection": {"street": {"name": "Rue Inconnue"}}}
    )
    assert (unknown.status_code, unknown.get_json()["code"]) == (422, "street_not_found")
    nothing = As(client, staff("sup", Role.SUPERVISOR)).post(
        url, json={**body, "command": "flashing_amber"}
    )
    assert (nothing.status_code, nothing.get_json()["code"]) == (422, "selection_empty")
    no_reason = As(client, lights).post(url, json={**body, "reason": ""})
    assert no_reason.status_code == 422
    admin = As(client, staff("admin", Role.ADMIN)).post(url, json=body)
    assert (admin.status_code, admin.get_json()["code"]) == (403, "forbidden_role")
    # A selection made no way, or two ways; a level for what takes none; rings of nulls.
    for selection, code in (
        ({}, "selection_one_way"),
        ({"street": {"name": STREET}, "polygon": zone}, "selection_one_way"),
        ({"polygon": {"type": "Polygon", "coordinates": [None]}}, "invalid_polygon"),
    ):
        answer = As(client, lights).post(url, json={**body, "selection": selection})
        assert (answer.status_code, answer.get_json()["code"]) == (422, code), selection
    dimless = As(client, lights).post(url, json={**body, "level": 0})
    assert (dimless.status_code, dimless.get_json()["code"]) == (422, "command_level_invalid")


def test_an_asset_s_open_tickets_leave_the_closed_ones_out(app, city, session, client, staff):
    city.poll(session)
    from app.assets.models import Asset

    asset_id = session.scalar(select(Asset.id).where(Asset.reference == LIGHT))
    open_one = make_report(app, category="streetlight_out", status="acknowledged")
    closed_one = make_report(app, category="streetlight_out", status="closed")
    session.execute(
        text("UPDATE reports SET asset_id = :asset WHERE id = ANY(:ids)"),
        {"asset": asset_id, "ids": [open_one, closed_one]},
    )
    session.commit()
    reader = staff("roads-agent", Role.AGENT, ["voirie"])
    answer = As(client, reader).get(f"/v1/assets/{LIGHT}/tickets")
    assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert [item["id"] for item in items] == [open_one]
    assert items[0]["status"] == "acknowledged" and items[0]["category"] == "streetlight_out"
    missing = As(client, reader).get("/v1/assets/NOPE-1/tickets")
    assert missing.status_code == 404
    assert As(client).get(f"/v1/assets/{LIGHT}/tickets").status_code == 401
