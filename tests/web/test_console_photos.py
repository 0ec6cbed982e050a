"""A photo moderated in the console, in a real browser against the real service: a street
photo with a passer-by goes through the real pipeline (its detector finds the face) and is
shown public, blurred, with its boxes; the agent looks at the original (audited, and told
so), draws a box over a plate with the mouse and sees the public image change, adds one from
the keyboard form, takes back the face's box, hides and publishes the photo; axe-core finds
nothing serious. Screenshots before and after blurring go to ``screenshots``
(SIGNALE_SCREENSHOTS)."""

import io

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.audit.service import PHOTO_ORIGINAL_READ
from app.auth.tokens import mint_emulator_token
from app.extensions import db
from app.photos.models import Photo
from app.reports.photos import process_photo
from app.users.models import Role
from tests.conftest import PROJECT_ID, make_app
from tests.factories import make_report
from tests.photos.images import street_with_a_face
from tests.web.console import open_ticket, serious, sign_in, staff, text_of, wait
from tests.web.test_browser import axe_violations, policy_refusals

pytestmark = [pytest.mark.processes, pytest.mark.usefixtures("leave_the_console")]

SIZE = (1200, 800)
# Where the parked car's plate is, in fractions of the image.
PLATE = (0.62, 0.74, 0.80, 0.82)
# A window of the middle building, blurred by hand from the keyboard.
WINDOW = (0.36, 0.16, 0.42, 0.26)


def street_scene() -> tuple[bytes, tuple[float, float, float, float]]:
    """A street with a passer-by (scikit-image's astronaut) and a parked car with a French
    plate (AB-123-CD between the blue bands); returns the JPEG and where the face is."""
    image, face = street_with_a_face(SIZE, at=(180, 170))
    w, h = SIZE
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (int(0.5 * w), int(0.55 * h), int(0.92 * w), int(0.86 * h)), 30, fill=(30, 60, 120)
    )
    px0, py0, px1, py1 = (
        int(PLATE[0] * w),
        int(PLATE[1] * h),
        int(PLATE[2] * w),
        int(PLATE[3] * h),
    )
    draw.rectangle((px0, py0, px1, py1), fill=(250, 250, 250), outline=(0, 0, 0), width=2)
    draw.rectangle((px0, py0, px0 + 14, py1), fill=(0, 60, 170))
    draw.rectangle((px1 - 14, py0, px1, py1), fill=(0, 60, 170))
    draw.text((px0 + 24, py0 + 12), "AB-123-CD", fill=(0, 0, 0), font_size=40)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue(), face


SCENE, FACE_FOUND = street_scene()
# The face, shrunk a little: what must be hidden whatever margin the detector takes.
FACE = (FACE_FOUND[0] + 0.01, FACE_FOUND[1] + 0.02, FACE_FOUND[2] - 0.01, FACE_FOUND[3] - 0.02)


@pytest.fixture
def pipeline(database_url, media):
    """The application as the worker runs it, on the console's service's storage."""
    return make_app(database_url, MEDIA_ROOT=str(media))


def developed_photo(pipeline, report_id) -> int:
    """A photo of the scene through the real pipeline (upload kept, then processed)."""
    from app.photos import service as photos

    with pipeline.app_context():
        photo = Photo(report_id=report_id, upload_key=photos.store_upload(SCENE), uploaded_by="ana")
        db.session.add(photo)
        db.session.commit()
        assert process_photo(db.session, photo.id) == "ready"
        db.session.remove()
        return photo.id


def photo_row(pipeline, photo_id) -> Photo:
    with pipeline.app_context():
        photo = db.session.get(Photo, photo_id)
        db.session.expunge(photo)
        db.session.remove()
        return photo


def region_difference(media, key_a, key_b, box) -> float:
    a = Image.open(media / key_a).convert("RGB")
    b = Image.open(media / key_b).convert("RGB")
    area = (
        int(box[0] * a.width),
        int(box[1] * a.height),
        int(box[2] * a.width),
        int(box[3] * a.height),
    )
    return sum(ImageStat.Stat(ImageChops.difference(a.crop(area), b.crop(area))).mean) / 3


def shown_src(browser) -> str:
    return browser.find_element(By.CSS_SELECTOR, ".photo-moderation__image").get_attribute("src")


def image_loaded(browser) -> bool:
    return browser.execute_script(
        "const img = document.querySelector('.photo-moderation__image');"
        "return img && img.complete && img.naturalWidth > 0"
    )


def active_boxes(browser) -> int:
    return len(browser.find_elements(By.CSS_SELECTOR, ".photo-box--active"))


def photo_element(browser):
    """The moderated photo, scrolled whole into view (a screenshot of an element, and a
    pointer's offsets from its centre, are of its part in view)."""
    element = browser.find_element(By.CSS_SELECTOR, ".photo-moderation")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", element)
    return element


def removed_boxes(browser) -> int:
    return len(browser.find_elements(By.CSS_SELECTOR, ".photo-box--removed"))


