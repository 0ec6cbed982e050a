"""The centre runs the equipment from the console, in a real browser (Debian's headless
Chromium) against the real service (gunicorn) and the Auth emulator stand-in; the equipment
is the simulator's (tools/sim_equipment.py, its broker in a thread of the test), read
through the feeds and commanded through the outbox, as in tests/equipment/: the test plays
the worker (the dispatcher) and the poller, the console hears the outcome on its live stream.

The lighting desk's agent switches a street of lights off (counted before sending) and sees
them change on the map; the traffic desk's agent asks for flashing amber, which waits for a
supervisor's confirmation, given from the console; an agent of another desk gets no command
and the API refuses it. Each screen passes axe-core, in French then English; screenshots go
to the ``screenshots`` folder (SIGNALE_SCREENSHOTS)."""

import threading
from datetime import UTC, timedelta

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from sqlalchemy import func, select, text

from app.auth.tokens import mint_emulator_token
from app.equipment import dispatch
from app.equipment.models import EquipmentCommand
from app.extensions import db
from app.feeds import service as feeds
from app.users.models import Role
from app.users.service import put_user
from tests.conftest import PROJECT_ID
from tests.factories import add_equipment_assets, add_equipment_rules
from tests.web.console import serious, sign_in, text_of, wait
from tests.web.test_browser import axe_violations, policy_refusals
from tools import sim_equipment
from tools import simulator as sim

pytestmark = [pytest.mark.processes, pytest.mark.usefixtures("leave_the_console")]

POLICY = dispatch.Policy(batch=100, lease_seconds=60, retry_base_seconds=5, timeout_seconds=120)
STREET = "Rue des Essais Lumineux"
# Where the console's equipment screen opens (equipment.js's CENTRE), and the street's line.
LON, LAT = 5.0390, 47.3215
LIGHTER = "demo-agent-eclairage"
SIGNALLER = "demo-agent-circulation"
SUPERVISOR = "demo-supervisor-equipement"
ROADS = "demo-agent-voirie"


def db_now(app):
    with app.app_context():
        instant = db.session.scalar(select(func.now()))
        db.session.remove()
    return instant.astimezone(UTC)


def working(references, ok, count):
    """The first ``count`` references the simulator keeps working for the next hour (its
    faults come from the time of day: a faulty light ignores its commands)."""
    chosen = [reference for reference in references if ok(reference)][:count]
    assert len(chosen) == count
    return chosen


