"""The control-room console in a real browser (Debian's headless Chromium) against the real
service (gunicorn) and the Auth emulator stand-in: an agent signs in with the demo picker,
works a ticket, meets another agent's change as a conflict view, sees a resident's new
report arrive live, merges by picking on the map; the contact is shown only behind its
audited button; every screen passes axe-core; screenshots of each screen go to the
``screenshots`` folder (SIGNALE_SCREENSHOTS)."""

import uuid
from datetime import UTC, datetime

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select
from sqlalchemy import func, select

from app.assets.service import put_asset
from app.audit.models import AuditEvent
from app.auth.tokens import mint_emulator_token
from app.extensions import db
from app.feeds import service as feeds
from app.organisation.service import create_rule
from app.reports.models import Report, ReportFollower, ReportSupporter
from app.reports.service import add_support
from app.users.models import Role
from tests.conftest import PROJECT_ID
from tests.factories import DIJON, make_report
from tests.feeds.factories import car_park, road_segment
from tests.triage.helpers import act
from tests.web.console import (
    action_button,
    open_ticket,
    queue_ids,
    serious,
    sign_in,
    staff,
    stored_photo,
    text_of,
    ticket_status,
    wait,
)
from tests.web.test_browser import axe_violations, open_page, policy_refusals

pytestmark = [pytest.mark.processes, pytest.mark.usefixtures("leave_the_console")]


def test_an_agent_signs_in_sees_only_their_desks_opens_acknowledges_and_assigns_a_report(
    app, client, console_url, media, browser, token_for, screenshots
):
    agent = staff(token_for, Role.AGENT, "demo-agent-voirie")
    ours = make_report(
        app,
        status="new",
        crew=None,
        description="Nid-de-poule profond devant l’école, une roue y est restée.",
        answers={"size": "large"},
    )
    theirs = make_report(app, status="new", desk="allo-mairie", crew=None)
    stored_photo(app, media, ours, "report", (90, 90, 90))
    stored_photo(app, media, ours, "reopen", (120, 60, 60))

    open_page(browser, f"{console_url}/console/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".demo-account"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    browser.save_screenshot(str(screenshots / "console-sign-in.png"))
    assert not serious(axe_violations(browser))

    sign_in(browser, console_url, agent)
    wait(browser, lambda d: ours in queue_ids(d))
    nav = [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".console-nav__link")]
    # Their desk's queue, and the equipment screen every agent has (commands only for the
    # desks that own a kind of equipment: tests/web/test_console_equipment.py).
    assert nav == ["File Voirie", "Équipements"]
    assert theirs not in queue_ids(browser)
    # The header's counts are a request of their own, answered after the queue's.
    wait(browser, lambda d: "1 signalement(s)" in text_of(d, "#queue-counts"))

    open_ticket(browser, ours)
    assert "Nid-de-poule profond devant l’école" in text_of(browser, ".ticket-description")
    answers = text_of(browser, ".ticket-answers")
    assert answers and "large" not in answers.lower().split()  # the choice's words, not its key
    assert ticket_status(browser) == "Nouveau"
    kinds = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".ticket-photos .photo-kind")]
    assert kinds == ["Photo du signalement", "Photo de réouverture"]
    # Both images (shown at display size, for the desk to moderate) were fetched from
    # Signale and decoded by the browser.
    wait(
        browser,
        lambda d: d.execute_script(
            "const images = [...document.querySelectorAll('.ticket-photos img')];"
            "return images.length === 2"
            " && images.every((img) => img.complete && img.naturalWidth === 640)"
        ),
    )
    browser.save_screenshot(str(screenshots / "console-ticket.png"))
    assert not serious(axe_violations(browser))
    assert policy_refusals(browser) == []

    action_button(browser, "acknowledge").click()
    wait(browser, lambda d: ticket_status(d) == "Pris en compte")
    action_button(browser, "assign").click()
    crew = wait(browser, lambda d: d.find_elements(By.ID, "form-crew"))[0]
    Select(crew).select_by_value("voirie-nord")
    browser.find_element(By.CSS_SELECTOR, '[data-form="assign"] button[type="submit"]').click()
    wait(browser, lambda d: ticket_status(d) == "Affecté")
    assert "Voirie Nord" in text_of(browser, "#ticket-crew")
    history = [
        li.get_attribute("data-action")
        for li in browser.find_elements(By.CSS_SELECTOR, "#ticket-history li")
    ]
    assert history[-2:] == ["acknowledge", "assign"]

    # The resident's feed says so.
    ana = {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, 'ana')}"}
    feed = client.get("/v1/me/notifications", headers=ana).get_json()["items"]
    told = {item["data"]["kind"] for item in feed if item["data"].get("report_id") == str(ours)}
    assert told == {"acknowledged", "assigned"}, feed


