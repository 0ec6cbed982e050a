"""The resident page (/report/) in a real browser (Debian's headless Chromium) at a phone's
size, against the real service (gunicorn) and the Auth emulator stand-in: a resident signed
in anonymously files a report with a photo, the page is reloaded while the report's POST has
been answered by the service but not yet by the browser, and the same report comes back
(one report, one photo); it is in "my reports" with its desk, on its page with its history,
and in the notification feed once the desk acknowledges it. A point outside the metropolis
gets the refusal naming the nearest commune; an open report nearby is offered and supporting
it works; a category's urgent notice comes first with its number. Every screen passes
axe-core; each is photographed at phone (390x844) and tablet (1024x768) sizes."""

import pytest
from PIL import Image
from selenium.webdriver.common.by import By
from sqlalchemy import func, select, update

from app.auth.tokens import mint_emulator_token
from app.categories.models import Category
from app.extensions import db
from app.notifications.models import Notification
from app.organisation.models import Desk
from app.photos.models import Photo
from app.reports.models import Report, ReportFollower, ReportSupporter
from app.users.models import Role
from app.users.service import put_user
from tests.conftest import PROJECT_ID
from tests.factories import DIJON, make_report
from tests.servers import gunicorn
from tests.triage.helpers import act
from tests.web.console import serious, text_of, wait
from tests.web.test_browser import axe_violations, open_page, policy_refusals

pytestmark = [pytest.mark.processes, pytest.mark.usefixtures("leave_the_console")]

PHONE = (390, 844)
TABLET = (1024, 768)
# Beaune, some 40 km south of the metropolis.
BEAUNE = (4.8400, 47.0250)


def viewport(browser, size, mobile=True):
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile},
    )


@pytest.fixture
def phone(browser):
    viewport(browser, PHONE)
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def service_env(standin) -> dict:
    """The service as `make run` starts it, with the Auth stand-in (abuse limits are counted
    under each test server's own Redis keys: tests/servers.py)."""
    return {"FIREBASE_AUTH_EMULATOR_HOST": standin.host}


@pytest.fixture(scope="module")
def resident_url(app, database_url, media, standin):
    with gunicorn(database_url, media, workers=2, env=service_env(standin)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def report_url(resident_url, browser):
    """The page, opened afresh: no draft, no followed report, French."""
    open_page(browser, f"{resident_url}/report/manifest.webmanifest")
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "localStorage.removeItem('signale.lang');"
        "const request = indexedDB.deleteDatabase('signale-report');"
        "request.onsuccess = request.onerror = request.onblocked = () => done(true);"
    )
    return f"{resident_url}/report/"


def screen(browser, screenshots, name):
    """Both sizes' screenshots of the screen shown, then its axe-core check."""
    browser.save_screenshot(str(screenshots / f"report-{name}-phone.png"))
    viewport(browser, TABLET, mobile=False)
    browser.save_screenshot(str(screenshots / f"report-{name}-tablet.png"))
    viewport(browser, PHONE)
    violations = serious(axe_violations(browser))
    assert not violations, violations


def heading(browser) -> str:
    return text_of(browser, "#report-main h1")


def open_report_page(browser, url):
    open_page(browser, url)
    wait(browser, lambda d: heading(d) == "Où est le problème ?")


def place(browser, lon, lat):
    for field, value in (("place-lat", lat), ("place-lon", lon)):
        element = browser.find_element(By.ID, field)
        element.clear()
        element.send_keys(str(value).replace(".", ","))
    browser.find_element(By.ID, "place-put").click()


def choose(browser, css):
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, css))[0].click()


def draft_of(browser) -> dict | None:
    """What the page keeps of its draft in IndexedDB (the parts the tests look at)."""
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const open = indexedDB.open('signale-report');"
        "open.onsuccess = () => {"
        "  const get = open.result.transaction('drafts').objectStore('drafts').get('current');"
        "  get.onsuccess = () => { open.result.close(); const d = get.result;"
        "    done(d ? {sending: d.sending, report: d.report, photos: d.photos.length} : null); };"
        "};"
    )


