"""Blurred photos: the pipeline keeps the unblurred original apart, the desk sets the boxes
(the public files written again, the old ones withdrawn), hides and publishes; the public
rule holds on every public channel; the original is for the report's own staff, each view
audited; retention and the sweep of older photos. Against the real database and storage,
through the API."""

import io
from datetime import timedelta

import pytest
from PIL import Image, ImageChops, ImageStat
from sqlalchemy import func, select, update

from app.audit.models import AuditEvent
from app.audit.service import PHOTO_ORIGINAL_READ
from app.extensions import db
from app.opendata.queries import export_rows
from app.photos import service as photos
from app.photos.models import Photo, PhotoFileDeletion
from app.privacy import retention
from app.reports import photos as report_photos
from app.reports.models import Report
from app.reports.photos import process_photo
from app.users.models import Role
from tests.factories import DIJON, database, make_report
from tests.photos.images import encoded, street_with_a_face

# A report's author, another resident, and the report's staff.
ANA = "ana"


def street(size=(800, 600)) -> bytes:
    """A JPEG full of detail (noise): any blurring of a region shows."""
    image = Image.merge("RGB", [Image.effect_noise(size, 90) for _ in range(3)])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def difference(a: Image.Image, b: Image.Image, box: tuple[float, float, float, float]) -> float:
    """Mean absolute difference of two images over a box (fractions of the size)."""
    w, h = a.size
    area = (int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h))
    return sum(ImageStat.Stat(ImageChops.difference(a.crop(area), b.crop(area))).mean) / 3


@pytest.fixture
def headers(auth, token_for):
    def make(role=Role.RESIDENT, uid=None):
        return auth(role, uid=uid) if uid else auth(role)

    return make


@pytest.fixture
def photo_of(app, client, auth):
    """``photo_of(report_id)``: a photo uploaded by the report's author through the API and
    processed by the pipeline (in process); returns its id."""

    def make(report_id: int, data: bytes | None = None, key: str = "p1") -> int:
        response = client.post(
            f"/v1/reports/{report_id}/photos",
            headers={**auth(Role.RESIDENT, uid=ANA), "Idempotency-Key": key},
            data={"file": (io.BytesIO(data or street()), "street.jpg")},
        )
        assert response.status_code == 202, response.get_data(as_text=True)
        photo_id = response.get_json()["id"]
        with app.app_context():
            assert process_photo(db.session, photo_id) == "ready"
            db.session.remove()
        return photo_id

    return make


def row(app, photo_id) -> Photo:
    with database(app) as session:
        photo = session.get(Photo, photo_id)
        session.expunge(photo)
        return photo


def stored(app, key) -> bytes:
    with app.app_context():
        return photos.storage().get(key)


def exists(app, key) -> bool:
    with app.app_context():
        return photos.storage().exists(key)


def url(report_id, photo_id, tail=""):
    return f"/v1/reports/{report_id}/photos/{photo_id}{tail}"


