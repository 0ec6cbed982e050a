"""The privacy officer's screens in a real browser (Debian's headless Chromium) against the
real service (gunicorn) and the Auth emulator stand-in: the CNIL correspondent signs in to
the register, table by table, in French then English, and reads the access log, the
retention runs and the erasures; nothing else is offered to them. An agent gets no such
screen, and the API refuses it the register. Each screen passes axe-core; screenshots go to
the ``screenshots`` folder (SIGNALE_SCREENSHOTS)."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from app.extensions import db
from app.privacy import retention
from app.users.models import Role
from tests.web.console import serious, sign_in, staff, text_of, wait
from tests.web.test_browser import axe_violations, policy_refusals

pytestmark = [pytest.mark.processes, pytest.mark.usefixtures("leave_the_console")]


def nav_links(browser) -> list[str]:
    return [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".console-nav__link")]


def register_row(browser, table: str, column: str):
    return browser.find_element(
        By.CSS_SELECTOR, f'section[data-table="{table}"] tr[data-column="{column}"]'
    )


def a_read_and_an_erasure(client, auth) -> int:
    """A report whose contact an admin read, and a resident who then erased their data."""
    filed = client.post(
        "/v1/reports",
        json={
            "category": "pothole",
            "location": {"lon": 5.0415, "lat": 47.322},
            "answers": {"size": "small"},
            "contact": {"email": "lucienne.privacy@example.fr"},
        },
        headers={**auth(uid="resident-lucienne"), "Idempotency-Key": "privacy-console"},
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    report_id = filed.get_json()["id"]
    reader = auth(Role.ADMIN, uid="admin-who-read")
    assert client.get(f"/v1/reports/{report_id}/contact", headers=reader).status_code == 200
    assert client.delete("/v1/me", headers=auth(uid="resident-lucienne")).status_code == 200
    return report_id


def test_the_privacy_officer_reads_the_register_the_access_log_the_runs_and_the_erasures(
    app, client, console_url, browser, token_for, auth, screenshots
):
    officer = staff(token_for, Role.PRIVACY_OFFICER, "demo-privacy-cnil")
    report_id = a_read_and_an_erasure(client, auth)
    with app.app_context():
        retention.run(db.session, app.config, dry_run=True)
        db.session.remove()

    sign_in(browser, console_url, officer)
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, 'section[data-table="reports"]'))
    assert browser.current_url.endswith("#/privacy/register")
    # Nothing but the personal-data screens: no queue, no supervision, no live stream.
    assert nav_links(browser) == ["Données personnelles"]
    assert not browser.find_elements(By.ID, "live-state")
    assert not browser.find_elements(By.ID, "shortcuts-button")
    assert browser.switch_to.active_element.get_attribute("id") == "privacy-title"
    email = register_row(browser, "report_contacts", "email")
    assert "Courriel laissé par l’auteur" in email.text.replace("'", "’")
    assert "365 jours après la clôture du signalement" in email.text
    assert "RETENTION_CONTACT_DETAILS_DAYS" in email.text
    assert "Consentement" in email.text
    description = register_row(browser, "reports", "description")
    assert "Conservé tant que le signalement l'est" in description.text
    rules = browser.find_elements(By.CSS_SELECTOR, "#retention-rules tbody tr")
    assert len(rules) == len(retention.SCHEDULE)
    browser.save_screenshot(str(screenshots / "console-privacy-register.png"))
    assert not serious(axe_violations(browser))
    assert policy_refusals(browser) == []

    # The table of contents moves the focus to a table, by keyboard.
    jump = browser.find_element(By.CSS_SELECTOR, '[data-jump="report_contacts"]')
    jump.send_keys(Keys.ENTER)
    wait(
        browser,
        lambda d: d.switch_to.active_element.get_attribute("id") == "register-report_contacts",
    )
    browser.save_screenshot(str(screenshots / "console-privacy-register-contacts.png"))
    browser.find_element(By.CSS_SELECTOR, '[data-jump="retention-rules"]').click()
    browser.save_screenshot(str(screenshots / "console-privacy-retention-rules.png"))

    # In English, one click away.
    browser.find_element(By.ID, "language-button").click()
    wait(browser, lambda d: "Register of processing" in text_of(d, "#privacy-title"))
    email = wait(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, 'section[data-table="report_contacts"] tr[data-column="email"]'
        ),
    )[0]
    assert "Cleared 365 days after the report's closure" in email.text
    browser.save_screenshot(str(screenshots / "console-privacy-register-en.png"))
    assert not serious(axe_violations(browser))
    browser.find_element(By.ID, "language-button").click()
    wait(browser, lambda d: "Registre des traitements" in text_of(d, "#privacy-title"))

    # The access log: who read whose contact details, filtered by report.
    browser.find_element(By.CSS_SELECTOR, '[data-section="reads"]').click()
    row = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#privacy-reads tbody tr"))[0]
    assert "admin-who-read" in row.text
    browser.find_element(By.ID, "reads-report").send_keys(str(report_id + 1000))
    browser.find_element(By.ID, "reads-report").send_keys(Keys.ENTER)
    wait(browser, lambda d: "Aucune entrée." in text_of(d, "#privacy-reads tbody"))
    browser.find_element(By.ID, "reads-report").clear()
    browser.find_element(By.ID, "reads-report").send_keys(str(report_id), Keys.ENTER)
    wait(browser, lambda d: "admin-who-read" in text_of(d, "#privacy-reads tbody"))
    browser.save_screenshot(str(screenshots / "console-privacy-access-log.png"))
    assert not serious(axe_violations(browser))

    # The retention runs, with their counts.
    browser.find_element(By.CSS_SELECTOR, '[data-section="runs"]').click()
    run = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#privacy-runs tbody tr"))[0]
    assert "À blanc" in run.text
    browser.save_screenshot(str(screenshots / "console-privacy-runs.png"))
    assert not serious(axe_violations(browser))

    # The erasures: what went and what stayed, naming nobody.
    browser.find_element(By.CSS_SELECTOR, '[data-section="erasures"]').click()
    erasure = wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#privacy-erasures tbody tr")
    )[0]
    assert "coordonnées : 1" in erasure.find_element(By.CSS_SELECTOR, '[data-field="deleted"]').text
    assert (
        "signalements : 1" in erasure.find_element(By.CSS_SELECTOR, '[data-field="detached"]').text
    )
    assert "lucienne" not in browser.find_element(By.ID, "privacy-body").text
    browser.save_screenshot(str(screenshots / "console-privacy-erasures.png"))
    assert not serious(axe_violations(browser))
    assert policy_refusals(browser) == []

    # A queue typed into the address bar: the API's refusal, no report.
    browser.execute_script("window.location.hash = '#/queue/voirie'")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".problem"))
    assert not browser.find_elements(By.CSS_SELECTOR, ".queue-item")


def test_an_agent_gets_no_personal_data_screen_and_the_api_refuses_the_register(
    client, console_url, browser, token_for, auth, screenshots
):
    agent = staff(token_for, Role.AGENT, "demo-agent-noprivacy")
    sign_in(browser, console_url, agent)
    wait(browser, lambda d: d.find_elements(By.ID, "queue-counts"))
    assert "Données personnelles" not in nav_links(browser)
    browser.execute_script("window.location.hash = '#/privacy/register'")
    problem = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#privacy-body .problem"))[0]
    assert "agent" in problem.text
    assert not browser.find_elements(By.CSS_SELECTOR, "section[data-table]")
    browser.save_screenshot(str(screenshots / "console-privacy-refused.png"))
    assert not serious(axe_violations(browser))
    response = client.get("/v1/privacy/register", headers=auth(Role.AGENT))
    assert (response.status_code, response.get_json()["code"]) == (403, "forbidden_role")