class Town:
    """The simulator's broker in a thread, its clock set by the test, and the feeds and
    assets of its equipment."""

    def __init__(self, app, now):
        self.app = app
        self.clock = {"now": now}
        windows = [sim.fault_window(now + timedelta(minutes=m)) for m in (0, 30, 60)]
        light_ok = lambda ref: all(sim.fault_status(ref, w) is None for w in windows)  # noqa: E731
        signal_ok = lambda ref: all(  # noqa: E731
            sim_equipment.unit("signal-fault", ref, w) >= sim_equipment.SIGNAL_FAULT_RATE
            for w in windows
        )
        street = working([f"SL-7{n:05d}" for n in range(40)], light_ok, 6)
        # Five lights along the street, one on the next street north (not selected).
        self.street = street[:5]
        self.other = street[5]
        self.lights = [
            sim.Streetlight(reference, LON + n * 3e-4, LAT)
            for n, reference in enumerate(street[:5])
        ] + [sim.Streetlight(self.other, LON + 6e-4, LAT + 1.2e-3)]
        # A light whose feed has not been heard from for too long: stale.
        self.stale = working([f"SL-6{n:05d}" for n in range(40)], light_ok, 1)[0]
        self.stale_lights = [sim.Streetlight(self.stale, LON + 15e-4, LAT + 1.2e-3)]
        self.signal = working([f"TS-7{n:04d}" for n in range(40)], signal_ok, 1)[0]
        signals = [sim_equipment.Device(self.signal, LON + 3e-4, LAT - 1e-3)]
        self.equipment = sim_equipment.Equipment(
            signals=signals,
            behaviour=sim_equipment.Behaviour(delay_seconds=2, failure_rate=0.0),
        )
        city = sim.City(self.lights, self.equipment)
        self.broker = sim.Broker(("127.0.0.1", 0), city, lambda: self.clock["now"])
        self.thread = threading.Thread(target=self.broker.serve_forever, daemon=True)
        self.thread.start()
        self.feeds = {}
        with app.app_context():
            session = db.session
            for kind, devices in (
                ("street_light", self.lights + self.stale_lights),
                ("traffic_signal", signals),
            ):
                add_equipment_assets(session, kind, devices)
            url = f"{self.broker.url}/ngsi-ld/v1/entities?type="
            for name, kind, entity_type, fresh in (
                ("console-lights", "streetlights", "Streetlight&options=keyValues", 3600),
                ("console-signals", "traffic_signals", "TrafficSignal", 3600),
            ):
                feed, _ = feeds.put_feed(
                    session,
                    name,
                    {
                        "kind": kind,
                        "format": "ngsi-ld",
                        "source_url": url + entity_type,
                        "poll_interval_seconds": 30,
                        "freshness_limit_seconds": fresh,
                        "enabled": True,
                    },
                )
                self.feeds[name] = feed.id
            # The stale light's feed: read once, its freshness limit long past.
            stale_broker_city = sim.City(self.stale_lights, self.equipment)
            # Its broker's clock an hour behind: what it says was observed an hour ago.
            self.stale_broker = sim.Broker(
                ("127.0.0.1", 0),
                stale_broker_city,
                lambda: self.clock["now"] - timedelta(hours=1),
            )
            threading.Thread(target=self.stale_broker.serve_forever, daemon=True).start()
            feed, _ = feeds.put_feed(
                session,
                "console-old-lights",
                {
                    "kind": "streetlights",
                    "format": "ngsi-ld",
                    "source_url": f"{self.stale_broker.url}/ngsi-ld/v1/entities?type="
                    "Streetlight&options=keyValues",
                    "poll_interval_seconds": 30,
                    "freshness_limit_seconds": 10,
                    "enabled": True,
                },
            )
            self.feeds["console-old-lights"] = feed.id
            # The addresses of the street (Base Adresse Nationale), 5 m south of its lights.
            for n, light in enumerate(self.lights[:5]):
                session.execute(
                    text(
                        "INSERT INTO addresses (id, numero, nom_voie, code_postal, "
                        "commune_insee, nom_commune, label, search, geom) VALUES (:id, :n, "
                        ":street, '21000', '21231', 'Dijon', :label, :search, "
                        "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
                    ),
                    {
                        "id": f"21231_7777_{n:05d}",
                        "n": 2 * n + 1,
                        "street": STREET,
                        "label": f"{2 * n + 1} {STREET} 21000 Dijon",
                        "search": f"{2 * n + 1} rue des essais lumineux 21000 dijon",
                        "lon": light.lon,
                        "lat": light.lat - 4.5e-5,
                    },
                )
            add_equipment_rules(session)
            for uid, role, desks in (
                (LIGHTER, Role.AGENT, ["eclairage"]),
                (SIGNALLER, Role.AGENT, ["circulation"]),
                (SUPERVISOR, Role.SUPERVISOR, ["voirie"]),
                (ROADS, Role.AGENT, ["voirie"]),
            ):
                put_user(session, actor=None, uid=uid, role=role, desks=desks)
            session.commit()
            db.session.remove()

    def at(self, app, seconds=0):
        """The broker's clock at the database's, plus ``seconds``."""
        self.clock["now"] = db_now(app) + timedelta(seconds=seconds)
        return self.clock["now"]

    def poll(self, *names):
        with self.app.app_context():
            for name in names or tuple(self.feeds):
                outcome = feeds.poll_feed(db.session, self.feeds[name], now=self.clock["now"])
                assert outcome["status"] == "ok", outcome
            db.session.remove()

    def work(self):
        """The worker's turn: the dispatcher sends what is due (at the database's time)."""
        with self.app.app_context():
            counts = dispatch.dispatch(
                db.session, dispatch.HttpBroker(), POLICY, now=self.at(self.app)
            )
            db.session.remove()
        return counts

    def obey(self, *names):
        """The equipment applies what it received (its 2 s), and the feeds are read."""
        self.at(self.app, seconds=3)
        self.poll(*names)

    def stop(self):
        for server in (self.broker, self.stale_broker):
            server.shutdown()
            server.server_close()


