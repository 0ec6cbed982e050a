"""The console's supervision and admin screens in a real browser (Debian's headless Chromium)
against the real service (gunicorn) and the Auth emulator stand-in: a supervisor sees every
desk and every crew's workload and moves an overdue report to another desk (through a
conflict first); an admin changes an agent's desks and adds a routing rule, and the API says
so afterwards; an agent gets neither the navigation nor the figures. Each screen passes
axe-core at 1280 px; a screenshot of each goes to the ``screenshots`` folder."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from app.extensions import db
from app.organisation.service import put_crew
from app.users.models import Role
from tests.factories import make_report
from tests.triage.helpers import act
from tests.web.console import serious, sign_in, staff, text_of, wait
from tests.web.test_browser import axe_violations, policy_refusals

pytestmark = [pytest.mark.processes, pytest.mark.usefixtures("leave_the_console")]


def desk_rows(browser) -> dict[str, object]:
    return {
        row.get_attribute("data-desk"): row
        for row in browser.find_elements(By.CSS_SELECTOR, "#supervision-desks tbody tr")
    }


def figure(row, name: str) -> str:
    """A figure's text, French number spacing (narrow no-break spaces) as plain spaces."""
    text = row.find_element(By.CSS_SELECTOR, f'[data-figure="{name}"]').text
    return text.replace("\u202f", " ").replace("\xa0", " ")


def test_a_supervisor_sees_every_desk_and_the_crews_and_moves_an_overdue_report(
    app,
    client,
    console_url,
    browser,
    token_for,
    auth,
    screenshots,
):
    supervisor = staff(token_for, Role.SUPERVISOR, "demo-supervisor-sup")
    late = make_report(app, status="acknowledged", crew=None, created_hours_ago=72, due_in_hours=-2)
    make_report(app, status="new", crew=None)
    make_report(app, status="new", desk="eclairage", crew=None)
    make_report(app, status="assigned", crew="voirie-nord")
    with app.app_context():  # a crew at its capacity
        put_crew(db.session, code="voirie-sud", name="Voirie Sud", desk="voirie", capacity=1)
        db.session.commit()
        db.session.remove()
    make_report(app, status="in_progress", crew="voirie-sud")
    admin = auth(Role.ADMIN)
    every_desk = {desk["code"] for desk in client.get("/v1/desks", headers=admin).get_json()}

    sign_in(browser, console_url, supervisor)
    wait(browser, lambda d: len(desk_rows(d)) == len(every_desk))
    assert set(desk_rows(browser)) == every_desk
    nav = [link.text for link in browser.find_elements(By.CSS_SELECTOR, ".console-nav__link")]
    assert "Supervision" in nav and "Comptes" not in nav
    voirie = desk_rows(browser)["voirie"]
    assert (figure(voirie, "open"), figure(voirie, "overdue")) == ("4", "1")
    assert figure(voirie, "service-level") == "aucune résolution"
    assert figure(desk_rows(browser)["eclairage"], "open") == "1"
    crew = browser.find_element(By.CSS_SELECTOR, '#supervision-crews tr[data-crew="voirie-nord"]')
    # The bar has its figure in words beside it.
    assert figure(crew, "load") == "1 sur 10 (10 %)"
    meter = crew.find_element(By.TAG_NAME, "meter")
    assert (meter.get_attribute("value"), meter.get_attribute("max")) == ("1", "10")
    assert "capacité" not in crew.text
    full = browser.find_element(By.CSS_SELECTOR, '#supervision-crews tr[data-crew="voirie-sud"]')
    assert figure(full, "load") == "1 sur 1 (100 %)"
    assert "au-delà de sa capacité" in full.text  # in words, not by colour alone
    browser.save_screenshot(str(screenshots / "console-supervision.png"))
    assert not serious(axe_violations(browser))
    assert policy_refusals(browser) == []
    browser.execute_script("arguments[0].scrollIntoView()", crew)
    browser.save_screenshot(str(screenshots / "console-supervision-crews.png"))

    # In English, one click away.
    browser.find_element(By.ID, "language-button").click()
    wait(browser, lambda d: text_of(d, "#desks-title") == "Desks")
    crew = wait(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR, '#supervision-crews tr[data-crew="voirie-nord"]'
        ),
    )[0]
    assert figure(crew, "load") == "1 of 10 (10%)"
    browser.save_screenshot(str(screenshots / "console-supervision-en.png"))
    assert not serious(axe_violations(browser))
    browser.find_element(By.ID, "language-button").click()
    wait(browser, lambda d: text_of(d, "#desks-title") == "Pôles")
    voirie = wait(browser, lambda d: desk_rows(d).get("voirie"))

    # The overdue list of the desk, then the move to another desk.
    voirie.find_element(By.CSS_SELECTOR, "[data-overdue-desk]").click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-reroute="{late}"]'))
    assert browser.switch_to.active_element.get_attribute("id") == "overdue-title"
    browser.find_element(By.CSS_SELECTOR, f'[data-reroute="{late}"]').click()
    assert browser.switch_to.active_element.get_attribute("id") == "reroute-desk"
    Select(browser.find_element(By.ID, "reroute-desk")).select_by_value("eclairage")
    # Meanwhile, an agent of the desk changes the report: the move meets a conflict.
    agent = auth(Role.AGENT)
    assert act(client, agent, late, "set_priority", {"priority": 1}).status_code == 200
    browser.find_element(By.ID, "reroute-submit").click()
    conflict = wait(browser, lambda d: d.find_elements(By.ID, "reroute-conflict"))[0]
    assert "a changé" in conflict.text and "Pris en compte" in conflict.text
    browser.save_screenshot(str(screenshots / "console-supervision-conflict.png"))
    assert not serious(axe_violations(browser))
    assert client.get(f"/v1/reports/{late}", headers=admin).get_json()["desk"]["code"] == "voirie"
    assert browser.switch_to.active_element.get_attribute("id") == "reroute-redo"
    browser.switch_to.active_element.click()
    wait(browser, lambda d: d.find_elements(By.ID, "reroute-done"))
    report = client.get(f"/v1/reports/{late}", headers=admin).get_json()
    assert (report["desk"]["code"], report["status"]) == ("eclairage", "new")
    # The figures follow (the live stream may redraw the table meanwhile: read it again).
    wait(
        browser,
        lambda d: (
            [
                figure(desk_rows(d)["voirie"], "overdue"),
                figure(desk_rows(d)["voirie"], "open"),
                figure(desk_rows(d)["eclairage"], "open"),
            ]
            == ["0", "3", "2"]
        ),
    )
    # The move's live event refreshes the figures once more: the page is idle after it (the
    # tables are emptied after the test, which a request still running would hold up).
    announcer = browser.find_element(By.ID, "console-announcer")
    wait(browser, lambda d: "mis à jour" in (announcer.get_attribute("textContent") or ""))