def test_an_agent_of_another_desk_is_refused_the_report_and_never_sees_the_contact(
    app, console_url, browser, token_for
):
    other = staff(token_for, Role.AGENT, "demo-agent-other")
    report_id = make_report(
        app,
        status="new",
        desk="allo-mairie",
        crew=None,
        contact={"name": "Ana Lopes", "phone": "0600000000"},
    )
    sign_in(browser, console_url, other)
    wait(browser, lambda d: d.find_elements(By.ID, "queue-counts"))
    # The agent types another desk's ticket in the address bar: the API refuses, nothing leaks.
    browser.execute_script(f"window.location.hash = '#/queue/allo-mairie/{report_id}'")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".problem"))
    assert "Ana Lopes" not in browser.page_source
    assert not browser.find_elements(By.ID, "show-contact")


def test_a_crew_member_is_sent_to_the_crews_app_and_a_resident_is_refused(
    app, console_url, browser, token_for, standin
):
    staff(token_for, Role.CREW, "demo-crew-voirie-nord")
    open_page(browser, f"{console_url}/console/")
    # Crews are offered apart, folded: the console is not theirs.
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".demo-others summary"))[0].click()
    browser.find_element(By.CSS_SELECTOR, '[data-uid="demo-crew-voirie-nord"]').click()
    wait(browser, lambda d: "équipe de terrain" in text_of(d, "#signin-status"))
    assert not browser.find_elements(By.ID, "sign-out")
    # A resident's account (e-mail and password) gets no console either.
    standin.add_account(email="ana@example.fr", password="correct horse")
    browser.find_element(By.ID, "signin-email").send_keys("ana@example.fr")
    browser.find_element(By.ID, "signin-password").send_keys("correct horse", Keys.ENTER)
    wait(browser, lambda d: "réservée au personnel" in text_of(d, "#signin-status"))
    assert not browser.find_elements(By.ID, "sign-out")


def test_show_contact_writes_exactly_one_audit_entry_and_the_crew_never_sees_it(
    app, client, console_url, browser, token_for, auth, screenshots
):
    agent = staff(token_for, Role.AGENT, "demo-agent-contact")
    report_id = make_report(
        app,
        status="assigned",
        crew="voirie-nord",
        contact={"name": "Ana Lopes", "phone": "0600000000"},
    )

    def reads():
        with app.app_context():
            count = db.session.scalar(select(func.count()).select_from(AuditEvent))
            db.session.remove()
        return count

    sign_in(browser, console_url, agent)
    open_ticket(browser, report_id)
    assert "Ana Lopes" not in browser.page_source
    before = reads()
    browser.find_element(By.ID, "show-contact").click()
    wait(browser, lambda d: "Ana Lopes" in text_of(d, "#contact-box"))
    assert "0600000000" in text_of(browser, "#contact-box")
    assert reads() == before + 1
    assert not browser.find_elements(By.ID, "show-contact")  # one read, one click
    # The crew holding the ticket works it without the contact: refused, and not in its view.
    crew = auth(Role.CREW)
    refused = client.get(f"/v1/reports/{report_id}/contact", headers=crew)
    assert refused.status_code == 403
    assert "Ana Lopes" not in client.get(f"/v1/reports/{report_id}", headers=crew).get_data(
        as_text=True
    )
    assert reads() == before + 1