def read(client, headers, report_id, photo_id):
    response = client.get(url(report_id, photo_id), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json(), response.headers["ETag"]


def put_boxes(client, headers, report_id, photo_id, add, etag=None, keep=()):
    """Set the photo's boxes: ``keep`` these ids, ``add`` these new ones."""
    extra = {"If-Match": etag} if etag else {}
    return client.put(
        url(report_id, photo_id, "/boxes"),
        json={"keep": list(keep), "add": add},
        headers={**headers, **extra},
    )


def listed_urls(client, headers, report_id) -> list[str]:
    listed = client.get(f"/v1/reports?near={DIJON[0]},{DIJON[1]}&radius=200", headers=headers)
    (item,) = [i for i in listed.get_json()["items"] if i["id"] == report_id]
    return [photo["url"] for photo in item["photos"]]


FACE = {"left": 0.25, "top": 0.25, "right": 0.5, "bottom": 0.5}


def test_the_pipeline_keeps_the_unblurred_original_apart_and_never_serves_it_as_media(
    app, client, auth, photo_of
):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    photo = row(app, photo_id)
    assert photo.original_key.startswith("originals/") and photo.detected_at is not None
    assert photo.boxes == [] and photo.hidden is False and photo.version == 1
    assert photo.is_public
    # Nothing found (no face, no plate in noise): the public image is the original's pixels.
    public = client.get(f"/v1/media/{photo.display_key}")
    assert public.status_code == 200
    assert public.data == stored(app, photo.original_key)
    # The original's key is no media: /v1/media serves display and thumbnails only.
    assert client.get(f"/v1/media/{photo.original_key}").status_code == 404
    assert "original" not in str(client.get(f"/v1/reports/{report_id}", headers=auth()).json)


def test_a_desk_box_blurs_the_public_files_and_withdraws_the_old_ones(
    app, client, headers, photo_of
):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    agent = headers(Role.AGENT)
    view, etag = read(client, agent, report_id, photo_id)
    assert view["moderation"]["version"] == 1 and view["moderation"]["has_original"]
    other = headers(Role.RESIDENT, "someone-else")
    assert listed_urls(client, other, report_id) == [view["url"]]
    before = row(app, photo_id)
    original = decoded(stored(app, before.original_key))

    response = put_boxes(client, agent, report_id, photo_id, [FACE], etag)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["ETag"] == '"2"'
    moderated = response.get_json()
    (box,) = moderated["moderation"]["boxes"]
    assert (box["source"], box["kind"], box["active"]) == ("desk", "desk", True)
    assert box["drawn_by"] and box["drawn_at"]
    assert moderated["url"] != view["url"] and moderated["thumbnail_url"] != view["thumbnail_url"]

    after = row(app, photo_id)
    blurred = decoded(client.get(moderated["url"]).data)
    assert difference(blurred, original, (0.3, 0.3, 0.45, 0.45)) > 20  # the face is gone
    assert difference(blurred, original, (0.7, 0.7, 0.95, 0.95)) < 5  # the rest is not
    # The thumbnail is blurred as well.
    thumbnail = decoded(client.get(moderated["thumbnail_url"]).data)
    small = original.resize(thumbnail.size)
    assert difference(thumbnail, small, (0.3, 0.3, 0.45, 0.45)) > 15
    # The old public files are deleted (no other photo uses them): their URLs serve nothing.
    assert not exists(app, before.display_key) and not exists(app, before.thumbnail_key)
    assert client.get(view["url"]).status_code == 404
    assert exists(app, after.display_key) and exists(app, after.original_key)
    assert after.original_key == before.original_key  # the original never changes
    with database(app) as session:
        assert session.scalar(select(PhotoFileDeletion.key)) is None
    # The public lists (a cached page, read before) show the new file.
    assert listed_urls(client, other, report_id) == [moderated["url"]]


def test_a_hidden_photo_takes_boxes_without_public_files_and_is_published_blurred(
    app, client, headers, photo_of
):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    agent = headers(Role.AGENT)
    original = decoded(stored(app, row(app, photo_id).original_key))
    hidden = client.post(url(report_id, photo_id, "/hide"), headers={**agent, "If-Match": '"1"'})
    assert hidden.status_code == 200
    boxed = put_boxes(client, agent, report_id, photo_id, [FACE], hidden.headers["ETag"])
    assert boxed.status_code == 200, boxed.get_data(as_text=True)
    # Still hidden: the box is kept, no public file is written.
    assert boxed.get_json()["url"] is None and row(app, photo_id).display_key is None
    assert [b["active"] for b in boxed.get_json()["moderation"]["boxes"]] == [True]
    published = client.post(
        url(report_id, photo_id, "/publish"), headers={**agent, "If-Match": boxed.headers["ETag"]}
    )
    assert published.status_code == 200
    public = decoded(client.get(published.get_json()["url"]).data)
    assert difference(public, original, (0.3, 0.3, 0.45, 0.45)) > 20  # blurred as set
    assert difference(public, original, (0.7, 0.7, 0.95, 0.95)) < 5


def test_a_removed_box_stays_removed_when_the_photo_is_rendered_again(
    app, client, headers, photo_of
):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    agent = headers(Role.AGENT)
    _, etag = read(client, agent, report_id, photo_id)
    first = put_boxes(client, agent, report_id, photo_id, [FACE], etag)
    (box,) = first.get_json()["moderation"]["boxes"]
    # Remove it: the public image is the original again.
    removed = put_boxes(client, agent, report_id, photo_id, [], first.headers["ETag"], keep=[])
    assert removed.status_code == 200
    (gone,) = removed.get_json()["moderation"]["boxes"]
    assert (gone["id"], gone["active"]) == (box["id"], False) and gone["removed_by"]
    original = decoded(stored(app, row(app, photo_id).original_key))
    public = decoded(client.get(removed.get_json()["url"]).data)
    assert difference(public, original, (0.3, 0.3, 0.45, 0.45)) < 5
    # Another box drawn: the removed one is not blurred again.
    other = {"left": 0.6, "top": 0.6, "right": 0.9, "bottom": 0.9}
    again = put_boxes(client, agent, report_id, photo_id, [other], removed.headers["ETag"])
    boxes = again.get_json()["moderation"]["boxes"]
    assert [(b["id"], b["active"]) for b in boxes] == [(box["id"], False), (box["id"] + 1, True)]
    public = decoded(client.get(again.get_json()["url"]).data)
    assert difference(public, original, (0.3, 0.3, 0.45, 0.45)) < 5
    assert difference(public, original, (0.65, 0.65, 0.85, 0.85)) > 20


def test_a_retried_request_changes_nothing_and_answers_the_photo(app, client, headers, photo_of):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    agent = headers(Role.AGENT)
    _, etag = read(client, agent, report_id, photo_id)
    first = put_boxes(client, agent, report_id, photo_id, [FACE], etag)
    # The retry carries the ETag the first request had: the box is drawn once.
    again = put_boxes(client, agent, report_id, photo_id, [FACE], etag)
    assert again.status_code == 200
    assert again.get_json() == first.get_json() and again.headers["ETag"] == '"2"'
    hidden = client.post(url(report_id, photo_id, "/hide"), headers={**agent, "If-Match": '"2"'})
    assert hidden.status_code == 200 and hidden.headers["ETag"] == '"3"'
    twice = client.post(url(report_id, photo_id, "/hide"), headers={**agent, "If-Match": '"2"'})
    assert twice.status_code == 200 and twice.headers["ETag"] == '"3"'


def test_moderation_needs_the_current_etag(app, client, headers, photo_of):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    agent = headers(Role.AGENT)
    missing = put_boxes(client, agent, report_id, photo_id, [FACE])
    assert (missing.status_code, missing.get_json()["code"]) == (428, "photo_if_match_required")
    assert missing.headers["Content-Type"] == "application/problem+json"
    stale = put_boxes(client, agent, report_id, photo_id, [FACE], '"7"')
    assert (stale.status_code, stale.get_json()["code"]) == (412, "photo_changed")
    assert stale.headers["ETag"] == '"1"' and stale.get_json()["current_version"] == 1
    hide = client.post(url(report_id, photo_id, "/hide"), headers=agent)
    assert hide.status_code == 428
    assert row(app, photo_id).version == 1 and row(app, photo_id).hidden is False


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"keep": [], "add": [{**FACE, "left": -0.1}]}, "box_outside_image"),
        ({"keep": [], "add": [{**FACE, "right": 1.2}]}, "box_outside_image"),
        ({"keep": [], "add": [{**FACE, "right": FACE["left"]}]}, "box_empty"),
        ({"keep": [], "add": [{**FACE, "bottom": 0.1}]}, "box_empty"),
        ({"keep": [42], "add": []}, "unknown_box"),
        ({"keep": [], "add": [{**FACE, "left": i / 400} for i in range(51)]}, "too_many_boxes"),
        ({"keep": [], "add": [{"left": 0.1, "top": 0.2}]}, "validation_failed"),
        ({"add": [FACE]}, "validation_failed"),
        ({"keep": [], "add": [{**FACE, "left": "nan"}]}, "validation_failed"),
        ({"keep": [], "add": [FACE] * 101}, "validation_failed"),
    ],
)
def test_a_wrong_box_is_a_clear_422_and_changes_nothing(app, client, headers, photo_of, body, code):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    agent = {**headers(Role.AGENT), "If-Match": '"1"'}
    path = url(report_id, photo_id, "/boxes")
    response = client.put(path, json=body, headers=agent)
    assert response.status_code == 422, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["code"] == code and problem["detail"]
    if code in ("box_outside_image", "box_empty"):
        assert problem["errors"]["json"]["add"]["0"]
    english = client.put(path, json=body, headers={**agent, "Accept-Language": "en"})
    assert english.get_json()["detail"] != problem["detail"]
    assert row(app, photo_id).version == 1 and row(app, photo_id).boxes == []


