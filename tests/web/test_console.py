"""The control-room console in a real browser (Debian's headless Chromium) against the real
service (gunicorn) and the Auth emulator stand-in: an agent signs in with the demo picker,
works a ticket, meets another agent's change as a conflict view, sees a resident's new
report arrive live, merges by picking on the map; the contact is shown only behind its
audited button; every screen passes axe-core; screenshots of each screen go to the
``screenshots`` folder (SIGNALE_SCREENSHOTS)."""

import uuid

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.tokens import mint_emulator_token
from app.extensions import db
from app.reports.models import Report, ReportFollower, ReportSupporter
from app.reports.service import add_support
from app.users.models import Role
from tests.conftest import PROJECT_ID
from tests.factories import DIJON, make_report
from tests.servers import gunicorn
from tests.triage.helpers import act
from tests.web.test_browser import axe_violations, open_page, policy_refusals
from tools.auth_standin import AuthStandIn

pytestmark = pytest.mark.processes

WAIT = 30  # seconds: a bound for a loaded machine, never a measure


@pytest.fixture(scope="module")
def standin():
    server = AuthStandIn(PROJECT_ID).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def console_url(app, database_url, tmp_path_factory, standin):
    env = {"FIREBASE_AUTH_EMULATOR_HOST": standin.host, "EVENTS_HEARTBEAT_SECONDS": "2"}
    with gunicorn(database_url, tmp_path_factory.mktemp("media"), workers=2, env=env) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _leave_the_console(browser):
    """After each test, the console is closed before the tables are emptied: a page still
    calling the API (its live stream, a refresh) would hold locks the truncation waits for."""
    yield
    browser.get("about:blank")


def wait(browser, condition, timeout=WAIT):
    def check(driver):
        try:
            return condition(driver)
        except StaleElementReferenceException:
            return False

    return WebDriverWait(browser, timeout).until(check)


def text_of(browser, css) -> str:
    elements = browser.find_elements(By.CSS_SELECTOR, css)
    return elements[0].text if elements else ""


def sign_in(browser, url, uid):
    """The development sign-in: the demo account picked on the sign-in screen."""
    open_page(browser, f"{url}/console/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-uid="{uid}"]'))[0].click()
    wait(browser, lambda d: d.find_elements(By.ID, "sign-out"))


def serious(violations):
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def queue_ids(browser) -> list[int]:
    return [
        int(link.get_attribute("data-report-id"))
        for link in browser.find_elements(By.CSS_SELECTOR, ".queue-item")
    ]


def open_ticket(browser, report_id):
    link = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-report-id="{report_id}"]'))
    link[0].click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#ticket-status"))


def action_button(browser, name):
    return wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'.ticket-actions [data-action="{name}"]')
    )[0]


def ticket_status(browser) -> str:
    return text_of(browser, "#ticket-status")


def staff(token_for, role, uid, **assignment):
    token_for(role, uid=uid)
    return uid


def test_an_agent_signs_in_sees_only_their_desks_opens_acknowledges_and_assigns_a_report(
    app, client, console_url, browser, token_for, screenshots
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

    open_page(browser, f"{console_url}/console/")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".demo-account"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    browser.save_screenshot(str(screenshots / "console-sign-in.png"))
    assert not serious(axe_violations(browser))

    sign_in(browser, console_url, agent)
    wait(browser, lambda d: ours in queue_ids(d))
    nav = [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".console-nav__link")]
    assert nav == ["File Voirie"]
    assert theirs not in queue_ids(browser)
    assert "1 signalement(s)" in text_of(browser, "#queue-counts")

    open_ticket(browser, ours)
    assert "Nid-de-poule profond devant l’école" in text_of(browser, ".ticket-description")
    answers = text_of(browser, ".ticket-answers")
    assert answers and "large" not in answers.lower().split()  # the choice's words, not its key
    assert ticket_status(browser) == "Nouveau"
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
    history = [li.get_attribute("data-action") for li in browser.find_elements(By.CSS_SELECTOR, "#ticket-history li")]
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
    report_id = make_report(app, status="new", desk="allo-mairie", crew=None, contact={"name": "Ana Lopes", "phone": "0600000000"})
    sign_in(browser, console_url, other)
    wait(browser, lambda d: d.find_elements(By.ID, "queue-counts"))
    open_page(browser, f"{console_url}/console/#/queue/allo-mairie/{report_id}")
    wait(browser, lambda d: d.find_elements(By.ID, "sign-out"))
    # Signed in again (the token lives in memory only): the desk refuses.
    open_page(browser, f"{console_url}/console/")
    sign_in(browser, console_url, other)
    browser.get(f"{console_url}/console/#/queue/allo-mairie/{report_id}")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".problem"))
    assert "Ana Lopes" not in browser.page_source
    assert not browser.find_elements(By.ID, "show-contact")