def test_a_second_agent_s_change_gives_the_conflict_view_and_the_action_is_redone(
    app, client, console_url, browser, token_for, auth, screenshots
):
    agent = staff(token_for, Role.AGENT, "demo-agent-first")
    report_id = make_report(app, status="new", crew=None)
    sign_in(browser, console_url, agent)
    open_ticket(browser, report_id)
    action_button(browser, "assign").click()
    Select(wait(browser, lambda d: d.find_elements(By.ID, "form-crew"))[0]).select_by_value(
        "voirie-nord"
    )

    # Meanwhile, another agent raises its priority.
    second = auth(Role.AGENT)
    assert act(client, second, report_id, "set_priority", {"priority": 1}).status_code == 200

    # The live stream tells the open ticket; what the agent was writing stays.
    wait(browser, lambda d: "version" in text_of(d, ".ticket-notice"))
    assert browser.find_element(By.ID, "form-crew").get_attribute("value") == "voirie-nord"
    browser.find_element(By.CSS_SELECTOR, '[data-form="assign"] button[type="submit"]').click()
    conflict = wait(browser, lambda d: d.find_elements(By.ID, "conflict"))[0]
    assert "Priorité" in conflict.text and "Urgente" in conflict.text
    browser.save_screenshot(str(screenshots / "console-conflict.png"))
    assert not serious(axe_violations(browser))
    browser.find_element(By.ID, "conflict-redo").click()
    wait(browser, lambda d: ticket_status(d) == "Affecté")
    history = [
        li.get_attribute("data-action")
        for li in browser.find_elements(By.CSS_SELECTOR, "#ticket-history li")
    ]
    assert history[-2:] == ["set_priority", "assign"]


def test_another_agent_s_change_shows_on_the_open_ticket_without_a_reload(
    app, client, console_url, browser, token_for, auth
):
    agent = staff(token_for, Role.AGENT, "demo-agent-watch")
    report_id = make_report(app, status="new", crew=None)
    sign_in(browser, console_url, agent)
    open_ticket(browser, report_id)
    wait(browser, lambda d: text_of(d, "#live-state") == "En direct")
    browser.execute_script("window.__sameDocument = true")
    assert act(client, auth(Role.AGENT), report_id, "acknowledge").status_code == 200
    wait(browser, lambda d: ticket_status(d) == "Pris en compte")
    assert "modifié" in text_of(browser, ".ticket-notice")
    assert browser.execute_script("return window.__sameDocument === true")


def test_a_report_filed_by_a_resident_appears_in_the_queue_and_on_the_map_without_a_reload(
    app, client, console_url, browser, token_for
):
    agent = staff(token_for, Role.AGENT, "demo-agent-live")
    with app.app_context():
        create_rule(db.session, {"name": "Voirie", "priority": 1, "desk": "voirie"})
        db.session.commit()
        db.session.remove()
    # A full first page of urgent work: a new report sorts after all of it.
    backlog = [make_report(app, status="new", crew=None, priority=1) for _ in range(100)]
    sign_in(browser, console_url, agent)
    wait(browser, lambda d: len(queue_ids(d)) == 100)
    wait(browser, lambda d: text_of(d, "#live-state") == "En direct")
    browser.execute_script("window.__sameDocument = true")
    resident = {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, 'bea')}"}
    body = {
        "category": "pothole",
        # 400 m from the backlog: not a duplicate of it
        "location": {"lon": DIJON[0] + 0.0055, "lat": DIJON[1]},
        "answers": {"size": "small"},
    }
    filed = client.post(
        "/v1/reports", headers={**resident, "Idempotency-Key": str(uuid.uuid4())}, json=body
    )
    assert filed.status_code == 201, filed.get_json()
    report_id = filed.get_json()["id"]
    assert filed.get_json()["desk"]["code"] == "voirie"
    assert filed.get_json()["status"] == "new"
    wait(browser, lambda d: report_id in queue_ids(d))
    assert queue_ids(browser)[0] == report_id  # on top, marked as just arrived
    assert "arrivé en direct" in text_of(browser, f'.queue-item[data-report-id="{report_id}"]')
    assert browser.find_elements(By.CSS_SELECTOR, f"path.report-marker-{report_id}")
    wait(browser, lambda d: "101 signalement(s)" in text_of(d, "#queue-counts"))
    assert set(queue_ids(browser)) == {report_id, *backlog}
    assert browser.execute_script("return window.__sameDocument === true")