def reports_in(app) -> list[Report]:
    with app.app_context():
        reports = db.session.scalars(select(Report).order_by(Report.id)).all()
        db.session.expunge_all()
        db.session.remove()
    return reports


def count(app, query):
    with app.app_context():
        value = db.session.scalar(query)
        db.session.remove()
    return value


def to_the_details(browser, lon, lat, category):
    place(browser, lon, lat)
    wait(browser, lambda d: d.find_elements(By.ID, "place-commune"))
    browser.find_element(By.ID, "step-next").click()
    choose(browser, f'[data-category="{category}"]')
    wait(browser, lambda d: heading(d) == "Précisez le problème")


def test_a_resident_files_a_report_with_a_photo_a_reload_while_sending_makes_no_duplicate(
    app, client, phone, report_url, screenshots, tmp_path
):
    browser = phone
    open_report_page(browser, report_url)
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    screen(browser, screenshots, "place")

    place(browser, *DIJON)
    wait(browser, lambda d: text_of(d, "#place-commune") == "Commune : Dijon")
    browser.find_element(By.ID, "step-next").click()
    wait(browser, lambda d: heading(d) == "Quel est le problème ?")
    icons = browser.find_elements(By.CSS_SELECTOR, ".category-icon")
    assert icons and all(  # each icon was fetched from Signale and drawn
        browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", i)
        for i in icons
    )
    screen(browser, screenshots, "category")
    choose(browser, '[data-category="pothole"]')
    wait(browser, lambda d: heading(d) == "Précisez le problème")
    assert not browser.find_elements(By.ID, "urgent-notice")  # a pothole has none

    # The size question (required), a photo, a description.
    browser.find_element(By.CSS_SELECTOR, 'label[for="q-size-2"]').click()
    photo = tmp_path / "pothole.jpg"
    Image.new("RGB", (800, 600), (90, 90, 90)).save(photo, "JPEG")
    browser.find_element(By.ID, "photo-input").send_keys(str(photo))
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#photo-list .photo-thumb"))
    browser.find_element(By.ID, "description").send_keys("Trou profond devant le n° 12.")
    screen(browser, screenshots, "details")
    browser.find_element(By.ID, "step-next").click()
    wait(browser, lambda d: d.find_elements(By.ID, "suggest-none"))

    # The service answers the report's POST, the browser never gets the answer (held by
    # the DevTools protocol), and the page is reloaded: it sends again with the same key.
    browser.execute_cdp_cmd(
        "Fetch.enable", {"patterns": [{"urlPattern": "*/v1/reports", "requestStage": "Response"}]}
    )
    try:
        browser.find_element(By.ID, "send").click()
        wait(browser, lambda d: len(reports_in(app)) == 1)
        # The page does not know: its draft still waits for the report's answer.
        assert draft_of(browser) == {"sending": True, "report": None, "photos": 1}
        browser.refresh()
    finally:
        browser.execute_cdp_cmd("Fetch.disable", {})
    reference = wait(browser, lambda d: text_of(d, "#sent-reference"))

    [report] = reports_in(app)
    assert draft_of(browser) is None  # sent: the draft is gone
    assert report.reference == reference
    assert report.description == "Trou profond devant le n° 12."
    assert report.answers == {"size": "large"}
    photos = lambda: count(  # noqa: E731
        app, select(func.count()).select_from(Photo).where(Photo.report_id == report.id)
    )
    wait(browser, lambda d: photos() == 1)
    desk = count(app, select(Desk.name_fr).where(Desk.id == report.desk_id))
    assert text_of(browser, "#sent-desk") == desk
    screen(browser, screenshots, "sent")
    assert photos() == 1 and len(reports_in(app)) == 1

    # My reports: the report with its desk.
    browser.find_element(By.CSS_SELECTOR, '.resident-nav a[href="#/mine"]').click()
    item = wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-report-id="{report.id}"]')
    )[0]
    assert reference in item.text and f"Service : {desk}" in item.text
    screen(browser, screenshots, "mine")

    # Its page: the status and the public history.
    item.find_element(By.TAG_NAME, "a").click()
    wait(browser, lambda d: heading(d) == f"Signalement {reference}")
    assert text_of(browser, "#page-status") == "Nouveau"
    assert "Signalé" in text_of(browser, "#page-history")
    screen(browser, screenshots, "report")

    # The desk acknowledges it: the feed says so, and it is read with one tap.
    with app.app_context():
        code = db.session.scalar(select(Desk.code).where(Desk.id == report.desk_id))
        put_user(db.session, actor=None, uid="agent-of-the-desk", role=Role.AGENT, desks=[code])
        db.session.commit()
        db.session.remove()
    agent = {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, 'agent-of-the-desk')}"}
    assert act(client, agent, report.id, "acknowledge").status_code == 200
    browser.get(report_url + "#/notifications")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".notification--unread"))
    assert text_of(browser, "#notif-unread") == "1 non lue(s)"
    assert reference in text_of(browser, "#notifications")
    screen(browser, screenshots, "notifications")
    browser.find_element(By.CSS_SELECTOR, "[data-read]").click()
    wait(browser, lambda d: text_of(d, "#notif-unread") == "0 non lue(s)")
    read = select(func.count()).select_from(Notification).where(Notification.read_at.isnot(None))
    assert count(app, read) == 1
    assert policy_refusals(browser) == []


