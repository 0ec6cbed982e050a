"""Driving the console in the browser tests: waiting for what it draws, signing in through
the demo picker, reading the queue and the ticket, and the data the tests give it."""

import hashlib

from PIL import Image
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from app.extensions import db
from app.photos.models import Photo
from tests.web.test_browser import open_page

WAIT = 30  # seconds: a bound for a loaded machine, never a measure


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
    link = wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-report-id="{report_id}"]')
    )
    link[0].click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#ticket-status"))


def action_button(browser, name):
    return wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, f'.ticket-actions [data-action="{name}"]'),
    )[0]


def ticket_status(browser) -> str:
    return text_of(browser, "#ticket-status")


def stored_photo(app, media, report_id, kind, colour):
    """A photo as the pipeline leaves it: its display and thumbnail files in the storage."""
    digest = hashlib.sha256(f"{report_id}-{kind}".encode()).hexdigest()
    keys = {}
    for variant, size in (("display", (640, 480)), ("thumbnails", (160, 120))):
        key = f"{variant}/{digest[:2]}/{digest}.jpg"
        path = media / key
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, colour).save(path, "JPEG")
        keys[variant] = key
    with app.app_context():
        db.session.add(
            Photo(
                report_id=report_id,
                kind=kind,
                status="ready",
                display_key=keys["display"],
                thumbnail_key=keys["thumbnails"],
                width=640,
                height=480,
                uploaded_by="ana",
            )
        )
        db.session.commit()
        db.session.remove()


def staff(token_for, role, uid, **assignment):
    token_for(role, uid=uid)
    return uid