@pytest.fixture
def town(app, console_url):
    town = Town(app, db_now(app))
    yield town
    town.stop()


def states(app, **where):
    with app.app_context():
        found = db.session.scalars(
            select(EquipmentCommand.state).filter_by(**where).order_by(EquipmentCommand.id)
        ).all()
        db.session.remove()
    return found


def marker(browser, reference):
    found = browser.find_elements(By.CSS_SELECTOR, f'path[data-reference="{reference}"]')
    return found[0] if found else None


def marker_state(browser, reference):
    found = marker(browser, reference)
    return found.get_attribute("data-state") if found else None


def switch_user(browser, uid):
    browser.find_element(By.ID, "sign-out").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-uid="{uid}"]'))[0].click()
    wait(browser, lambda d: d.find_elements(By.ID, "sign-out"))


def go_to_equipment(browser):
    browser.execute_script("window.location.hash = '#/equipment'")
    wait(browser, lambda d: d.find_elements(By.ID, "equipment-title"))


def open_by_reference(browser, reference):
    """The keyboard's way: the reference typed, Enter."""
    field = browser.find_element(By.ID, "equipment-find")
    field.clear()
    field.send_keys(reference, Keys.ENTER)
    wait(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, f'#asset-pane[data-reference="{reference}"] #asset-title'
        ),
    )


def history_states(browser) -> list[str]:
    return [
        row.get_attribute("data-state")
        for row in browser.find_elements(By.CSS_SELECTOR, "#asset-history li.command-entry")
    ]


def shows(browser, css, words):
    """Waits until the element at ``css`` says ``words`` (live events redraw the panel)."""
    return wait(browser, lambda d: words in text_of(d, css))


def no_serious_violations(browser):
    violations = serious(axe_violations(browser))
    assert not violations, violations


