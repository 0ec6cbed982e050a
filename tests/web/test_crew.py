"""The crew tablet app in a real browser (Debian's headless Chromium) against the real
service (gunicorn) and the Auth emulator stand-in, as issue 17 tells it: a crew member
signs in and sees the crew's tickets, opens one, goes offline, starts and resolves two
tickets with an after photo each while an agent gives one of them to another crew, closes
and reopens the app still offline (the tickets and the queued work come back from
IndexedDB), comes back online: one ticket resolved with its after photo (processed, then
shown), one conflict shown with both versions; sending everything again changes nothing.
axe-core on every screen, screenshots at tablet and phone sizes, 48 px touch targets,
English one click away."""

import io
import time
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import func, select, text

from app.assets.service import put_asset
from app.extensions import db
from app.organisation.service import put_crew
from app.photos.models import Photo
from app.reports.models import Report
from app.reports.photos import process_photo
from app.triage.models import ReportEvent
from app.users.models import Role
from tests.conftest import MEDIA_ROOT
from tests.factories import make_report
from tests.servers import gunicorn
from tests.triage.helpers import act
from tests.web.console import serious, staff, stored_photo, text_of, wait
from tests.web.crew import browser_offline, header_text, ready, send_again, stored
from tests.web.test_browser import axe_violations, open_page, policy_refusals
from tools.cable import Cable

pytestmark = [pytest.mark.processes, pytest.mark.usefixtures("leave_the_app")]

CREW = "demo-crew-voirie-nord"
TABLET, PHONE = (1024, 768), (390, 844)


@pytest.fixture
def leave_the_app(app, browser):
    """After each test, the app is closed, then the requests it had in flight are let
    finish (the service has no idea the page went): the tables are emptied next, and a
    TRUNCATE meeting a request's locks deadlocks."""
    yield
    browser.get("about:blank")
    busy = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
    )
    deadline = time.monotonic() + 30  # a bound for a loaded machine, never a measure
    with app.app_context():
        while db.session.scalar(busy) and time.monotonic() < deadline:
            db.session.rollback()
            time.sleep(0.1)
        db.session.remove()


@pytest.fixture(scope="module")
def cable(app, database_url, standin):
    """The service (its photos in the suite's MEDIA_ROOT, where this process processes
    them as the worker would) behind a cable the test can unplug."""
    env = {"FIREBASE_AUTH_EMULATOR_HOST": standin.host}
    with gunicorn(database_url, Path(MEDIA_ROOT), workers=2, env=env) as port:
        line = Cable(port)
        yield line
        line.close()


@pytest.fixture
def crew_url(cable):
    cable.plug()
    return f"http://127.0.0.1:{cable.port}"


@pytest.fixture
def other_crew(app):
    with app.app_context():
        put_crew(db.session, code="voirie-sud", name="Voirie Sud", desk="voirie")
        db.session.commit()
        db.session.remove()
    return "voirie-sud"


def shoot(browser, screenshots, name):
    """The screen at tablet then phone size, back to the tablet."""
    for label, size in (("tablet", TABLET), ("phone", PHONE)):
        browser.set_window_size(*size)
        browser.save_screenshot(str(screenshots / f"crew-{name}-{label}.png"))
    browser.set_window_size(*TABLET)


def jpeg(path: Path, colour) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def list_ids(browser) -> list[int]:
    return [
        int(link.get_attribute("data-report-id"))
        for link in browser.find_elements(By.CSS_SELECTOR, "#ticket-list .ticket-link")
    ]


def open_ticket(browser, report_id):
    browser.execute_script(f"window.location.hash = '#/ticket/{report_id}'")
    ready(browser, "ticket")
    wait(browser, lambda d: d.find_elements(By.ID, "ticket-status"))


def press(browser, action):
    wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, f'.ticket-actions [data-action="{action}"]'),
    )[0].click()