def test_a_point_outside_the_metropolis_is_refused_in_french_naming_the_nearest_commune(
    client, phone, report_url, auth
):
    located = client.get(
        f"/v1/service-area/locate?lon={BEAUNE[0]}&lat={BEAUNE[1]}", headers=auth()
    ).get_json()
    assert located["inside"] is False
    nearest = located["nearest"]["name"]
    open_report_page(phone, report_url)
    # A tap on the map (centred on Dijon): the commune, and the way on.
    phone.find_element(By.ID, "place-map").click()
    wait(phone, lambda d: text_of(d, "#place-commune") == "Commune : Dijon")
    assert phone.find_element(By.ID, "step-next").get_attribute("disabled") is None
    # Beaune: refused, no way on.
    place(phone, *BEAUNE)
    refusal = wait(phone, lambda d: text_of(d, "#place-refusal"))
    assert refusal.startswith("Ce lieu est hors de Dijon Métropole")
    assert f"de {nearest}, la commune la plus proche" in refusal
    assert phone.find_element(By.ID, "step-next").get_attribute("disabled") is not None
    # The phone's position, in Dijon.
    origin = report_url.removesuffix("/report/")
    phone.execute_cdp_cmd(
        "Browser.grantPermissions", {"origin": origin, "permissions": ["geolocation"]}
    )
    phone.execute_cdp_cmd(
        "Emulation.setGeolocationOverride",
        {"latitude": DIJON[1], "longitude": DIJON[0], "accuracy": 12},
    )
    try:
        phone.find_element(By.ID, "place-here").click()
        wait(phone, lambda d: text_of(d, "#place-commune") == "Commune : Dijon")
    finally:
        phone.execute_cdp_cmd("Emulation.clearGeolocationOverride", {})
    assert phone.find_element(By.ID, "step-next").get_attribute("disabled") is None