def test_a_street_of_lights_switched_off_from_the_console_changes_on_the_map(
    app, client, console_url, browser, town, screenshots
):
    # Earlier in the evening, a supervisor dimmed every light to 40 % (through the API).
    town.poll()
    supervisor = {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, SUPERVISOR)}"}
    dimmed = client.post(
        "/v1/equipment-commands/selections",
        json={
            "command": "dim",
            "level": 40,
            "reason": "Économies d'énergie",
            "selection": {"references": [*town.street, town.other]},
        },
        headers={**supervisor, "Idempotency-Key": "console-dim"},
    )
    assert dimmed.status_code == 201, dimmed.get_json()
    assert town.work()["sent"] == 6
    town.obey("console-lights")
    assert states(app, name="dim") == ["confirmed"] * 6

    sign_in(browser, console_url, LIGHTER)
    assert "Équipements" in text_of(browser, ".console-nav")
    go_to_equipment(browser)
    # The equipment layer: each light by its live state, the stale one marked, a legend.
    wait(browser, lambda d: all(marker_state(d, r) == "light-dimmed" for r in town.street))
    assert marker_state(browser, town.other) == "light-dimmed"
    assert marker(browser, town.stale).get_attribute("data-stale") == "true"
    assert marker_state(browser, town.signal) == "signal-normal"
    legend = text_of(browser, ".map-legend")
    assert "Lampadaire éteint" in legend and "Feu orange clignotant" in legend
    assert "Donnée périmée" in legend
    listed = text_of(browser, "#equipment-list")
    assert f"{town.street[0]} — Lampadaire — allumé à 40 %" in listed
    browser.save_screenshot(str(screenshots / "console-equipment-map.png"))
    no_serious_violations(browser)

    # A selection by street name (the keyboard's way; a zone may be drawn instead): counted
    # before sending, confirmed with the count.
    Select(browser.find_element(By.ID, "selection-command")).select_by_value("switch_off")
    browser.find_element(By.ID, "selection-street").send_keys(STREET)
    browser.find_element(By.ID, "selection-reason").send_keys("Coupure pour travaux de voirie")
    browser.find_element(By.ID, "selection-count").click()
    question = wait(browser, lambda d: d.find_elements(By.ID, "selection-question"))[0]
    assert "« Éteindre » sur 5 équipement(s) (Lampadaire) ?" in question.text
    assert states(app, name="switch_off") == []  # counting sent nothing
    browser.save_screenshot(str(screenshots / "console-equipment-selection-count.png"))
    no_serious_violations(browser)
    send = browser.find_element(By.ID, "selection-send")
    assert send.text == "Envoyer à 5 équipement(s)"
    send.click()
    wait(browser, lambda d: "en file d’envoi : 5" in text_of(d, "#selection-progress"))
    assert states(app, name="switch_off") == ["queued"] * 5

    # The worker sends them: the console hears it.
    assert town.work()["sent"] == 5
    wait(browser, lambda d: "envoyée : 5" in text_of(d, "#selection-progress"))
    # The lights obey, the feed says so: confirmed, and the map changes.
    town.obey("console-lights")
    wait(browser, lambda d: "confirmée par l’équipement : 5" in text_of(d, "#selection-progress"))
    wait(browser, lambda d: all(marker_state(d, r) == "light-off" for r in town.street))
    assert marker_state(browser, town.other) == "light-dimmed"
    assert states(app, name="switch_off") == ["confirmed"] * 5
    browser.save_screenshot(str(screenshots / "console-equipment-street-off.png"))
    no_serious_violations(browser)

    # Or a zone drawn on the map around the light of the next street: counted, not sent.
    browser.find_element(By.ID, "selection-by-polygon").click()
    browser.find_element(By.ID, "selection-draw").click()
    other = marker(browser, town.other)
    for dx, dy in ((-30, -30), (30, -30), (30, 30), (-30, 30)):
        ActionChains(browser).move_to_element_with_offset(other, dx, dy).click().perform()
    assert "4 placé(s)" in text_of(browser, "#selection-draw-status")
    browser.find_element(By.ID, "selection-finish").click()
    assert "Zone de 4 sommets dessinée." in text_of(browser, "#selection-draw-status")
    browser.find_element(By.ID, "selection-reason").send_keys("Fête de quartier")
    browser.find_element(By.ID, "selection-count").click()
    wait(browser, lambda d: "sur 1 équipement(s)" in text_of(d, "#selection-question"))
    browser.save_screenshot(str(screenshots / "console-equipment-zone.png"))
    browser.find_element(By.ID, "selection-cancel").click()
    assert not browser.find_elements(By.ID, "selection-question")
    assert states(app, name="switch_off") == ["confirmed"] * 5

    # One of them opened by its reference: its state, when observed, its history.
    open_by_reference(browser, town.street[2])
    shows(browser, "#asset-state", "éteint")
    assert text_of(browser, "#asset-observed")
    wait(browser, lambda d: history_states(d) == ["confirmed", "confirmed"])
    history = text_of(browser, "#asset-history")
    assert "Éteindre" in history and "Coupure pour travaux de voirie" in history
    assert "Régler l’intensité (40 %)" in history
    assert "Aucun ticket ouvert" in text_of(browser, "#asset-pane")
    assert browser.find_elements(By.ID, "command-form")  # their desk runs it
    browser.save_screenshot(str(screenshots / "console-equipment-light.png"))
    no_serious_violations(browser)
    # The stale one says so.
    open_by_reference(browser, town.stale)
    assert text_of(browser, "#asset-stale") == "donnée périmée"
    assert policy_refusals(browser) == []