def open_form(browser, action, field_id):
    """Opens the action's form and returns its field ``field_id``: the ticket may be drawn
    again (a sync) between finding the button and clicking it, so this clicks until the
    form is there."""

    def opened(driver):
        fields = driver.find_elements(By.ID, field_id)
        if fields:
            return fields[0]
        buttons = driver.find_elements(By.CSS_SELECTOR, f'.ticket-actions [data-action="{action}"]')
        if buttons:
            buttons[0].click()
        return False

    return wait(browser, opened)


def pending(browser) -> int:
    return int(browser.find_element(By.ID, "pending-count").get_attribute("data-count"))


def work_offline(browser, report_id, photo_path):
    """Start, after photo, resolve: each saved on the tablet at once."""
    open_ticket(browser, report_id)
    before = pending(browser)
    press(browser, "start")
    wait(browser, lambda d: d.find_element(By.ID, "ticket-status").text == "En cours")
    browser.find_element(By.ID, "after-photo").send_keys(photo_path)
    wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, '#ticket-queued [data-queued="photo"]')
    )
    press(browser, "resolve")
    Select(wait(browser, lambda d: d.find_elements(By.ID, "form-resolution"))[0]).select_by_value(
        "repaired"
    )
    browser.find_element(By.ID, "form-message").send_keys("Nid-de-poule rebouché.")
    browser.find_element(By.CSS_SELECTOR, '[data-form="resolve"] button[type="submit"]').click()
    wait(browser, lambda d: d.find_element(By.ID, "ticket-status").text == "Résolu")
    wait(browser, lambda d: pending(d) == before + 3)


def cached_photos(browser) -> int:
    """How many photos the service worker's media caches hold."""
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "caches.keys().then(async (names) => {"
        "  let count = 0;"
        "  for (const name of names.filter((n) => n.endsWith('-media')))"
        "    count += (await (await caches.open(name)).keys()).length;"
        "  done(count);"
        "});"
    )


def events_of(app, ids) -> dict:
    """Each report's (status, crew id, [crew's actions], number of after photos)."""
    with app.app_context():
        out = {}
        for report_id in ids:
            report = db.session.get(Report, report_id)
            actions = db.session.scalars(
                select(ReportEvent.action)
                .where(ReportEvent.report_id == report_id, ReportEvent.actor_role == "crew")
                .order_by(ReportEvent.id)
            ).all()
            photos = db.session.scalar(
                select(func.count()).where(Photo.report_id == report_id, Photo.kind == "after")
            )
            out[report_id] = (report.status, report.crew_id, list(actions), photos)
        db.session.remove()
    return out