def test_an_admin_changes_an_agent_s_desks_and_adds_a_routing_rule(
    app,
    client,
    console_url,
    browser,
    token_for,
    auth,
    screenshots,
):
    admin_uid = staff(token_for, Role.ADMIN, "demo-admin-root")
    agent_uid = staff(token_for, Role.AGENT, "demo-agent-moved")  # desks: voirie
    admin = auth(Role.ADMIN)

    sign_in(browser, console_url, admin_uid)
    row = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-uid="{agent_uid}"]'))[
        0
    ]
    assert row.find_element(By.CSS_SELECTOR, '[data-field="desks"]').text == "Voirie"
    browser.save_screenshot(str(screenshots / "console-admin-users.png"))
    assert not serious(axe_violations(browser))

    row.find_element(By.CSS_SELECTOR, f'[data-edit="{agent_uid}"]').click()
    assert browser.switch_to.active_element.get_attribute("id") == "user-role"
    assert browser.find_element(By.ID, "user-uid").get_attribute("readonly") is not None
    assert not browser.find_element(By.ID, "user-crew").is_displayed()
    browser.find_element(By.ID, "user-desk-eclairage").click()
    browser.find_element(By.ID, "user-desk-voirie").click()  # off
    browser.save_screenshot(str(screenshots / "console-admin-user-form.png"))
    assert not serious(axe_violations(browser))
    browser.find_element(By.ID, "user-save").click()
    wait(browser, lambda d: d.find_elements(By.ID, "user-saved"))
    account = client.get(f"/v1/admin/users/{agent_uid}", headers=admin).get_json()
    assert (account["role"], account["desks"]) == ("agent", ["eclairage"])
    wait(
        browser,
        lambda d: (
            text_of(d, f'tr[data-uid="{agent_uid}"] [data-field="desks"]') == "Éclairage public"
        ),
    )

    # A desk-less agent is refused, with the API's words.
    browser.find_element(By.CSS_SELECTOR, f'[data-edit="{agent_uid}"]').click()
    browser.find_element(By.ID, "user-desk-eclairage").click()  # off: no desk left
    browser.find_element(By.ID, "user-save").click()
    problem = wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#user-form-result .problem")
    )[0]
    assert problem.text
    assert client.get(f"/v1/admin/users/{agent_uid}", headers=admin).get_json()["desks"] == [
        "eclairage"
    ]

    # Routing rules, in priority order; one added.
    browser.execute_script("window.location.hash = '#/admin/rules'")
    wait(browser, lambda d: d.find_elements(By.ID, "rule-add"))
    browser.find_element(By.ID, "rule-add").click()
    assert browser.switch_to.active_element.get_attribute("id") == "rule-name"
    browser.find_element(By.ID, "rule-name").send_keys("Hiver : viabilité")
    priority = browser.find_element(By.ID, "rule-priority")
    priority.clear()
    priority.send_keys("5")
    Select(browser.find_element(By.ID, "rule-desk")).select_by_value("viabilite-hivernale")
    for month in (12, 1, 2):
        browser.find_element(By.ID, f"rule-month-{month}").click()
    browser.find_element(By.ID, "rule-save").click()
    wait(browser, lambda d: d.find_elements(By.ID, "rule-saved"))
    rules = client.get("/v1/admin/routing-rules", headers=admin).get_json()
    (added,) = [rule for rule in rules if rule["name"] == "Hiver : viabilité"]
    assert (added["priority"], added["desk"], sorted(added["months"])) == (
        5,
        "viabilite-hivernale",
        [1, 2, 12],
    )
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'tr[data-rule-id="{added["id"]}"]'))
    browser.save_screenshot(str(screenshots / "console-admin-rules.png"))
    assert not serious(axe_violations(browser))
    assert policy_refusals(browser) == []

    # Deleting asks first: cancel keeps the rule and gives the focus back, yes deletes it.
    remove = f'[data-remove="{added["id"]}"]'
    browser.find_element(By.CSS_SELECTOR, remove).click()
    assert browser.switch_to.active_element.get_attribute("id") == "rule-delete-yes"
    assert not serious(axe_violations(browser))
    browser.find_element(By.CSS_SELECTOR, "#rule-delete .button:not(.button-danger)").click()
    assert browser.switch_to.active_element.get_attribute("data-remove") == str(added["id"])
    assert added["id"] in {
        r["id"] for r in client.get("/v1/admin/routing-rules", headers=admin).get_json()
    }
    browser.find_element(By.CSS_SELECTOR, remove).click()
    browser.find_element(By.ID, "rule-delete-yes").click()
    wait(
        browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'tr[data-rule-id="{added["id"]}"]')
    )
    assert "Hiver : viabilité" in text_of(browser, ".admin-done")
    assert added["id"] not in {
        r["id"] for r in client.get("/v1/admin/routing-rules", headers=admin).get_json()
    }