def test_a_signal_command_waits_for_a_supervisor_who_confirms_it_from_the_console(
    app, client, console_url, browser, town, screenshots
):
    town.poll()
    sign_in(browser, console_url, SIGNALLER)
    go_to_equipment(browser)
    # From the list of the equipment in view, by keyboard.
    link = wait(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, f'#equipment-list [data-reference="{town.signal}"]'
        ),
    )[0]
    link.send_keys(Keys.ENTER)
    wait(browser, lambda d: d.find_elements(By.ID, "command-form"))
    shows(browser, "#asset-state", "fonctionnement normal")
    choice = text_of(browser, "#command-form fieldset")
    assert "Passer en orange clignotant (confirmation d’un superviseur requise)" in choice
    browser.find_element(By.ID, "command-flashing_amber").send_keys(Keys.SPACE)
    reason = browser.find_element(By.ID, "command-reason")
    browser.find_element(By.ID, "command-send").click()
    # A reason is required: the browser says so, nothing is sent.
    assert browser.execute_script("return arguments[0].validity.valueMissing", reason)
    assert states(app, name="flashing_amber") == []
    reason.send_keys("Accident au carrefour")
    browser.find_element(By.ID, "command-send").click()
    wait(browser, lambda d: history_states(d) == ["pending_confirmation"])
    shows(browser, "#asset-history", "en attente de confirmation")
    shows(browser, "#asset-result", "en attente de confirmation")
    # Its requester is no supervisor: nothing to confirm, only to cancel.
    wait(
        browser,
        lambda d: (
            [
                b.get_attribute("data-decision")
                for b in d.find_elements(By.CSS_SELECTOR, "#asset-history [data-decision]")
            ]
            == ["cancel"]
        ),
    )
    browser.save_screenshot(str(screenshots / "console-equipment-signal-pending.png"))
    no_serious_violations(browser)
    assert town.work()["sent"] == 0  # not sent before a second person confirms

    switch_user(browser, SUPERVISOR)
    go_to_equipment(browser)
    open_by_reference(browser, town.signal)
    confirm = wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, '#asset-history [data-decision="confirm"]'),
    )[0]
    assert SIGNALLER in confirm.get_attribute("aria-label")
    confirm.click()
    wait(browser, lambda d: history_states(d) == ["queued"])
    shows(browser, "#asset-result", "Vous avez confirmé la commande : en file d’envoi.")
    assert town.work()["sent"] == 1
    wait(browser, lambda d: history_states(d) == ["sent"])
    town.obey("console-signals")
    wait(browser, lambda d: history_states(d) == ["confirmed"])
    wait(browser, lambda d: marker_state(d, town.signal) == "signal-flashing")
    shows(browser, "#asset-state", "orange clignotant")
    browser.save_screenshot(str(screenshots / "console-equipment-signal-confirmed.png"))
    no_serious_violations(browser)

    # In English, one click away.
    browser.find_element(By.ID, "language-button").click()
    wait(browser, lambda d: "Command history" in text_of(d, "#asset-pane"))
    shows(browser, "#asset-state", "flashing amber")
    shows(browser, "#asset-history", "confirmed by the equipment")
    assert "Signal flashing amber" in text_of(browser, ".map-legend")
    assert "Selection command" in text_of(browser, "#selection")
    browser.save_screenshot(str(screenshots / "console-equipment-signal-en.png"))
    no_serious_violations(browser)
    browser.find_element(By.ID, "language-button").click()
    wait(browser, lambda d: "Historique des commandes" in text_of(d, "#asset-pane"))
    assert policy_refusals(browser) == []


def test_an_agent_of_another_desk_gets_no_command_and_the_api_refuses_it(
    app, client, console_url, browser, town, screenshots
):
    town.poll()
    sign_in(browser, console_url, ROADS)
    go_to_equipment(browser)
    wait(browser, lambda d: marker_state(d, town.street[0]) is not None)
    assert "Aucune commande groupée ne vous est permise." in text_of(browser, "#selection")
    assert not browser.find_elements(By.ID, "selection-form")
    open_by_reference(browser, town.street[0])
    assert "pas le commander" in text_of(browser, "#asset-no-commands")
    assert not browser.find_elements(By.ID, "command-form")
    assert text_of(browser, "#asset-state")  # the state is theirs to see
    browser.save_screenshot(str(screenshots / "console-equipment-other-desk.png"))
    no_serious_violations(browser)
    # The API refuses what the console does not offer.
    roads = {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, ROADS)}"}
    refused = client.post(
        f"/v1/assets/{town.street[0]}/commands",
        json={"command": "switch_off", "reason": "Essai"},
        headers={**roads, "Idempotency-Key": "roads-off"},
    )
    assert (refused.status_code, refused.get_json()["code"]) == (403, "equipment_not_your_desk")
    refused = client.post(
        "/v1/equipment-commands/selections/preview",
        json={
            "command": "switch_off",
            "reason": "Essai",
            "selection": {"street": {"name": STREET}},
        },
        headers=roads,
    )
    assert (refused.status_code, refused.get_json()["code"]) == (403, "equipment_not_your_desk")
    assert states(app) == []