def test_offline_work_is_kept_through_a_reopening_and_replayed_once_with_one_conflict_shown(
    app, client, auth, crew_url, cable, browser, token_for, screenshots, other_crew, tmp_path
):
    staff(token_for, Role.CREW, CREW)
    agent = auth(Role.AGENT)
    with app.app_context():
        light, _ = put_asset(
            db.session,
            "SL-CREW-1",
            {
                "kind": "street_light",
                "status": "faulty",
                "name": "Lampadaire de l’école",
                "attributes": {},
                "location": {"lon": 5.04161, "lat": 47.32203},
            },
        )
        db.session.commit()
        light_id = light.id
        db.session.remove()
    first = make_report(
        app,
        status="assigned",
        priority=1,
        description="Nid-de-poule profond devant l’école.",
        answers={"size": "large"},
        due_in_hours=-2,
        asset_id=light_id,
        routing={"asset": {"id": light_id, "reference": "SL-CREW-1", "why": "named by the app"}},
    )
    second = make_report(app, status="assigned", priority=3, at=(5.045, 47.325))
    stored_photo(app, Path(MEDIA_ROOT), first, "report", (90, 90, 90))
    assert (
        act(
            client, agent, first, "note", {"note": "Attention : école, passer avant 8 h."}
        ).status_code
        == 200
    )
    browser.set_window_size(*TABLET)

    # Sign-in: the demo picker offers the crews' accounts; English one click away.
    open_page(browser, f"{crew_url}/crew/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-uid="{CREW}"]'))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    shoot(browser, screenshots, "sign-in")
    assert not serious(axe_violations(browser))
    browser.find_element(By.ID, "language-button").click()
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Field crews' sign-in")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    browser.find_element(By.ID, "language-button").click()
    wait(
        browser,
        lambda d: d.find_element(By.TAG_NAME, "h1").text == "Connexion des équipes de terrain",
    )
    browser.find_element(By.CSS_SELECTOR, f'[data-uid="{CREW}"]').click()

    # The list: most urgent first (no position), from the sync, on a list and a map.
    ready(browser, "list")
    wait(browser, lambda d: list_ids(d) == [first, second])
    assert "En retard" in text_of(browser, f'[data-report-id="{first}"]')
    assert len(browser.find_elements(By.CSS_SELECTOR, "#crew-map .ticket-marker")) == 2
    assert header_text(browser, "net-state") == "En ligne"
    # Every ticket's detail and history are on the tablet before the network goes.
    wait(browser, lambda d: all(t["detail"] and t["history"] for t in stored(d)["tickets"]))
    shoot(browser, screenshots, "list")
    assert not serious(axe_violations(browser))

    # A ticket: what the resident said in words, the photo, the desk's note, the way there.
    open_ticket(browser, first)
    # (Drawn from IndexedDB, then again once read from the API: the waits retry.)
    wait(browser, lambda d: "Nid-de-poule profond" in text_of(d, ".ticket-description"))
    answers = wait(browser, lambda d: text_of(d, ".ticket-answers"))
    assert "large" not in answers.lower().split()  # the choice's words, not its key
    wait(browser, lambda d: "Attention : école" in text_of(d, "#ticket-history"))
    link = wait(browser, lambda d: d.find_element(By.ID, "navigate").get_attribute("href"))
    assert link.startswith("geo:47.")
    # The equipment, read by the crew: its reference, name and position, and the way to it.
    wait(browser, lambda d: "Lampadaire de l’école" in text_of(d, "#ticket-asset"))
    assert "47.32203, 5.04161" in text_of(browser, "#ticket-asset")
    assert browser.find_element(By.ID, "asset-navigate").get_attribute("href") == (
        "geo:47.32203,5.04161"
    )
    wait(
        browser,
        lambda d: d.execute_script(
            "const i = document.querySelector('#ticket-photos img');"
            "return i && i.complete && i.naturalWidth === 160"
        ),
    )
    # Touch targets for gloved hands: every action at least 48 px both ways.
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('.ticket-actions .action-button, #back-link')]"
        ".map((b) => [b.dataset.action || b.id, b.getBoundingClientRect().width,"
        " b.getBoundingClientRect().height])"
    )
    assert {name for name, *_ in sizes} == {
        "start",
        "note",
        "photo",
        "resolve",
        "hand_back",
        "back-link",
    }
    assert all(w >= 48 and h >= 48 for _, w, h in sizes), sizes
    shoot(browser, screenshots, "ticket")
    assert not serious(axe_violations(browser))
    assert policy_refusals(browser) == []

    # The app shell is in the service worker's cache and the worker controls the page.
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.serviceWorker.ready.then(() => done(true));"
    )
    wait(browser, lambda d: d.execute_script("return Boolean(navigator.serviceWorker.controller)"))

    # Offline (see tests/web/crew.py for what that takes).
    cable.unplug()
    browser_offline(browser, True)
    wait(browser, lambda d: header_text(d, "net-state") == "Hors ligne")
    work_offline(browser, first, jpeg(tmp_path / "first.jpg", (200, 40, 40)))
    # Meanwhile the desk gives the second ticket to another crew.
    moved = act(client, agent, second, "assign", {"crew": other_crew})
    assert moved.status_code == 200
    work_offline(browser, second, jpeg(tmp_path / "second.jpg", (40, 200, 40)))
    queued = stored(browser)["outbox"]
    assert [(e["report"], e["action"], e["state"]) for e in queued] == [
        (first, "start", "pending"),
        (first, "photo", "pending"),
        (first, "resolve", "pending"),
        (second, "start", "pending"),
        (second, "photo", "pending"),
        (second, "resolve", "pending"),
    ]
    assert all(e["key"] and e["client_at"] for e in queued)
    assert all(e["photo_bytes"] > 0 for e in queued if e["kind"] == "photo")
    assert events_of(app, [first])[first][2] == []  # nothing reached the service

    # The app closed and opened again, still offline: all there, from IndexedDB.
    old = browser.current_window_handle
    browser.switch_to.new_window("tab")
    fresh = browser.current_window_handle
    browser.switch_to.window(old)
    browser.close()
    browser.switch_to.window(fresh)
    browser_offline(browser, True)
    open_page(browser, f"{crew_url}/crew/")
    ready(browser, "list")
    wait(browser, lambda d: list_ids(d) == [first, second])
    assert header_text(browser, "net-state") == "Hors ligne"
    assert pending(browser) == 6
    statuses = [
        link.get_attribute("data-status")
        for link in browser.find_elements(By.CSS_SELECTOR, "#ticket-list .ticket-link")
    ]
    assert statuses == ["resolved", "resolved"]
    shoot(browser, screenshots, "list-offline")
    assert len(stored(browser)["outbox"]) == 6
    # Signing out would lose them: refused unless confirmed.
    browser.find_element(By.ID, "sign-out").click()
    assert "6 action(s)" in wait(browser, lambda d: d.find_elements(By.ID, "sign-out-text"))[0].text
    browser.find_element(By.ID, "sign-out-cancel").click()
    ready(browser, "list")
    # The ticket too, with its queued work and the report's photo (from the worker's cache).
    open_ticket(browser, first)
    queued_kinds = [
        li.get_attribute("data-queued")
        for li in browser.find_elements(By.CSS_SELECTOR, "#ticket-queued li")
    ]
    assert queued_kinds == ["start", "photo", "resolve"]
    wait(
        browser,
        lambda d: d.execute_script(
            "const i = document.querySelector('#ticket-photos li[data-kind=\"report\"] img');"
            "return Boolean(i && i.complete && i.naturalWidth === 160)"
        ),
    )
    assert "Lampadaire de l’école" in text_of(browser, "#ticket-asset")
    browser.execute_script("window.location.hash = '#/'")
    ready(browser, "list")

    # Back online: replayed in order; one resolved, one conflict.
    cable.plug()
    browser_offline(browser, False)
    wait(
        browser,
        lambda d: pending(d) == 0 and d.find_element(By.ID, "conflicts-link").is_displayed(),
    )
    after = stored(browser)["outbox"]
    assert [(e["report"], e["action"], e["state"], e["code"]) for e in after] == [
        (first, "start", "done", None),
        (first, "photo", "done", None),
        (first, "resolve", "done", None),
        (second, "start", "conflict", "offline_conflict"),
        (second, "photo", "conflict", "photo_not_allowed"),
        (second, "resolve", "conflict", "offline_conflict"),
    ]
    with app.app_context():
        sud = db.session.scalar(select(func.min(Report.crew_id)).where(Report.id == second))
        db.session.remove()
    state = events_of(app, [first, second])
    assert state[first][0] == "resolved" and state[first][2:] == (["start", "resolve"], 1)
    assert state[second] == ("assigned", sud, [], 0)

    # The conflict: both versions, and what happened to each of the crew's actions.
    browser.find_element(By.ID, "conflicts-link").click()
    ready(browser, "conflicts")
    box = browser.find_element(By.CSS_SELECTOR, f'.conflict-ticket[data-report-id="{second}"]')
    assert box.find_element(By.CSS_SELECTOR, ".conflict-current-status").text == "Affecté"
    assert box.find_element(By.CSS_SELECTOR, ".conflict-current-crew").text == "Voirie Sud"
    assert box.find_element(By.CSS_SELECTOR, ".conflict-current-version").text == moved.headers[
        "ETag"
    ].strip('"')
    outcomes = [e.text for e in box.find_elements(By.CSS_SELECTOR, ".conflict-outcome")]
    assert len(outcomes) == 3 and all("Non enregistrée" in text for text in outcomes)
    assert "autre équipe" in outcomes[0]
    kept = box.find_element(By.CSS_SELECTOR, '.conflict[data-kind="photo"] img')
    assert browser.execute_script("return arguments[0].naturalWidth", kept) == 800
    assert not browser.find_elements(By.CSS_SELECTOR, f'.conflict-ticket[data-report-id="{first}"]')
    shoot(browser, screenshots, "conflict")
    assert not serious(axe_violations(browser))

    # The after photo, processed as the worker would, is shown on the resolved ticket.
    with app.app_context():
        photo_id = db.session.scalar(
            select(Photo.id).where(Photo.report_id == first, Photo.kind == "after")
        )
        assert process_photo(db.session, photo_id) == "ready"
        db.session.remove()
    browser.execute_script("window.location.hash = '#/'")
    ready(browser, "list")
    wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, f'#done-list [data-report-id="{first}"]'),
    )
    assert list_ids(browser) == []  # both tickets left the crew's list
    open_ticket(browser, first)
    wait(
        browser,
        lambda d: d.execute_script(
            "const i = document.querySelector('#ticket-photos li[data-kind=\"after\"] img');"
            "return Boolean(i && i.complete && i.naturalWidth > 0)"
        ),
    )
    assert browser.find_element(By.ID, "ticket-status").text == "Résolu"

    # Sending everything again (the tablet unsure what got through) changes nothing.
    before = events_of(app, [first, second])
    send_again(browser)
    browser.find_element(By.ID, "sync-button").click()
    wait(browser, lambda d: pending(d) == 0)
    wait(browser, lambda d: all(e["state"] != "pending" for e in stored(d)["outbox"]))
    assert events_of(app, [first, second]) == before
    assert [e["state"] for e in stored(browser)["outbox"]] == ["done"] * 3 + ["conflict"] * 3

    # Acknowledged, the conflicts leave the tablet.
    browser.execute_script("window.location.hash = '#/conflicts'")
    ready(browser, "conflicts")

    def acknowledged(left):
        return lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-acknowledge]")) == left

    for left in (2, 1, 0):
        wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "[data-acknowledge]").click() or 1)
        wait(browser, acknowledged(left))
    wait(browser, lambda d: d.find_elements(By.ID, "conflicts-none"))
    assert not browser.find_element(By.ID, "conflicts-link").is_displayed()
    # Signing out leaves nothing of this crew member on the tablet: neither the tickets
    # nor the reports' photos the service worker kept.
    assert cached_photos(browser) > 0
    browser.find_element(By.ID, "sign-out").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-uid="{CREW}"]'))
    assert stored(browser) == {"outbox": [], "tickets": []}
    assert cached_photos(browser) == 0