def test_a_nearby_open_report_is_offered_and_the_resident_supports_it_instead(
    app, phone, report_url, screenshots
):
    # An open pothole report about 100 m away (not the same place: not merged as a duplicate).
    existing = make_report(app, status="acknowledged", at=(DIJON[0] + 0.0013, DIJON[1]))
    open_report_page(phone, report_url)
    to_the_details(phone, *DIJON, "pothole")
    phone.find_element(By.CSS_SELECTOR, 'label[for="q-size-0"]').click()
    phone.find_element(By.ID, "step-next").click()
    offered = wait(phone, lambda d: d.find_elements(By.CSS_SELECTOR, ".suggestion"))
    assert [int(o.get_attribute("data-report-id")) for o in offered] == [existing]
    assert heading(phone) == "Est-ce l’un de ces signalements ?"
    screen(phone, screenshots, "suggestions")

    phone.find_element(By.CSS_SELECTOR, f'[data-support="{existing}"]').click()
    wait(phone, lambda d: text_of(d, "#flash").startswith("Merci : votre soutien est compté"))
    assert text_of(phone, "#page-supports") == "1"
    assert text_of(phone, "#follow-button") == "Ne plus suivre"
    supporters = select(func.count()).select_from(ReportSupporter)
    assert count(app, supporters.where(ReportSupporter.report_id == existing)) == 1
    followers = select(func.count()).select_from(ReportFollower)
    followers = followers.where(ReportFollower.report_id == existing)
    assert count(app, followers) == 1
    # Stop following (the support still counts), then follow again.
    phone.find_element(By.ID, "follow-button").click()
    wait(phone, lambda d: text_of(d, "#follow-button") == "Suivre ce signalement")
    assert count(app, followers) == 0
    assert count(app, supporters.where(ReportSupporter.report_id == existing)) == 1
    phone.find_element(By.ID, "follow-button").click()
    wait(phone, lambda d: text_of(d, "#follow-button") == "Ne plus suivre")
    assert count(app, followers) == 1
    assert [r.id for r in reports_in(app)] == [existing]  # nothing else was sent
    # The draft is gone: a new report starts from the place.
    phone.find_element(By.CSS_SELECTOR, '.resident-nav a[href="#/"]').click()
    wait(phone, lambda d: heading(d) == "Où est le problème ?")


def test_a_categorys_urgent_notice_comes_first_with_its_phone_number(
    phone, report_url, screenshots
):
    open_report_page(phone, report_url)
    place(phone, *DIJON)
    wait(phone, lambda d: d.find_elements(By.ID, "place-commune"))
    phone.find_element(By.ID, "step-next").click()
    choose(phone, '[data-category="gas_smell"]')
    notice = wait(phone, lambda d: d.find_elements(By.ID, "urgent-notice"))[0]
    # First after the title: before the category's questions, photos and description.
    first = phone.execute_script(
        "return document.querySelector('#report-main h1').nextElementSibling.id"
    )
    assert first == "urgent-notice"
    assert "GRDF Urgence Sécurité Gaz" in notice.text
    call = phone.find_element(By.ID, "urgent-call")
    assert call.get_attribute("href") == "tel:0800473333"
    assert call.text == "Appeler le 0800 47 33 33"
    screen(phone, screenshots, "urgent")


def test_the_page_switches_to_english_and_back(phone, report_url, screenshots):
    open_report_page(phone, report_url)
    phone.find_element(By.ID, "language").click()
    wait(phone, lambda d: heading(d) == "Where is the problem?")
    assert phone.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert phone.find_element(By.ID, "place-here").text == "Use my position"
    nav = [a.text for a in phone.find_elements(By.CSS_SELECTOR, ".resident-nav a")]
    assert nav == ["Report", "My reports", "Notifications"]
    place(phone, *BEAUNE)
    refusal = wait(phone, lambda d: text_of(d, "#place-refusal"))
    assert refusal.startswith("This place is outside Dijon Métropole")
    screen(phone, screenshots, "english")
    phone.find_element(By.ID, "language").click()
    wait(phone, lambda d: heading(d) == "Où est le problème ?")
    assert phone.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"