def test_merging_by_picking_the_original_on_the_map_moves_supporters_and_followers(
    app, console_url, browser, token_for
):
    agent = staff(token_for, Role.AGENT, "demo-agent-merge")
    original = make_report(app, status="acknowledged", crew=None, reporter="ana")
    duplicate = make_report(
        app, status="new", crew=None, reporter="bob", at=(DIJON[0] + 0.0004, DIJON[1])
    )
    with app.app_context():
        add_support(db.session, duplicate, "carol")
        db.session.commit()
        db.session.remove()
    sign_in(browser, console_url, agent)
    open_ticket(browser, duplicate)
    action_button(browser, "merge").click()
    wait(browser, lambda d: d.find_elements(By.ID, "pick-on-map"))[0].click()
    marker = wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, f".report-marker-{original}")
    )[0]
    browser.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", marker
    )
    wait(
        browser,
        lambda d: d.find_element(By.ID, "form-into").get_attribute("value") == str(original),
    )
    browser.find_element(By.CSS_SELECTOR, '[data-form="merge"] button[type="submit"]').click()
    wait(browser, lambda d: ticket_status(d) == "Doublon")
    with app.app_context():
        supporters = set(
            db.session.scalars(
                select(ReportSupporter.uid).where(ReportSupporter.report_id == original)
            )
        )
        followers = set(
            db.session.scalars(
                select(ReportFollower.uid).where(ReportFollower.report_id == original)
            )
        )
        db.session.remove()
    assert "carol" in supporters
    assert {"bob", "carol"} <= followers | supporters


def test_the_keyboard_moves_through_the_queue_opens_acknowledges_and_lists_the_shortcuts(
    app, console_url, browser, token_for, screenshots
):
    agent = staff(token_for, Role.AGENT, "demo-agent-keys")
    first = make_report(app, status="new", crew=None, priority=1)
    second = make_report(app, status="new", crew=None, priority=3)
    sign_in(browser, console_url, agent)
    wait(browser, lambda d: len(queue_ids(d)) == 2)
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("j")
    assert browser.switch_to.active_element.get_attribute("data-report-id") == str(first)
    browser.switch_to.active_element.send_keys("j")
    assert browser.switch_to.active_element.get_attribute("data-report-id") == str(second)
    browser.switch_to.active_element.send_keys("k")
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait(browser, lambda d: ticket_status(d) == "Nouveau")
    browser.switch_to.active_element.send_keys("a")
    wait(browser, lambda d: ticket_status(d) == "Pris en compte")
    browser.switch_to.active_element.send_keys("?")
    dialog = wait(
        browser,
        lambda d: [e for e in d.find_elements(By.ID, "shortcuts-dialog") if e.is_displayed()],
    )[0]
    assert "Prendre en compte" in dialog.text
    browser.save_screenshot(str(screenshots / "console-shortcuts.png"))
    dialog.send_keys(Keys.ESCAPE)