def test_show_contact_writes_exactly_one_audit_entry(app, console_url, browser, token_for, screenshots):
    agent = staff(token_for, Role.AGENT, "demo-agent-contact")
    report_id = make_report(app, status="new", crew=None, contact={"name": "Ana Lopes", "phone": "0600000000"})

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


def test_a_second_agent_s_change_gives_the_conflict_view_and_the_action_is_redone(
    app, client, console_url, browser, token_for, auth, screenshots
):
    agent = staff(token_for, Role.AGENT, "demo-agent-first")
    report_id = make_report(app, status="new", crew=None)
    sign_in(browser, console_url, agent)
    open_ticket(browser, report_id)
    action_button(browser, "assign").click()
    Select(wait(browser, lambda d: d.find_elements(By.ID, "form-crew"))[0]).select_by_value("voirie-nord")

    # Meanwhile, another agent raises its priority.
    second = auth(Role.AGENT)
    assert act(client, second, report_id, "set_priority", {"priority": 1}).status_code == 200

    browser.find_element(By.CSS_SELECTOR, '[data-form="assign"] button[type="submit"]').click()
    conflict = wait(browser, lambda d: d.find_elements(By.ID, "conflict"))[0]
    assert "Priorité" in conflict.text and "Urgente" in conflict.text
    browser.save_screenshot(str(screenshots / "console-conflict.png"))
    assert not serious(axe_violations(browser))
    browser.find_element(By.ID, "conflict-redo").click()
    wait(browser, lambda d: ticket_status(d) == "Affecté")
    history = [li.get_attribute("data-action") for li in browser.find_elements(By.CSS_SELECTOR, "#ticket-history li")]
    assert history[-2:] == ["set_priority", "assign"]


def test_a_report_filed_by_a_resident_appears_in_the_queue_and_on_the_map_without_a_reload(
    app, client, console_url, browser, token_for
):
    agent = staff(token_for, Role.AGENT, "demo-agent-live")
    sign_in(browser, console_url, agent)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".queue-empty"))
    wait(browser, lambda d: text_of(d, "#live-state") == "En direct")
    browser.execute_script("window.__sameDocument = true")
    resident = {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, 'bea')}"}
    body = {"category": "pothole", "location": {"lon": DIJON[0], "lat": DIJON[1]}, "answers": {"size": "small"}}
    filed = client.post("/v1/reports", headers={**resident, "Idempotency-Key": str(uuid.uuid4())}, json=body)
    assert filed.status_code == 201, filed.get_json()
    report_id = filed.get_json()["id"]
    wait(browser, lambda d: report_id in queue_ids(d))
    assert browser.find_elements(By.CSS_SELECTOR, f".report-marker-{report_id}")
    assert browser.execute_script("return window.__sameDocument === true")


def test_merging_by_picking_the_original_on_the_map_moves_supporters_and_followers(
    app, console_url, browser, token_for
):
    agent = staff(token_for, Role.AGENT, "demo-agent-merge")
    original = make_report(app, status="acknowledged", crew=None, reporter="ana")
    duplicate = make_report(app, status="new", crew=None, reporter="bob", at=(DIJON[0] + 0.0004, DIJON[1]))
    with app.app_context():
        add_support(db.session, duplicate, "carol")
        db.session.commit()
        db.session.remove()
    sign_in(browser, console_url, agent)
    open_ticket(browser, duplicate)
    action_button(browser, "merge").click()
    wait(browser, lambda d: d.find_elements(By.ID, "pick-on-map"))[0].click()
    marker = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f".report-marker-{original}"))[0]
    browser.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", marker
    )
    wait(browser, lambda d: d.find_element(By.ID, "form-into").get_attribute("value") == str(original))
    browser.find_element(By.CSS_SELECTOR, '[data-form="merge"] button[type="submit"]').click()
    wait(browser, lambda d: ticket_status(d) == "Doublon")
    with app.app_context():
        supporters = set(db.session.scalars(select(ReportSupporter.uid).where(ReportSupporter.report_id == original)))
        followers = set(db.session.scalars(select(ReportFollower.uid).where(ReportFollower.report_id == original)))
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
    dialog = wait(browser, lambda d: [e for e in d.find_elements(By.ID, "shortcuts-dialog") if e.is_displayed()])[0]
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
    wait(browser, lambda d: "Roads" in text_of(d, "#queue-title") or "queue" in text_of(d, "#queue-title"))
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
