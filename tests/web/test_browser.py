"""The landing page in a real browser (Debian's headless Chromium) against the real service
(gunicorn): French first and English one click away, usable with the keyboard alone, no
serious or critical accessibility violation found by axe-core (RGAA 4.1 / WCAG 2.1 AA),
nothing refused by its Content-Security-Policy, and never shown inside another site's
frame. A screenshot of each screen goes to ``SIGNALE_SCREENSHOTS`` (or a temporary
directory)."""

import http.server
import threading

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.web.conftest import AXE, WINDOW

pytestmark = pytest.mark.processes

LINKS_FR = [
    "Aller au contenu",
    "English",
    "Signaler un problème",
    "Console du centre de supervision",
    "Application des équipes de terrain",
    "Documentation de l’API",
    "Document OpenAPI 3",
    "Données ouvertes : les fichiers",
    "Données ouvertes : le catalogue",
]
LINKS_EN = [
    "Skip to content",
    "Français",
    "Report a problem",
    "Control centre console",
    "Field crews' app",
    "API documentation",
    "OpenAPI 3 document",
    "Open data: the files",
    "Open data: the catalogue",
]


def open_page(browser, url: str) -> None:
    browser.get_log("browser")  # what an earlier page logged is not this one's
    browser.get(url)


def link_texts(browser) -> list[str]:
    return [
        browser.execute_script("return arguments[0].textContent.trim()", link)
        for link in browser.find_elements(By.TAG_NAME, "a")
    ]


def policy_refusals(browser) -> list[str]:
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused" in entry["message"]
    ]


def axe_violations(browser) -> list[dict]:
    """axe-core's violations on the current page; the driver runs it, so the page's policy
    (no script but this origin's) does not apply to it."""
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then("
        "  (results) => done(results.violations.map((v) => ({"
        "    id: v.id, impact: v.impact, help: v.help,"
        "    targets: v.nodes.map((n) => n.target.join(' '))}))),"
        "  (error) => done([{id: 'axe-error', impact: 'critical', help: String(error)}]));"
    )


def test_the_page_opens_in_french_with_its_links_styled_and_nothing_refused(
    browser, service_url, screenshots
):
    open_page(browser, f"{service_url}/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert browser.title == "Signale — Dijon Métropole"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Signale"
    assert link_texts(browser) == LINKS_FR
    # The stylesheet, served by Signale, was allowed and applied.
    font = browser.execute_script("return getComputedStyle(document.body).fontFamily")
    assert "system-ui" in font
    assert policy_refusals(browser) == []
    browser.save_screenshot(str(screenshots / "landing-fr.png"))


def test_one_click_reads_the_page_in_english_and_one_click_back_in_french(
    browser, service_url, screenshots
):
    open_page(browser, f"{service_url}/")
    browser.find_element(By.LINK_TEXT, "English").click()
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.current_url == f"{service_url}/?lang=en"
    assert link_texts(browser) == LINKS_EN
    assert policy_refusals(browser) == []
    browser.save_screenshot(str(screenshots / "landing-en.png"))
    browser.find_element(By.LINK_TEXT, "Français").click()
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert link_texts(browser) == LINKS_FR


def test_tab_reaches_every_link_in_order_with_a_visible_focus_and_the_skip_link_works(
    browser, service_url
):
    open_page(browser, f"{service_url}/")
    focused = []
    for _ in LINKS_FR:
        ActionChains(browser).send_keys(Keys.TAB).perform()
        element = browser.switch_to.active_element
        focused.append(browser.execute_script("return arguments[0].textContent.trim()", element))
        style = browser.execute_script(
            "const s = getComputedStyle(arguments[0]);"
            "return [s.outlineStyle, parseFloat(s.outlineWidth)]",
            element,
        )
        assert style[0] != "none" and style[1] >= 2, (focused[-1], style)
        # The focused link is on screen (the skip link shows itself when focused).
        assert element.is_displayed() and element.rect["y"] >= 0, focused[-1]
    assert focused == LINKS_FR
    # Back to the skip link, then Enter: focus goes to the main content.
    open_page(browser, f"{service_url}/")
    ActionChains(browser).send_keys(Keys.TAB).send_keys(Keys.ENTER).perform()
    assert browser.switch_to.active_element.get_attribute("id") == "contenu"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_axe_core_finds_no_serious_or_critical_violation(browser, service_url, lang, screenshots):
    open_page(browser, f"{service_url}/?lang={lang}")
    violations = axe_violations(browser)
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
    # Narrow screens (RGAA 10.11, reflow at 320 CSS pixels) too.
    browser.set_window_size(320, 800)
    try:
        violations = axe_violations(browser)
        assert [v for v in violations if v["impact"] in ("serious", "critical")] == []
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 320, "the page scrolls sideways on a narrow screen"
        browser.save_screenshot(str(screenshots / f"landing-{lang}-narrow.png"))
    finally:
        browser.set_window_size(*WINDOW)


class _FramingPage(http.server.BaseHTTPRequestHandler):
    """Another site (another origin: another port) that frames Signale's page and, to show
    that frames do load otherwise, a JSON answer of Signale's that is not a page."""

    page = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args):
        pass


@pytest.fixture
def framing_site(service_url):
    handler = type(
        "Framing",
        (_FramingPage,),
        {
            "page": (
                "<!doctype html><title>ailleurs</title>"
                f'<iframe id="page" src="{service_url}/"></iframe>'
                f'<iframe id="json" src="{service_url}/healthz"></iframe>'
            ).encode()
        },
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_another_site_cannot_show_the_page_in_a_frame(browser, framing_site):
    open_page(browser, framing_site)
    try:
        browser.switch_to.frame("json")
        assert "status" in browser.find_element(By.TAG_NAME, "body").text
        browser.switch_to.default_content()
        browser.switch_to.frame("page")
        # The browser's own error page stands in the frame, not Signale's.
        assert browser.execute_script("return location.href") == "chrome-error://chromewebdata/"
        assert "Signale" not in browser.find_element(By.TAG_NAME, "body").text
    finally:
        browser.switch_to.default_content()
    assert any("frame-ancestors" in message for message in policy_refusals(browser))