def test_a_staff_account_is_told_the_app_is_for_field_crews(app, crew_url, browser, token_for):
    staff(token_for, Role.AGENT, "demo-agent-voirie")
    open_page(browser, f"{crew_url}/crew/")
    # The picker offers crews only: the agent signs in with the emulator's custom token.
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-uid="demo-agent-voirie"]')
    wait(browser, lambda d: d.find_elements(By.ID, "signin-email"))
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "import('/static/common/auth.js').then((m) => m.signInAsDemo('demo-agent-voirie'))"
        ".then(() => done(true), (e) => done(String(e)));"
    )
    wait(browser, lambda d: "réservée aux équipes de terrain" in text_of(d, "#signin-status"))
    assert not browser.find_elements(By.ID, "sign-out")


def test_with_the_tablets_position_the_nearest_ticket_comes_first_even_if_less_urgent(
    app, crew_url, browser, token_for
):
    staff(token_for, Role.CREW, CREW)
    # Far and urgent (Chenôve), near and normal (central Dijon, where the tablet is).
    far = make_report(app, status="assigned", priority=1, at=(5.0050, 47.2920), commune="21166")
    near = make_report(app, status="assigned", priority=4, at=(5.0416, 47.3221))
    browser.execute_cdp_cmd(
        "Browser.grantPermissions", {"permissions": ["geolocation"], "origin": crew_url}
    )
    browser.execute_cdp_cmd(
        "Emulation.setGeolocationOverride",
        {"latitude": 47.322, "longitude": 5.0415, "accuracy": 10},
    )
    try:
        open_page(browser, f"{crew_url}/crew/")
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-uid="{CREW}"]'))[0].click()
        ready(browser, "list")
        wait(browser, lambda d: list_ids(d) == [near, far])
        wait(browser, lambda d: all(t["detail"] for t in stored(d)["tickets"]))
        assert text_of(browser, "#list-order") == "Les plus proches d’abord"
        assert " m" in text_of(browser, f'[data-report-id="{near}"] .ticket-link__distance')
        # Without the position: most urgent first.
        browser.execute_cdp_cmd("Emulation.clearGeolocationOverride", {})
        browser.execute_cdp_cmd("Browser.resetPermissions", {})
        open_page(browser, f"{crew_url}/crew/")
        ready(browser, "list")
        wait(browser, lambda d: list_ids(d) == [far, near])
        assert "urgents" in text_of(browser, "#list-order")
    finally:
        browser.execute_cdp_cmd("Emulation.clearGeolocationOverride", {})
        browser.execute_cdp_cmd("Browser.resetPermissions", {})
        browser.find_element(By.ID, "sign-out").click()


