"""Photo upload over HTTP, processing by the real worker, and the outage story."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from rq import Queue

from app.extensions import db
from app.jobs import worker_queues
from app.photos import processing
from app.reports.photos import process_photo
from app.users.models import Role
from tests.conftest import make_app, redis_test_url
from tests.photos.images import jpeg
from tests.photos.test_processing import gps_exif

ROOT = Path(__file__).resolve().parents[2]
REPORT = {
    "category": "pothole",
    "location": {"lon": 5.0415, "lat": 47.322},
    "answers": {"size": "small"},
}


@pytest.fixture
def reporter(token_for):
    return {"Authorization": f"Bearer {token_for(Role.RESIDENT, uid='pat')}"}


def new_report(client, headers) -> int:
    response = client.post("/v1/reports", json=REPORT, headers={**headers, "Idempotency-Key": "r"})
    assert response.status_code == 201
    return response.get_json()["id"]


def upload(client, headers, report_id, data=None, key="p1", name="photo.jpg"):
    return client.post(
        f"/v1/reports/{report_id}/photos",
        headers={**headers, "Idempotency-Key": key},
        data={"file": (io.BytesIO(jpeg() if data is None else data), name)},
    )


def process(app, photo_id) -> str:
    with app.app_context():
        status = process_photo(db.session, photo_id)
        db.session.remove()
        return status


def run_worker(database_url):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_test_url(),
        "LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-m", "worker", "--burst"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.processes
def test_an_upload_is_processing_then_ready_and_served_without_metadata(
    app, database_url, client, reporter, auth
):
    report_id = new_report(client, reporter)
    uploads = Path(app.config["MEDIA_ROOT"]) / "uploads"
    before = set(uploads.glob("*")) if uploads.exists() else set()
    response = upload(client, reporter, report_id, jpeg(size=(1200, 900), exif=gps_exif()))
    assert len(set(uploads.glob("*")) - before) == 1  # the upload is kept for the worker
    assert response.status_code == 202
    photo = response.get_json()
    assert photo["status"] == "processing" and photo["url"] is None
    assert response.headers["Location"].endswith(f"/photos/{photo['id']}")
    public = client.get(f"/v1/reports/{report_id}", headers=auth()).get_json()
    assert public["photos"] == []  # visible before processing ends, without the photo

    run_worker(database_url)  # the job queued by the upload

    public = client.get(f"/v1/reports/{report_id}", headers=auth()).get_json()
    [shown] = public["photos"]
    assert shown["status"] == "ready" and (shown["width"], shown["height"]) == (1200, 900)
    image = client.get(shown["url"])
    assert image.status_code == 200 and image.content_type == "image/jpeg"
    assert "immutable" in image.headers["Cache-Control"]
    stored = Image.open(io.BytesIO(image.data))
    assert dict(stored.getexif()) == {}
    assert client.get(shown["thumbnail_url"]).status_code == 200
    # The upload itself is gone once processed.
    assert set(uploads.glob("*")) - before == set()


def test_the_reporter_sees_a_rejected_photo_and_why_others_do_not(app, client, reporter, auth):
    report_id = new_report(client, reporter)
    photo_id = upload(client, reporter, report_id, b"GIF89a not really").get_json()["id"]
    assert process(app, photo_id) == "rejected"
    mine = client.get(f"/v1/reports/{report_id}/photos/{photo_id}", headers=reporter).get_json()
    assert (mine["status"], mine["reject_reason"]) == ("rejected", "unsupported_format")
    assert (
        client.get(f"/v1/reports/{report_id}/photos/{photo_id}", headers=auth()).status_code == 404
    )
    assert client.get(f"/v1/reports/{report_id}", headers=auth()).get_json()["photos"] == []


def test_a_retried_upload_is_one_photo(app, client, reporter):
    report_id = new_report(client, reporter)
    first = upload(client, reporter, report_id)
    again = upload(client, reporter, report_id)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    other = upload(client, reporter, report_id, jpeg(colour=(0, 0, 0)))  # same key, new file
    assert (other.status_code, other.get_json()["code"]) == (422, "idempotency_key_reused")


def test_an_upload_queues_its_processing_when_it_commits_and_a_replay_queues_nothing(
    client, reporter, redis_conn
):
    queue = Queue(worker_queues()[0], connection=redis_conn)
    queue.empty()
    report_id = new_report(client, reporter)
    photo_id = upload(client, reporter, report_id).get_json()["id"]
    job = queue.fetch_job(f"photo-{photo_id}")
    assert (job.func_name, job.args) == ("worker.jobs.process_photo", (photo_id,))
    assert (job.retries_left, job.retry_intervals) == (5, [10, 30, 60, 300, 900])
    job.delete()
    assert upload(client, reporter, report_id).headers["Idempotent-Replayed"] == "true"
    assert queue.fetch_job(f"photo-{photo_id}") is None
    assert upload(client, reporter, 987654, key="gone").status_code == 404  # nothing queued
    assert queue.count == 0


def test_five_photos_at_most_and_only_on_ones_own_report(client, reporter, auth):
    report_id = new_report(client, reporter)
    for i in range(5):
        assert upload(client, reporter, report_id, key=f"k{i}").status_code == 202
    sixth = upload(client, reporter, report_id, key="k6")
    assert (sixth.status_code, sixth.get_json()["code"]) == (409, "too_many_photos")
    stranger = upload(client, auth(), report_id, key="s")
    assert (stranger.status_code, stranger.get_json()["code"]) == (403, "not_your_report")
    # The desk's staff may add to the report, within the same limit; another desk's agent
    # may not (the report went to the fallback desk; the agent works voirie).
    assert upload(client, auth(Role.SUPERVISOR), report_id, key="a").status_code == 409
    other_desk = upload(client, auth(Role.AGENT), report_id, key="b")
    assert (other_desk.status_code, other_desk.get_json()["code"]) == (403, "photo_not_allowed")


def upload_kind(client, headers, report_id, kind, key):
    return client.post(
        f"/v1/reports/{report_id}/photos",
        headers={**headers, "Idempotency-Key": key},
        query_string={"kind": kind},
        data={"file": (io.BytesIO(jpeg()), "photo.jpg")},
    )


def test_after_photos_are_the_crews_and_reopen_photos_the_residents(
    app, client, reporter, auth, token_for
):
    from sqlalchemy import select, update

    from app.organisation.models import Crew
    from app.reports.models import Report
    from app.reports.service import add_support

    report_id = new_report(client, reporter)
    crew = auth(Role.CREW)  # voirie-nord
    # Not the crew's ticket yet: no "after" photo, and a crew never adds the report's own.
    refused = upload_kind(client, crew, report_id, "after", "c1")
    assert (refused.status_code, refused.get_json()["code"]) == (403, "photo_not_allowed")
    with app.app_context():
        crew_id = db.session.scalar(select(Crew.id).where(Crew.code == "voirie-nord"))
        db.session.execute(
            update(Report).where(Report.id == report_id).values(crew_id=crew_id, status="assigned")
        )
        add_support(db.session, report_id, "supporter")
        db.session.commit()
        db.session.remove()
    assert upload_kind(client, crew, report_id, "report", "c2").status_code == 403
    after = upload_kind(client, crew, report_id, "after", "c3")
    assert after.status_code == 202 and after.get_json()["kind"] == "after"
    # Reopening photos: the author or a supporter, nobody else.
    assert upload_kind(client, reporter, report_id, "reopen", "r1").status_code == 202
    supporter = {"Authorization": f"Bearer {token_for(Role.RESIDENT, uid='supporter')}"}
    assert upload_kind(client, supporter, report_id, "reopen", "s1").status_code == 202
    assert upload_kind(client, auth(), report_id, "reopen", "x1").status_code == 403
    assert upload_kind(client, reporter, report_id, "after", "r2").status_code == 403
    # Five of each kind: the author's own five do not stop the crew's.
    for i in range(5):
        assert upload_kind(client, reporter, report_id, "report", f"own{i}").status_code == 202
    assert upload_kind(client, reporter, report_id, "report", "own6").status_code == 409
    assert upload_kind(client, crew, report_id, "after", "c4").status_code == 202
    kinds = sorted(
        p["kind"]
        for p in client.get(f"/v1/reports/{report_id}", headers=reporter).get_json()["photos"]
    )
    assert kinds == ["after"] * 2 + ["reopen"] * 2 + ["report"] * 5


def test_bad_uploads_get_clear_errors(client, reporter):
    report_id = new_report(client, reporter)
    empty = upload(client, reporter, report_id, b"", key="e")
    assert (empty.status_code, empty.get_json()["code"]) == (422, "empty_upload")
    huge = upload(client, reporter, report_id, b"\0" * (processing.MAX_BYTES + 100 * 1024), key="h")
    assert (huge.status_code, huge.get_json()["code"]) == (413, "payload_too_large")
    missing = client.post(
        f"/v1/reports/{report_id}/photos", headers={**reporter, "Idempotency-Key": "m"}, data={}
    )
    assert missing.status_code == 422
    assert "file" in missing.get_json()["errors"]["files"]
    assert upload(client, reporter, 987654, key="x").status_code == 404


@pytest.mark.processes
def test_with_redis_down_a_report_and_its_photo_are_kept_and_processed_later(
    app, database_url, token_for, redis_conn
):
    """Redis is unreachable while the resident reports; nothing is lost once it is back."""
    # Photos of earlier tests had the same ids, and their jobs may wait in the run's queue:
    # the sweep would take this photo's job for one of them.
    Queue(worker_queues()[0], connection=redis_conn).empty()
    down = make_app(database_url, REDIS_URL="redis://127.0.0.1:1/0")
    headers = {"Authorization": f"Bearer {token_for(Role.RESIDENT, uid='offline')}"}
    client = down.test_client()
    report_id = new_report(client, headers)
    photo_id = upload(client, headers, report_id).get_json()["id"]

    with app.app_context():  # Redis is back: the periodic sweep finds the photo
        from worker.jobs import sweep_photos

        assert sweep_photos(older_than_seconds=0) == 1
        db.session.remove()
    run_worker(database_url)
    shown = (
        app.test_client()
        .get(f"/v1/reports/{report_id}/photos/{photo_id}", headers=headers)
        .get_json()
    )
    assert shown["status"] == "ready"


@pytest.mark.processes
def test_the_sweep_leaves_a_photo_whose_job_waits_and_queues_one_whose_worker_died(
    app, client, reporter, redis_conn
):
    """A backlog older than the sweep's delay (a storm): the photos' jobs still wait in the
    queue, and the sweep adds no second run of each at every pass. A job started by a
    worker that died holding it is queued again."""
    from rq.job import Job, JobStatus

    from worker.jobs import sweep_photos

    queue = Queue(worker_queues()[0], connection=redis_conn)
    queue.empty()
    report_id = new_report(client, reporter)
    waiting = upload(client, reporter, report_id, key="w").get_json()["id"]
    held = upload(client, reporter, report_id, key="h").get_json()["id"]
    assert sorted(queue.job_ids) == sorted([f"photo-{waiting}", f"photo-{held}"])
    # A worker took the second one and was SIGKILLed: started, out of the queue.
    job = Job.fetch(f"photo-{held}", connection=redis_conn)
    queue.remove(job)
    job.set_status(JobStatus.STARTED)
    with app.app_context():
        assert sweep_photos(older_than_seconds=0) == 1
        assert sweep_photos(older_than_seconds=0) == 0  # both wait in the queue now
        db.session.remove()
    assert sorted(queue.job_ids) == sorted([f"photo-{waiting}", f"photo-{held}"])
    queue.empty()


def test_processing_twice_changes_nothing(app, client, reporter):
    report_id = new_report(client, reporter)
    photo_id = upload(client, reporter, report_id).get_json()["id"]
    assert process(app, photo_id) == "ready"
    assert process(app, photo_id) == "ready"


def test_a_report_without_location_takes_its_photos_gps(app, client, reporter, auth):
    response = client.post(
        "/v1/reports",
        json={"category": "other"},
        headers={**reporter, "Idempotency-Key": "nowhere"},
    )
    assert response.status_code == 201
    report = response.get_json()
    assert report["location"] is None and report["commune"] is None
    ids = [r["id"] for r in client.get("/v1/reports", headers=auth()).get_json()["items"]]
    assert report["id"] not in ids  # not on the public map until placed
    photo_id = upload(
        client, reporter, report["id"], jpeg(exif=gps_exif(lat=47.3220, lon=5.0415))
    ).get_json()["id"]
    assert process(app, photo_id) == "ready"
    # The reporter sees the exact place; everyone else its public projection (snapped).
    placed = client.get(f"/v1/reports/{report['id']}", headers=reporter).get_json()
    lon, lat = placed["location"]["coordinates"]
    assert abs(lon - 5.0415) < 1e-4 and abs(lat - 47.322) < 1e-4
    public = client.get(f"/v1/reports/{report['id']}", headers=auth()).get_json()
    assert public["location"]["coordinates"] != [lon, lat]
    assert abs(public["location"]["coordinates"][0] - 5.0415) < 1e-3
    assert placed["commune"] == {"insee_code": "21231", "name": "Dijon"}
    ids = [r["id"] for r in client.get("/v1/reports", headers=auth()).get_json()["items"]]
    assert report["id"] in ids


def test_a_report_placed_by_its_photo_is_routed_like_intake_and_can_be_a_duplicate(
    app, client, reporter, token_for, auth
):
    neighbour = {"Authorization": f"Bearer {token_for(Role.RESIDENT, uid='sam')}"}
    original = new_report(client, neighbour)  # a pothole at 5.0415, 47.322
    unplaced = client.post(
        "/v1/reports",
        json={"category": "pothole", "answers": {"size": "small"}},
        headers={**reporter, "Idempotency-Key": "unplaced"},
    ).get_json()
    assert unplaced["desk"] is None and unplaced["status"] == "new"
    photo = jpeg(exif=gps_exif(lat=47.3220, lon=5.0415))
    assert process(app, upload(client, reporter, unplaced["id"], photo).get_json()["id"]) == "ready"
    staff_view = client.get(f"/v1/reports/{unplaced['id']}", headers=auth(Role.AGENT)).get_json()
    assert staff_view["status"] == "duplicate"
    assert staff_view["duplicate_of"]["id"] == original
    assert staff_view["desk"] is not None
    assert staff_view["routing"]["duplicate"]["report_id"] == original
    assert staff_view["routing"]["crew"]["crew"] is None  # the original's crew handles it
    supported = client.get(f"/v1/reports/{original}", headers=neighbour).get_json()
    assert supported["support_count"] == 1


def test_a_photo_gps_outside_the_area_or_on_a_placed_report_changes_nothing(app, client, reporter):
    unplaced = client.post(
        "/v1/reports", json={"category": "other"}, headers={**reporter, "Idempotency-Key": "u"}
    ).get_json()["id"]
    beaune = jpeg(exif=gps_exif(lat=47.026, lon=4.84))
    assert process(app, upload(client, reporter, unplaced, beaune).get_json()["id"]) == "ready"
    assert client.get(f"/v1/reports/{unplaced}", headers=reporter).get_json()["location"] is None
    placed = new_report(client, reporter)  # at 5.0415, 47.322
    elsewhere = jpeg(exif=gps_exif(lat=47.30, lon=5.10))
    assert (
        process(app, upload(client, reporter, placed, elsewhere, key="e").get_json()["id"])
        == "ready"
    )
    coordinates = client.get(f"/v1/reports/{placed}", headers=reporter).get_json()["location"][
        "coordinates"
    ]
    assert coordinates == [5.0415, 47.322]