def test_a_photo_not_ready_or_without_original_cannot_take_boxes(app, client, auth, headers):
    report_id = make_report(app, reporter=ANA)
    response = client.post(
        f"/v1/reports/{report_id}/photos",
        headers={**auth(Role.RESIDENT, uid=ANA), "Idempotency-Key": "k"},
        data={"file": (io.BytesIO(street()), "street.jpg")},
    )
    waiting = response.get_json()["id"]
    agent = headers(Role.AGENT)
    refused = put_boxes(client, agent, report_id, waiting, [FACE], '"1"')
    assert (refused.status_code, refused.get_json()["code"]) == (409, "photo_not_ready")
    assert client.post(url(report_id, waiting, "/hide"), headers=agent).status_code == 409
    # A photo whose original retention deleted keeps its blur; hiding it still works.
    with database(app) as session:
        session.execute(update(Photo).where(Photo.id == waiting).values(status="ready"))
        session.commit()
    gone = put_boxes(client, agent, report_id, waiting, [FACE], '"1"')
    assert (gone.status_code, gone.get_json()["code"]) == (409, "photo_no_original")
    assert "original" in gone.get_json()["detail"]
    other = put_boxes(client, agent, report_id + 1000, waiting, [FACE], '"1"')
    assert other.status_code == 404