def test_a_note_and_a_hand_back_online_reach_the_desk_and_the_ticket_leaves_the_list(
    app, crew_url, browser, token_for
):
    staff(token_for, Role.CREW, CREW)
    kept = make_report(app, status="in_progress", priority=2)
    given_back = make_report(app, status="assigned", priority=3, at=(5.045, 47.325))
    browser.set_window_size(*TABLET)
    open_page(browser, f"{crew_url}/crew/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-uid="{CREW}"]'))[0].click()
    ready(browser, "list")
    wait(browser, lambda d: list_ids(d) == [kept, given_back])
    try:
        open_ticket(browser, given_back)
        note = open_form(browser, "note", "form-note")
        note.send_keys("Barrière Heras posée, trou balisé.")
        browser.find_element(By.CSS_SELECTOR, '[data-form="note"] button[type="submit"]').click()
        wait(browser, lambda d: pending(d) == 0)
        # The next sync brings the ticket's new version, and with it its history.
        browser.find_element(By.ID, "sync-button").click()
        wait(browser, lambda d: "Barrière Heras" in text_of(d, "#ticket-history"))

        reason = open_form(browser, "hand_back", "form-reason")
        Select(reason).select_by_value("access_blocked")
        browser.find_element(By.ID, "form-hand-back-note").send_keys("Chantier privé devant.")
        browser.find_element(
            By.CSS_SELECTOR, '[data-form="hand_back"] button[type="submit"]'
        ).click()
        wait(browser, lambda d: pending(d) == 0)
        browser.execute_script("window.location.hash = '#/'")
        ready(browser, "list")
        wait(browser, lambda d: list_ids(d) == [kept])  # no longer the crew's

        with app.app_context():
            report = db.session.get(Report, given_back)
            events = db.session.execute(
                select(ReportEvent.action, ReportEvent.internal_note, ReportEvent.reason_code)
                .where(ReportEvent.report_id == given_back, ReportEvent.actor_role == "crew")
                .order_by(ReportEvent.id)
            ).all()
            assert (report.status, report.crew_id) == ("acknowledged", None)
            db.session.remove()
        assert [tuple(e) for e in events] == [
            ("note", "Barrière Heras posée, trou balisé.", None),
            ("hand_back", "Chantier privé devant.", "access_blocked"),
        ]
    finally:
        browser.find_element(By.ID, "sign-out").click()