def test_an_agent_gets_no_supervision_screen_and_the_api_refuses_the_figures(
    client,
    console_url,
    browser,
    token_for,
    auth,
    screenshots,
):
    agent_uid = staff(token_for, Role.AGENT, "demo-agent-nosup")
    sign_in(browser, console_url, agent_uid)
    wait(browser, lambda d: d.find_elements(By.ID, "queue-counts"))
    nav = [
        link.get_attribute("href")
        for link in browser.find_elements(By.CSS_SELECTOR, ".console-nav__link")
    ]
    assert not [href for href in nav if "supervision" in href or "admin" in href]
    # Typed into the address bar, the screen shows the API's refusal, and no figure.
    browser.execute_script("window.location.hash = '#/supervision'")
    problem = wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#supervision-problem .problem")
    )[0]
    assert "agent" in problem.text
    assert not browser.find_elements(By.ID, "supervision-desks")
    assert not browser.find_element(By.ID, "desks-title").is_displayed()
    browser.save_screenshot(str(screenshots / "console-supervision-refused.png"))
    assert not serious(axe_violations(browser))
    headers = auth(Role.AGENT)
    for path in ("/v1/supervision/desks", "/v1/supervision/crews"):
        response = client.get(path, headers=headers)
        assert (response.status_code, response.get_json()["code"]) == (403, "forbidden_role")