def test_only_the_reports_desk_moderates(app, client, headers, photo_of, token_for):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    elsewhere = make_report(app, reporter=ANA, desk="proprete")
    elsewhere_photo = photo_of(elsewhere, key="p2")
    refusals = {
        "crew": (headers(Role.CREW), report_id, photo_id, "forbidden_role"),
        "resident (the author)": (
            headers(Role.RESIDENT, ANA),
            report_id,
            photo_id,
            "forbidden_role",
        ),
        "agent of another desk": (headers(Role.AGENT), elsewhere, elsewhere_photo, "not_your_desk"),
    }
    for who, (caller, report, photo, code) in refusals.items():
        for response in (
            put_boxes(client, caller, report, photo, [FACE], '"1"'),
            client.post(url(report, photo, "/hide"), headers={**caller, "If-Match": '"1"'}),
            client.post(url(report, photo, "/publish"), headers={**caller, "If-Match": '"1"'}),
        ):
            assert response.status_code == 403, who
            assert response.get_json()["code"] == code, who
            assert response.headers["Content-Type"] == "application/problem+json"
    assert row(app, photo_id).version == 1 and row(app, elsewhere_photo).version == 1
    # Supervisors and admins moderate every desk's photos.
    supervisor = headers(Role.SUPERVISOR)
    ok = client.post(url(report_id, photo_id, "/hide"), headers={**supervisor, "If-Match": '"1"'})
    assert ok.status_code == 200
    admin = headers(Role.ADMIN)
    ok = client.post(url(elsewhere, elsewhere_photo, "/hide"), headers={**admin, "If-Match": '"1"'})
    assert ok.status_code == 200


def public_channels(app, client, auth, report_id) -> dict[str, bool]:
    """Whether the report's photo shows on each public channel."""
    other = auth(Role.RESIDENT, uid="someone-else")
    with database(app) as session:
        reference = session.get(Report, report_id).reference
        exported = {
            r["reference"]: r["photo_url"]
            for r in session.execute(export_rows(grid_m=50, media_base="M/")).mappings()
        }
    listed = client.get(f"/v1/reports?near={DIJON[0]},{DIJON[1]}&radius=200", headers=other)
    (item,) = [i for i in listed.get_json()["items"] if i["id"] == report_id]
    (open311,) = client.get(f"/open311/v2/requests/{reference}.json").get_json()
    return {
        "report view": bool(client.get(f"/v1/reports/{report_id}", headers=other).json["photos"]),
        "public list": bool(item["photos"]),
        "open311 media_url": bool(open311.get("media_url")),
        "open data photo_url": exported[reference] is not None,
    }


