"""A photo moderated in the console, in a real browser against the real service: the photo
from the real pipeline is shown public with its boxes; the agent draws a box over a face
with the mouse and sees the public image change, adds one from the keyboard form, looks at
the original (audited, and told so), removes a box, hides and publishes the photo; axe-core
finds nothing serious. Screenshots before and after blurring go to ``screenshots``
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
from tests.web.console import open_ticket, serious, sign_in, staff, text_of, wait
from tests.web.test_browser import axe_violations, policy_refusals

pytestmark = [pytest.mark.processes, pytest.mark.usefixtures("leave_the_console")]

SIZE = (1200, 800)
# Where the scene's passer-by's face and the car's plate are, in fractions of the image.
FACE = (0.18, 0.22, 0.30, 0.44)
PLATE = (0.62, 0.74, 0.80, 0.82)


def street_scene() -> bytes:
    """A street drawn for the test: sky, buildings, road, a passer-by whose face is
    recognisable enough to need hiding, and a parked car with a French plate."""
    w, h = SIZE
    image = Image.new("RGB", SIZE, (150, 190, 230))
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate(((200, 170, 140), (180, 150, 120), (210, 200, 180))):
        draw.rectangle((i * 400, 80, i * 400 + 380, 520), fill=colour)
        for row in range(4):
            for col in range(4):
                x, y = i * 400 + 30 + col * 90, 110 + row * 100
                draw.rectangle((x, y, x + 50, y + 60), fill=(90, 110, 140))
    draw.rectangle((0, 520, w, h), fill=(70, 70, 75))
    draw.line((0, 660, w, 660), fill=(240, 240, 240), width=6)
    # The passer-by: hair, face with eyes, nose and mouth, body.
    fx0, fy0, fx1, fy1 = (int(FACE[0] * w), int(FACE[1] * h), int(FACE[2] * w), int(FACE[3] * h))
    draw.rectangle((fx0 - 20, fy1, fx1 + 20, fy1 + 330), fill=(160, 40, 50))
    draw.ellipse((fx0 - 6, fy0 - 18, fx1 + 6, fy1 - 60), fill=(60, 40, 20))
    draw.ellipse((fx0, fy0, fx1, fy1), fill=(232, 190, 160))
    ex = (fx1 - fx0) // 4
    for cx in (fx0 + ex + 6, fx1 - ex - 6):
        draw.ellipse((cx - 12, fy0 + 55, cx + 12, fy0 + 75), fill=(255, 255, 255))
        draw.ellipse((cx - 6, fy0 + 59, cx + 6, fy0 + 71), fill=(40, 80, 140))
    draw.line(
        (fx0 + (fx1 - fx0) // 2, fy0 + 80, fx0 + (fx1 - fx0) // 2 - 8, fy0 + 115),
        fill=(150, 100, 80),
        width=4,
    )
    draw.arc((fx0 + 35, fy0 + 115, fx1 - 35, fy0 + 150), 20, 160, fill=(170, 60, 60), width=5)
    # The car and its plate (AB-123-CD, white with the blue bands).
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
    return out.getvalue()


@pytest.fixture
def pipeline(database_url, media):
    """The application as the worker runs it, on the console's service's storage."""
    return make_app(database_url, MEDIA_ROOT=str(media))


def developed_photo(pipeline, report_id) -> int:
    """A photo of the scene through the real pipeline (upload kept, then processed)."""
    from app.photos import service as photos

    with pipeline.app_context():
        photo = Photo(
            report_id=report_id, upload_key=photos.store_upload(street_scene()), uploaded_by="ana"
        )
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


def test_an_agent_blurs_a_face_by_hand_checks_the_original_hides_and_publishes_the_photo(
    app, client, console_url, media, browser, token_for, screenshots, pipeline
):
    agent = staff(token_for, Role.AGENT, "demo-agent-voirie")
    report_id = make_report(app, status="new", crew=None, reporter="ana")
    photo_id = developed_photo(pipeline, report_id)
    first = photo_row(pipeline, photo_id)
    assert first.original_key.startswith("originals/") and first.is_public

    sign_in(browser, console_url, agent)
    open_ticket(browser, report_id)
    wait(browser, lambda d: image_loaded(d))
    assert shown_src(browser).endswith(first.display_key)
    assert "Publique" in text_of(browser, ".photo-moderation__state")
    assert "journal d'audit" in text_of(browser, ".photo-moderation")
    photo_element(browser).screenshot(str(screenshots / "photo-before-blurring.png"))
    assert not serious(axe_violations(browser))

    # Draw a box over the face with the mouse: the public image changes.
    photo_element(browser)
    frame = browser.find_element(By.CSS_SELECTOR, ".photo-moderation__frame")
    width, height = frame.size["width"], frame.size["height"]
    grow = 0.02
    start = ((FACE[0] - grow) * width - width / 2, (FACE[1] - grow) * height - height / 2)
    ActionChains(browser).move_to_element_with_offset(
        frame, *map(int, start)
    ).click_and_hold().move_by_offset(
        int((FACE[2] - FACE[0] + 2 * grow) * width), int((FACE[3] - FACE[1] + 2 * grow) * height)
    ).release().perform()
    wait(browser, lambda d: active_boxes(d) == 1 and not shown_src(d).endswith(first.display_key))
    wait(browser, lambda d: image_loaded(d))
    assert "modération enregistrée" in text_of(browser, ".photo-moderation__status")
    blurred = photo_row(pipeline, photo_id)
    assert shown_src(browser).endswith(blurred.display_key)
    assert [b["source"] for b in blurred.boxes] == ["desk"]
    assert region_difference(media, first.original_key, blurred.display_key, FACE) > 15
    # The file the face was readable in is gone.
    assert not (media / first.display_key).exists()
    photo_element(browser).screenshot(str(screenshots / "photo-after-blurring.png"))

    # The plate, from the keyboard: the form's fields in %, sent with Enter.
    for side, value in zip(("left", "top", "right", "bottom"), PLATE, strict=True):
        field = browser.find_element(By.ID, f"photo-{photo_id}-{side}")
        field.clear()
        field.send_keys(str(round(value * 100, 1)))
    field.send_keys(Keys.ENTER)
    wait(browser, lambda d: active_boxes(d) == 2)
    both = photo_row(pipeline, photo_id)
    assert region_difference(media, first.original_key, both.display_key, PLATE) > 15
    wait(browser, lambda d: image_loaded(d) and shown_src(d).endswith(both.display_key))
    photo_element(browser).screenshot(str(screenshots / "photo-face-and-plate-blurred.png"))

    # The original: shown on request, each view audited.
    browser.find_element(By.CSS_SELECTOR, '[data-photo-action="original"]').click()
    wait(browser, lambda d: shown_src(d).startswith("blob:") and image_loaded(d))
    assert "Original non flouté" in text_of(browser, ".photo-moderation__variant")
    with app.app_context():
        reads = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == PHOTO_ORIGINAL_READ)
        ).all()
        db.session.remove()
    assert [(e.actor_uid, e.details["photo_id"]) for e in reads] == [(agent, photo_id)]
    photo_element(browser).screenshot(str(screenshots / "photo-original-audited.png"))
    browser.find_element(By.CSS_SELECTOR, '[data-photo-action="original"]').click()
    wait(browser, lambda d: shown_src(d).endswith(both.display_key))

    # Remove the face's box (its button, from the keyboard): the face shows again publicly.
    face_box = blurred.boxes[0]["id"]
    remove = browser.find_element(By.CSS_SELECTOR, f'[data-remove-box="{face_box}"]')
    remove.send_keys(Keys.ENTER)
    wait(browser, lambda d: active_boxes(d) == 1)
    assert len(browser.find_elements(By.CSS_SELECTOR, ".photo-box--removed")) == 1

    # Hide, then publish: the public report view follows.
    other = {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, 'someone-else')}"}
    assert client.get(f"/v1/reports/{report_id}", headers=other).get_json()["photos"]
    browser.find_element(By.CSS_SELECTOR, '[data-photo-action="hide"]').click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-photo-state="hidden"]'))
    assert client.get(f"/v1/reports/{report_id}", headers=other).get_json()["photos"] == []
    assert not serious(axe_violations(browser))
    browser.find_element(By.CSS_SELECTOR, '[data-photo-action="publish"]').click()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-photo-state="public"]'))
    assert len(client.get(f"/v1/reports/{report_id}", headers=other).get_json()["photos"]) == 1
    assert not serious(axe_violations(browser))
    assert policy_refusals(browser) == []