def test_english_is_one_click_away_and_the_queue_passes_axe_at_320_px(
    app, console_url, browser, token_for, screenshots
):
    agent = staff(token_for, Role.AGENT, "demo-agent-english")
    make_report(app, status="new", crew=None)
    sign_in(browser, console_url, agent)
    wait(browser, lambda d: queue_ids(d))
    browser.find_element(By.ID, "language-button").click()
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en")
    wait(
        browser,
        lambda d: "Roads" in text_of(d, "#queue-title") or "queue" in text_of(d, "#queue-title"),
    )
    browser.save_screenshot(str(screenshots / "console-queue-en.png"))
    assert not serious(axe_violations(browser))
    browser.find_element(By.ID, "language-button").click()
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr")
    try:
        browser.set_window_size(320, 900)
        browser.save_screenshot(str(screenshots / "console-queue-320.png"))
        assert not serious(axe_violations(browser))
    finally:
        browser.set_window_size(1280, 1100)


def test_faulty_equipment_is_highlighted_on_the_map_beside_the_queue(
    app, console_url, browser, token_for, screenshots
):
    agent = staff(token_for, Role.AGENT, "demo-agent-map")
    make_report(app, status="new", crew=None)
    with app.app_context():
        for reference, status, east in (
            ("SL-OK-1", "in_service", 0.0003),
            ("SL-KO-1", "faulty", -0.0003),
        ):
            put_asset(
                db.session,
                reference,
                {
                    "kind": "street_light",
                    "status": status,
                    "name": reference,
                    "attributes": {},
                    "location": {"lon": DIJON[0] + east, "lat": DIJON[1]},
                },
            )
        db.session.commit()
        db.session.remove()
    sign_in(browser, console_url, agent)
    # Drawn once the map has settled on the queue's reports: one light in fault, one not.
    wait(
        browser,
        lambda d: (
            len(d.find_elements(By.CSS_SELECTOR, "path.asset-marker--faulty")) == 1
            and len(d.find_elements(By.CSS_SELECTOR, "path.asset-marker--in_service")) == 1
        ),
    )
    assert browser.find_elements(By.CSS_SELECTOR, "path.commune-shape")
    assert "Équipement en panne" in text_of(browser, ".map-legend")
    browser.save_screenshot(str(screenshots / "console-queue-map.png"))


def test_a_public_update_starts_from_a_message_template_and_reaches_the_history(
    app, console_url, browser, token_for
):
    agent = staff(token_for, Role.AGENT, "demo-agent-update")
    report_id = make_report(app, status="acknowledged", crew=None)
    sign_in(browser, console_url, agent)
    open_ticket(browser, report_id)
    action_button(browser, "public_update").click()
    chooser = Select(wait(browser, lambda d: d.find_elements(By.ID, "form-template"))[0])
    chooser.select_by_visible_text("Pris en compte")
    text = browser.find_element(By.ID, "form-message-fr").get_attribute("value")
    assert "{" not in text and "DIJ-" in text  # the template, its placeholders filled
    browser.find_element(
        By.CSS_SELECTOR, '[data-form="public_update"] button[type="submit"]'
    ).click()
    wait(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, '#ticket-history li[data-action="public_update"]'
        ),
    )
    entry = browser.find_element(By.CSS_SELECTOR, '#ticket-history li[data-action="public_update"]')
    assert text.strip()[:30] in entry.text


def test_a_selection_is_acknowledged_at_once_and_a_report_changed_meanwhile_is_refused(
    app, client, console_url, browser, token_for, auth
):
    agent = staff(token_for, Role.AGENT, "demo-agent-bulk")
    ids = [make_report(app, status="new", crew=None) for _ in range(3)]
    sign_in(browser, console_url, agent)
    wait(browser, lambda d: len(queue_ids(d)) == 3)
    # Two picked with the mouse, the third with the keyboard (x on the focused row).
    browser.find_element(By.ID, f"select-{ids[0]}").click()
    browser.find_element(By.ID, f"select-{ids[1]}").click()
    browser.find_element(By.CSS_SELECTOR, f'.queue-item[data-report-id="{ids[2]}"]').send_keys("x")
    assert "3 sélectionné(s)" in text_of(browser, "#bulk-count")
    # Another agent changes one of them before the bulk action is sent.
    assert act(client, auth(Role.AGENT), ids[1], "set_priority", {"priority": 1}).status_code == 200
    browser.find_element(By.ID, "bulk-acknowledge").click()
    wait(browser, lambda d: "2 fait(s), 1 refusé(s)." in text_of(d, "#bulk-outcome"))
    with app.app_context():
        states = dict(
            db.session.execute(select(Report.id, Report.status).where(Report.id.in_(ids))).all()
        )
        db.session.remove()
    assert states == {ids[0]: "acknowledged", ids[1]: "new", ids[2]: "acknowledged"}