# Committed for real: Open311's cached documents are keyed on the time of the last change,
# which one test transaction would freeze.
@pytest.mark.processes
def test_a_hidden_photo_leaves_every_public_channel_and_comes_back_when_published(
    app, client, auth, headers, photo_of
):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    assert set(public_channels(app, client, auth, report_id).values()) == {True}
    agent = headers(Role.AGENT)
    before = row(app, photo_id)
    public_files = (before.display_key, before.thumbnail_key)
    assert client.get(f"/v1/media/{public_files[0]}").status_code == 200
    hidden = client.post(url(report_id, photo_id, "/hide"), headers={**agent, "If-Match": '"1"'})
    assert hidden.status_code == 200
    assert hidden.get_json()["public"] is False and hidden.get_json()["moderation"]["hidden"]
    # Its public files are withdrawn: an address someone already had stops answering.
    assert hidden.get_json()["url"] is None and hidden.get_json()["thumbnail_url"] is None
    assert not any(exists(app, key) for key in public_files)
    assert client.get(f"/v1/media/{public_files[0]}").status_code == 404
    assert row(app, photo_id).original_key is not None
    assert public_channels(app, client, auth, report_id) == dict.fromkeys(
        ("report view", "public list", "open311 media_url", "open data photo_url"), False
    )
    other = auth(Role.RESIDENT, uid="someone-else")
    assert client.get(url(report_id, photo_id), headers=other).status_code == 404
    # Its author still sees that it is there and not public; the desk sees it too.
    mine, _ = read(client, headers(Role.RESIDENT, ANA), report_id, photo_id)
    assert mine["public"] is False and "moderation" not in mine and mine["url"] is None
    desk = client.get(f"/v1/reports/{report_id}", headers=agent).get_json()["photos"]
    assert [p["moderation"]["hidden"] for p in desk] == [True]
    # Published again: everywhere again.
    published = client.post(
        url(report_id, photo_id, "/publish"), headers={**agent, "If-Match": '"2"'}
    )
    assert published.status_code == 200 and published.get_json()["public"] is True
    # Its public files are written again from the original.
    again = row(app, photo_id)
    assert again.display_key and again.thumbnail_key
    assert published.get_json()["url"] == f"/v1/media/{again.display_key}"
    assert client.get(published.get_json()["url"]).status_code == 200
    assert set(public_channels(app, client, auth, report_id).values()) == {True}


def audit_rows(app) -> list[AuditEvent]:
    with database(app) as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == PHOTO_ORIGINAL_READ)
                .order_by(AuditEvent.id)
            )
        )