def test_the_page_opens_offline_from_its_service_worker_and_says_so(
    database_url, media, standin, phone, screenshots
):
    # A service of its own: stopped, nothing answers at its address any more.
    with gunicorn(database_url, media, workers=1, env=service_env(standin)) as port:
        url = f"http://127.0.0.1:{port}/report/"
        open_report_page(phone, url)
        wait(
            phone, lambda d: d.execute_script("return Boolean(navigator.serviceWorker.controller)")
        )
    phone.execute_cdp_cmd("Network.enable", {})
    offline = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    phone.execute_cdp_cmd("Network.emulateNetworkConditions", {**offline, "offline": True})
    try:
        phone.refresh()
        wait(phone, lambda d: heading(d) == "Où est le problème ?")
        banner = phone.find_element(By.ID, "offline-banner")
        assert banner.is_displayed() and banner.text.startswith("Vous êtes hors ligne")
        screen(phone, screenshots, "offline")
    finally:
        phone.execute_cdp_cmd("Network.emulateNetworkConditions", {**offline, "offline": False})
        phone.execute_cdp_cmd("Network.disable", {})


def test_a_refusal_is_shown_as_the_api_wrote_it_and_the_draft_is_kept(
    app, phone, report_url, tmp_path
):
    open_report_page(phone, report_url)
    to_the_details(phone, *DIJON, "road_marking")
    # Six photos chosen at once: five kept (the API's limit), then four removed.
    paths = []
    for n in range(6):
        paths.append(tmp_path / f"marking-{n}.jpg")
        Image.new("RGB", (640, 480), (40 * n, 200, 200)).save(paths[-1], "JPEG")
    phone.find_element(By.ID, "photo-input").send_keys("\n".join(str(p) for p in paths))
    thumbs = "#photo-list .photo-thumb"
    wait(phone, lambda d: len(d.find_elements(By.CSS_SELECTOR, thumbs)) == 5)
    assert text_of(phone, "#photo-status") == "1 photo(s) non ajoutée(s) : 5 au plus."
    assert phone.find_element(By.ID, "photo-input").get_attribute("disabled") is not None
    for left in (4, 3, 2, 1):
        phone.find_element(By.CSS_SELECTOR, "[data-remove-photo]").click()
        wait(phone, lambda d, left=left: len(d.find_elements(By.CSS_SELECTOR, thumbs)) == left)
    assert phone.find_element(By.ID, "photo-input").get_attribute("disabled") is None
    phone.find_element(By.ID, "description").send_keys("Passage piéton effacé.")
    phone.find_element(By.ID, "step-next").click()
    wait(phone, lambda d: d.find_elements(By.ID, "send"))
    # Meanwhile the category is withdrawn from the catalogue.
    with app.app_context():
        db.session.execute(
            update(Category).where(Category.code == "road_marking").values(active=False)
        )
        db.session.commit()
        db.session.remove()
    phone.find_element(By.ID, "send").click()
    problem = wait(phone, lambda d: text_of(d, "#sending-result .problem"))
    assert problem.startswith("Catégorie inconnue ou désactivée : road_marking.")
    assert draft_of(phone) == {"sending": False, "report": None, "photos": 1}
    assert reports_in(app) == []

    # The resident picks another category: the photo and the description are still there.
    phone.find_element(By.ID, "sending-edit").click()
    wait(phone, lambda d: heading(d) == "Quel est le problème ?")
    assert not phone.find_elements(By.CSS_SELECTOR, '[data-category="road_marking"]')
    choose(phone, '[data-category="other"]')
    wait(phone, lambda d: heading(d) == "Précisez le problème")
    assert phone.find_element(By.ID, "description").get_attribute("value") == (
        "Passage piéton effacé."
    )
    assert len(phone.find_elements(By.CSS_SELECTOR, "#photo-list .photo-thumb")) == 1
    phone.find_element(By.ID, "step-next").click()
    choose(phone, "#send")
    wait(phone, lambda d: text_of(d, "#sent-reference"))
    [report] = reports_in(app)
    assert report.description == "Passage piéton effacé."
    photos = select(func.count()).select_from(Photo).where(Photo.report_id == report.id)
    wait(phone, lambda d: count(app, photos) == 1)