def test_the_desk_publishes_an_edited_description_and_dates_are_in_paris_time(
    app, client, console_url, browser, token_for
):
    agent = staff(token_for, Role.AGENT, "demo-agent-publish")
    summer = datetime(2026, 7, 14, 10, 0, tzinfo=UTC)  # 12:00 in Paris (CEST)
    report_id = make_report(
        app,
        status="acknowledged",
        crew=None,
        created_at=summer,
        description="Trou dans la chaussée, appelez-moi au 06 00 00 00 00",
    )
    sign_in(browser, console_url, agent)
    open_ticket(browser, report_id)
    assert "14/07/2026 12:00" in text_of(browser, ".ticket-facts")
    action_button(browser, "publish_description").click()
    text = wait(browser, lambda d: d.find_elements(By.ID, "form-description"))[0]
    assert "06 00 00 00 00" in text.get_attribute("value")  # starts from what the resident wrote
    text.clear()
    text.send_keys("Trou dans la chaussée")
    browser.find_element(
        By.CSS_SELECTOR, '[data-form="publish_description"] button[type="submit"]'
    ).click()
    wait(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, '#ticket-history li[data-action="publish_description"]'
        ),
    )
    stranger = {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, 'zoe')}"}
    public = client.get(f"/v1/reports/{report_id}", headers=stranger).get_json()
    assert public["public_description"] == "Trou dans la chaussée"
    assert "06 00" not in str(public)


def test_the_mobility_layers_show_car_parks_and_traffic_on_the_same_map(
    app, console_url, browser, token_for, feed_source, now
):
    agent = staff(token_for, Role.AGENT, "demo-agent-mobility")
    make_report(app, status="new", crew=None)
    for name, kind, entities in (
        (
            "parkings",
            "parking",
            [
                car_park(1, available=12, total=200, offset_m=150, now=now),
                car_park(2, available=0, total=80, offset_m=400, now=now),
            ],
        ),
        (
            "traffic",
            "traffic",
            [
                road_segment(1, intensity=420, averageVehicleSpeed=48.0, now=now),
                road_segment(2, offset_m=300, averageVehicleSpeed=12.0, now=now),
            ],
        ),
    ):
        url = feed_source.serve(f"/{name}.json", entities)
        with app.app_context():
            feed, _ = feeds.put_feed(
                db.session,
                name,
                {
                    "kind": kind,
                    "format": "ngsi-ld-document",
                    "source_url": url,
                    "poll_interval_seconds": 60,
                    "freshness_limit_seconds": 600,
                    "enabled": True,
                },
            )
            assert feeds.poll_feed(db.session, feed.id)["status"] == "ok"
            db.session.remove()
    sign_in(browser, console_url, agent)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "path.report-marker"))
    assert not browser.find_elements(By.CSS_SELECTOR, "path.parking-marker")  # off by default
    browser.find_element(By.CSS_SELECTOR, ".leaflet-control-layers-toggle").click()
    for label in ("Parkings", "Trafic"):
        browser.find_element(
            By.XPATH, f"//label[contains(., '{label}')]//input[@type='checkbox']"
        ).click()
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "path.parking-marker")) == 2)
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "path.traffic")) == 2)
    congestion = {
        cls
        for path in browser.find_elements(By.CSS_SELECTOR, "path.traffic")
        for cls in path.get_attribute("class").split()
        if cls.startswith("traffic--")
    }
    assert congestion == {"traffic--free", "traffic--heavy"}