def test_the_original_is_for_the_reports_staff_and_every_view_is_audited(
    app, client, headers, photo_of
):
    report_id = make_report(app, reporter=ANA, crew="voirie-nord")
    photo_id = photo_of(report_id)
    agent = headers(Role.AGENT)
    _, etag = read(client, agent, report_id, photo_id)
    put_boxes(client, agent, report_id, photo_id, [FACE], etag)
    original = stored(app, row(app, photo_id).original_key)
    seen = []
    for who, caller in (
        ("agent-dan", headers(Role.AGENT, "agent-dan")),
        ("crew-holding", headers(Role.CREW, "crew-holding")),
        ("agent-dan", headers(Role.AGENT, "agent-dan")),
    ):
        response = client.get(
            url(report_id, photo_id, "/original"), headers={**caller, "X-Request-ID": f"r-{who}"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.data == original and response.content_type == "image/jpeg"
        assert response.headers["Cache-Control"] == "private, no-store"
        seen.append(who)
    rows = audit_rows(app)
    assert [e.actor_uid for e in rows] == seen
    assert {(e.subject_type, e.subject_id) for e in rows} == {("report", str(report_id))}
    assert [e.request_id for e in rows] == [f"r-{who}" for who in seen]
    assert {e.details["photo_id"] for e in rows} == {photo_id}
    # The personal-data read log lists them.
    log = client.get("/v1/audit/personal-data-reads", headers=headers(Role.SUPERVISOR))
    assert log.status_code == 200, log.get_data(as_text=True)
    actions = [i["action"] for i in log.get_json()["items"]]
    assert actions.count(PHOTO_ORIGINAL_READ) == 3


def test_nobody_else_sees_the_original_and_refusals_record_nothing(app, client, headers, photo_of):
    held_by_nobody = make_report(app, reporter=ANA, crew=None)
    photo_id = photo_of(held_by_nobody)
    elsewhere = make_report(app, reporter=ANA, desk="proprete", crew=None)
    elsewhere_photo = photo_of(elsewhere, key="p2")
    for who, caller, report, photo, code in (
        ("the author", headers(Role.RESIDENT, ANA), held_by_nobody, photo_id, "forbidden_role"),
        ("a crew not holding it", headers(Role.CREW), held_by_nobody, photo_id, None),
        ("an agent of another desk", headers(Role.AGENT), elsewhere, elsewhere_photo, None),
    ):
        response = client.get(url(report, photo, "/original"), headers=caller)
        assert response.status_code == 403, who
        assert response.headers["Content-Type"] == "application/problem+json", who
        assert response.get_json()["code"] == (code or "photo_original_not_allowed"), who
    assert audit_rows(app) == []


def close(app, report_id, days_ago: float):
    """The report closed ``days_ago`` days ago (an imported report: no history)."""
    with database(app) as session:
        session.execute(
            update(Report)
            .where(Report.id == report_id)
            .values(status="closed", created_at=func.now() - timedelta(days=days_ago))
        )
        session.commit()


def test_retention_deletes_the_originals_a_month_after_closure_files_included(
    app, client, photo_of, now
):
    old = make_report(app, reporter=ANA)
    recent = make_report(app, reporter=ANA)
    open_one = make_report(app, reporter=ANA)
    photo_ids = {
        name: photo_of(rid, key=name)
        for name, rid in (("old", old), ("recent", recent), ("open", open_one))
    }
    close(app, old, 31)
    close(app, recent, 29)
    keys = {name: row(app, pid).original_key for name, pid in photo_ids.items()}
    with database(app) as session:
        rule = retention.RULES["unblurred_photos"]
        assert retention.count_due(session, rule, now - rule.delay(app.config)) == 1
        done = retention.run(session, app.config, now=now, only=("unblurred_photos",))
        assert done.counts == {"unblurred_photos": 1}
    assert row(app, photo_ids["old"]).original_key is None
    assert not exists(app, keys["old"])
    assert exists(app, keys["recent"]) and exists(app, keys["open"])
    # The public, blurred files stay; the original's endpoint says it is gone.
    kept = row(app, photo_ids["old"])
    assert exists(app, kept.display_key) and kept.is_public
    with database(app) as session:
        assert session.scalar(select(PhotoFileDeletion.key)) is None
        again = retention.run(session, app.config, now=now, only=("unblurred_photos",))
        assert again.counts == {"unblurred_photos": 0}


def test_a_file_delete_lost_after_its_commit_is_done_by_the_next_run(app):
    with database(app) as session:
        store = photos.storage()
        store.put("originals/lost.jpg", b"unblurred")
        store.put("display/ab/shared.jpg", b"still used")
        report_id = make_report(session)
        session.add(
            Photo(
                report_id=report_id,
                status="ready",
                display_key="display/ab/shared.jpg",
                uploaded_by="x",
            )
        )
        # Queued and committed, then the process died before deleting.
        photos.withdraw_files(session, ["originals/lost.jpg", "display/ab/shared.jpg"])
        session.commit()
        assert photos.delete_withdrawn_files(session) == 1
        assert not store.exists("originals/lost.jpg")
        assert store.exists("display/ab/shared.jpg")  # another photo names it: kept
        assert session.scalar(select(PhotoFileDeletion.key)) is None
        assert photos.delete_withdrawn_files(session) == 0


def test_photos_processed_before_blurring_are_brought_in_line_once(app, client, photo_of):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    legacy = row(app, photo_id)
    # As the migration leaves a photo processed before blurring: no original, never detected.
    with database(app) as session:
        photos.storage().delete(legacy.original_key)
        session.execute(
            update(Photo)
            .where(Photo.id == photo_id)
            .values(original_key=None, detected_at=None, boxes=[])
        )
        session.commit()
        assert report_photos.bring_in_line(session) == 1
        assert report_photos.bring_in_line(session) == 0
    now_in_line = row(app, photo_id)
    assert now_in_line.detected_at is not None and now_in_line.original_key
    assert now_in_line.original_key.startswith("originals/")
    # Its current display image became the original (it was never blurred).
    assert stored(app, now_in_line.original_key) == stored(app, legacy.display_key)
    assert now_in_line.display_key == legacy.display_key  # nothing found: same public file
    assert now_in_line.version == 2


def test_the_cli_brings_older_photos_in_line(app, photo_of):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    with database(app) as session:
        session.execute(
            update(Photo).where(Photo.id == photo_id).values(original_key=None, detected_at=None)
        )
        session.commit()
    result = app.test_cli_runner().invoke(args=["photos", "bring-in-line"])
    assert result.exit_code == 0, result.output
    assert "1 photo(s) brought in line" in result.output
    assert row(app, photo_id).original_key is not None


def test_an_original_the_storage_lost_is_a_clear_answer_not_an_error(
    app, client, headers, photo_of
):
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id)
    with app.app_context():
        photos.storage().delete(row(app, photo_id).original_key)
    agent = headers(Role.AGENT)
    response = put_boxes(client, agent, report_id, photo_id, [FACE], '"1"')
    assert (response.status_code, response.get_json()["code"]) == (409, "photo_no_original")
    assert row(app, photo_id).version == 1 and row(app, photo_id).boxes == []
    seen = client.get(url(report_id, photo_id, "/original"), headers=agent)
    assert (seen.status_code, seen.get_json()["code"]) == (404, "photo_no_original")
    assert audit_rows(app) == []


def overlap(a, b) -> float:
    """Intersection over union of two boxes (left, top, right, bottom)."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def test_the_pipeline_blurs_the_face_detection_finds_and_the_desk_can_take_it_back(
    app, client, headers, photo_of
):
    scene, face = street_with_a_face()
    report_id = make_report(app, reporter=ANA)
    photo_id = photo_of(report_id, encoded(scene, "JPEG", quality=92))
    photo = row(app, photo_id)
    found = [b for b in photo.boxes if b["source"] == "auto" and b["kind"] == "face"]
    assert found, photo.boxes
    sides = ("left", "top", "right", "bottom")
    best = max(found, key=lambda b: overlap(face, tuple(b[s] for s in sides)))
    assert overlap(face, tuple(best[s] for s in sides)) > 0.3
    assert best["removed_at"] is None and best["drawn_by"] is None and 0 < best["score"] <= 1
    # Public files blurred where the face is, the original kept as it was.
    original = decoded(stored(app, photo.original_key))
    public = decoded(stored(app, photo.display_key))
    inner = (face[0] + 0.02, face[1] + 0.03, face[2] - 0.02, face[3] - 0.03)
    assert difference(public, original, inner) > 10
    assert difference(public, original, (0.8, 0.75, 0.98, 0.98)) < 3
    # The desk takes the box back (a false alarm, say): it stays removed.
    agent = headers(Role.AGENT)
    keep = [b["id"] for b in photo.boxes if b["id"] != best["id"]]
    removed = put_boxes(client, agent, report_id, photo_id, [], '"1"', keep=keep)
    assert removed.status_code == 200, removed.get_data(as_text=True)
    (gone,) = [b for b in removed.get_json()["moderation"]["boxes"] if b["id"] == best["id"]]
    assert gone["active"] is False and gone["source"] == "auto"
    unblurred = decoded(client.get(removed.get_json()["url"]).data)
    assert difference(unblurred, original, inner) < 5