def test_an_agent_sees_the_face_blurred_blurs_more_by_hand_checks_the_original_hides_and_publishes(
    app, client, console_url, media, browser, token_for, screenshots, pipeline
):
    agent = staff(token_for, Role.AGENT, "demo-agent-voirie")
    report_id = make_report(app, status="new", crew=None, reporter="ana")
    photo_id = developed_photo(pipeline, report_id)
    first = photo_row(pipeline, photo_id)
    assert first.original_key.startswith("originals/") and first.is_public
    faces = [b for b in first.boxes if b["kind"] == "face" and b["source"] == "auto"]
    assert faces, first.boxes  # the pipeline's detector found the passer-by
    assert region_difference(media, first.original_key, first.display_key, FACE) > 10
    found = len(first.boxes)

    sign_in(browser, console_url, agent)
    open_ticket(browser, report_id)
    wait(browser, lambda d: image_loaded(d))
    assert shown_src(browser).endswith(first.display_key)
    assert active_boxes(browser) == found
    assert "Publique" in text_of(browser, ".photo-moderation__state")
    assert "Visage" in text_of(browser, ".photo-box-list")
    assert "journal d'audit" in text_of(browser, ".photo-moderation")
    assert not serious(axe_violations(browser))

    # The original, on request, each view audited: the photo before blurring.
    photo_element(browser).find_element(By.CSS_SELECTOR, '[data-photo-action="original"]').click()
    wait(browser, lambda d: shown_src(d).startswith("blob:") and image_loaded(d))
    assert "Original non flouté" in text_of(browser, ".photo-moderation__variant")
    with app.app_context():
        reads = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == PHOTO_ORIGINAL_READ)
        ).all()
        db.session.remove()
    assert [(e.actor_uid, e.details["photo_id"]) for e in reads] == [(agent, photo_id)]
    photo_element(browser).screenshot(str(screenshots / "photo-before-blurring.png"))
    browser.find_element(By.CSS_SELECTOR, '[data-photo-action="original"]').click()
    wait(browser, lambda d: shown_src(d).endswith(first.display_key) and image_loaded(d))
    # The public version: the face found and blurred by the pipeline.
    photo_element(browser).screenshot(str(screenshots / "photo-after-blurring.png"))

    # Draw a box over the plate with the mouse: the public image changes.
    photo_element(browser)
    frame = browser.find_element(By.CSS_SELECTOR, ".photo-moderation__frame")
    width, height = frame.size["width"], frame.size["height"]
    grow = 0.01
    start = ((PLATE[0] - grow) * width - width / 2, (PLATE[1] - grow) * height - height / 2)
    ActionChains(browser).move_to_element_with_offset(
        frame, *map(int, start)
    ).click_and_hold().move_by_offset(
        int((PLATE[2] - PLATE[0] + 2 * grow) * width),
        int((PLATE[3] - PLATE[1] + 2 * grow) * height),
    ).release().perform()
    wait(
        browser,
        lambda d: active_boxes(d) == found + 1 and not shown_src(d).endswith(first.display_key),
    )
    wait(browser, lambda d: image_loaded(d))
    assert "modération enregistrée" in text_of(browser, ".photo-moderation__status")
    drawn = photo_row(pipeline, photo_id)
    assert shown_src(browser).endswith(drawn.display_key)
    assert drawn.boxes[-1]["source"] == "desk" and drawn.boxes[-1]["drawn_by"] == agent
    assert region_difference(media, first.original_key, drawn.display_key, PLATE) > 15
    # The file the old public image was is gone.
    assert not (media / first.display_key).exists()

    # A window, from the keyboard: the form's fields in %, sent with Enter.
    for side, value in zip(("left", "top", "right", "bottom"), WINDOW, strict=True):
        field = browser.find_element(By.ID, f"photo-{photo_id}-{side}")
        field.clear()
        field.send_keys(str(round(value * 100, 1)))
    field.send_keys(Keys.ENTER)
    wait(browser, lambda d: active_boxes(d) == found + 2)
    both = photo_row(pipeline, photo_id)
    assert region_difference(media, first.original_key, both.display_key, WINDOW) > 3
    wait(browser, lambda d: image_loaded(d) and shown_src(d).endswith(both.display_key))
    photo_element(browser).screenshot(str(screenshots / "photo-desk-boxes.png"))

    # Take back the face's box (its button, from the keyboard): it stays removed.
    face_box = faces[0]["id"]
    remove = browser.find_element(By.CSS_SELECTOR, f'[data-remove-box="{face_box}"]')
    remove.send_keys(Keys.ENTER)
    wait(browser, lambda d: removed_boxes(d) == 1 and active_boxes(d) == found + 1)
    back = photo_row(pipeline, photo_id)
    assert region_difference(media, first.original_key, back.display_key, FACE) < 5

    # Hide, then publish: the public report view follows.
    other = {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, 'someone-else')}"}
    assert client.get(f"/v1/reports/{report_id}", headers=other).get_json()["photos"]
    browser.find_element(By.CSS_SELECTOR, '[data-photo-action="hide"]').click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-photo-state="hidden"]'))
    assert client.get(f"/v1/reports/{report_id}", headers=other).get_json()["photos"] == []
    # Its public files are withdrawn: the desk is told so, the original is one click away.
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-photo-withdrawn]"))
    assert not (media / back.display_key).exists()
    assert not serious(axe_violations(browser))
    browser.find_element(By.CSS_SELECTOR, '[data-photo-action="publish"]').click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-photo-state="public"]'))
    assert len(client.get(f"/v1/reports/{report_id}", headers=other).get_json()["photos"]) == 1
    assert not serious(axe_violations(browser))
    assert policy_refusals(browser) == []
