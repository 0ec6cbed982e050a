"""The server-side cache of the GET documents (app/open311/cache.py): a hit is the miss's
response byte for byte and sends no document SQL; equivalent URLs share an entry; every
writer of what a document shows changes the next answer (never a stale one); Redis down
still serves."""

import io
import logging
import time

import pytest
from sqlalchemy import text

from app.extensions import db
from app.open311.cache import PREFIX
from app.reports.service import add_support
from app.users.models import Role
from tests.conftest import make_app
from tests.factories import make_report
from tests.open311.conftest import BASE
from tests.photos.images import jpeg
from tests.triage.helpers import act

# The caches' keys are the data's last change, stamped by PostgreSQL's clock: these tests
# need it to move between transactions, so they commit for real (see tests/conftest.py).
pytestmark = pytest.mark.processes

# The statement of the data version: a hit sends it alone (with the clock's reading, for the
# default 90-day window).
VERSION_SQL = "current_database()"
CLOCK_SQL = "SELECT now() AS now_1"  # app.clock.now


@pytest.fixture
def cache_settings(app):
    """``cache_settings(**config)``: the cache rebuilt with these settings, for one test.
    By default entries of a fresh version live an hour, so that a test passing because an
    entry expired would not go unnoticed, and the minute's byte budget is out of reach: the
    budget counts every entry stored in this minute, earlier tests' too, and an entry it
    refuses would look like a miss here (the budget's own test sets it)."""

    def apply(**config):
        app.config.update(config)
        app.extensions.pop("signale.open311_cache", None)

    saved = {k: v for k, v in app.config.items() if k.startswith("OPEN311_CACHE_")}
    apply(OPEN311_CACHE_SETTLE_SECONDS=3600, OPEN311_CACHE_BYTES_PER_MINUTE=2**40)
    yield apply
    apply(**saved)


def built(seen: list[str]) -> bool:
    """Whether a document was built (not served from the cache): a statement besides the
    data version and the clock's reading (app.clock, for the default 90-day window)."""
    return any(VERSION_SQL not in s and s != CLOCK_SQL for s in seen)


def get(client, path, **kwargs):
    response = client.get(BASE + path, **kwargs)
    assert response.status_code in (200, 304), response.get_data(as_text=True)
    return response


def cached_twice(client, statements, path, **kwargs):
    """GET ``path`` until it comes from the cache; returns that response."""
    get(client, path, **kwargs)
    with statements() as seen:
        response = get(client, path, **kwargs)
    assert not built(seen), f"{path} was not served from the cache"
    return response


PATHS = [
    "/requests.json",
    "/requests.xml?extensions=true",
    "/requests/{reference}.json",
    "/requests/{reference}.xml?extensions=true",
    "/services.json",
    "/services/pothole.xml",
]


@pytest.mark.parametrize("path", PATHS)
def test_a_hit_is_the_miss_byte_for_byte_without_the_documents_sql(
    client, file_report, statements, cache_settings, path
):
    reference = file_report("pothole", answers={"size": "small"})["reference"]
    path = path.format(reference=reference)
    with statements() as seen:
        miss = get(client, path)
    assert built(seen)
    with statements() as seen:
        hit = get(client, path)
    # The data version only (and the clock's reading for the default window).
    assert not built(seen) and len([s for s in seen if s != CLOCK_SQL]) == 1
    assert hit.data == miss.data and hit.data
    for header in ("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Vary"):
        assert hit.headers.get(header) == miss.headers.get(header), header
    with statements() as seen:
        revalidated = get(client, path, headers={"If-None-Match": miss.headers["ETag"]})
    assert revalidated.status_code == 304 and not built(seen)


def test_languages_and_formats_have_their_own_entries(client, file_report, cache_settings):
    file_report("pothole", answers={"size": "small"})
    french = get(client, "/services.json")
    english = get(client, "/services.json", headers={"Accept-Language": "en"})
    assert french.data != english.data
    assert get(client, "/services.json").data == french.data
    assert get(client, "/services.json", headers={"Accept-Language": "en"}).data == english.data
    assert get(client, "/services.xml").mimetype == "text/xml"


def test_equivalent_urls_share_an_entry(client, file_report, statements, cache_settings):
    file_report("pothole", answers={"size": "small"})
    first = get(client, "/requests.json?service_code=pothole,other&status=open&page_size=1000")
    equivalents = [
        "/requests.json?status=open&service_code=other&service_code=pothole",
        "/requests.json?page=1&status=OPEN&service_code=other,pothole&jurisdiction_id=",
    ]
    for path in equivalents:
        with statements() as seen:
            assert get(client, path).data == first.data
        assert not built(seen), path
    winter = get(client, "/requests.json?start_date=2026-11-01T08:00:00%2B01:00")
    with statements() as seen:
        same_instant = get(client, "/requests.json?start_date=2026-11-01T07:00:00Z")
    assert same_instant.data == winter.data and not built(seen)


def test_different_arguments_are_different_entries(client, file_report, cache_settings):
    file_report("pothole", answers={"size": "small"})
    assert len(get(client, "/requests.json?service_code=pothole").get_json()) == 1
    assert get(client, "/requests.json?service_code=other").get_json() == []
    assert get(client, "/requests.json?status=closed").get_json() == []


# --- every writer of what a document shows changes the next answer --------------------------


def _listed(client, statements, path="/requests.json?extensions=true") -> dict:
    return {r["service_request_id"]: r for r in cached_twice(client, statements, path).get_json()}


def _reference(app, report_id: int) -> str:
    with app.app_context():
        reference = db.session.scalar(
            text("SELECT reference FROM reports WHERE id = :id"), {"id": report_id}
        )
        db.session.remove()
    return reference


@pytest.mark.parametrize(
    ("action", "body", "detailed"),
    [
        ("acknowledge", None, "acknowledged"),
        ("reject", {"reason": "not_our_responsibility"}, "rejected"),
    ],
)
def test_a_triage_action_changes_the_next_answer(
    app, client, auth, statements, cache_settings, action, body, detailed
):
    report_id = make_report(app, status="new")
    reference = _reference(app, report_id)
    assert _listed(client, statements)[reference]["extended_attributes"]["detailed_status"] == "new"
    response = act(client, auth(Role.SUPERVISOR), report_id, action, body)
    assert response.status_code == 200, response.get_json()
    listed = _listed(client, statements)[reference]
    assert listed["extended_attributes"]["detailed_status"] == detailed
    (one,) = get(client, f"/requests/{reference}.json?extensions=true").get_json()
    assert one == listed


def test_a_merge_changes_both_reports_and_those_joined_before(
    app, client, auth, statements, cache_settings
):
    original = _reference(app, original_id := make_report(app, status="assigned"))
    merged_id = make_report(app, status="acknowledged", reporter="bob")
    merged = _reference(app, merged_id)
    earlier = _reference(app, make_report(app, status="duplicate", duplicate_of_id=merged_id))
    before = _listed(client, statements)
    assert before[earlier]["extended_attributes"]["duplicate_of"] == merged
    response = act(client, auth(Role.SUPERVISOR), merged_id, "merge", {"into": original_id})
    assert response.status_code == 200, response.get_json()
    after = _listed(client, statements)
    assert after[merged]["status"] == "closed"
    assert after[merged]["extended_attributes"]["duplicate_of"] == original
    assert after[earlier]["extended_attributes"]["duplicate_of"] == original


def test_a_support_changes_the_count(app, client, statements, cache_settings):
    reference = _reference(app, report_id := make_report(app))
    assert _listed(client, statements)[reference]["extended_attributes"]["support_count"] == 0
    with app.app_context():
        add_support(db.session, report_id, "sam")
        db.session.commit()
        db.session.remove()
    assert _listed(client, statements)[reference]["extended_attributes"]["support_count"] == 1


def test_a_new_report_from_the_app_or_open311_is_listed_at_once(
    client, file_report, api_key, statements, cache_settings
):
    first = file_report("pothole", n=0, answers={"size": "small"})["reference"]
    assert set(_listed(client, statements)) == {first}
    second = file_report("other", n=3)["reference"]
    assert set(_listed(client, statements)) == {first, second}
    response = client.post(
        f"{BASE}/requests.json",
        data={"api_key": api_key(), "service_code": "other", "lat": 47.322, "long": 5.06},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    third = response.get_json()[0]["service_request_id"]
    assert set(_listed(client, statements)) == {first, second, third}


def test_a_photo_becoming_ready_gives_the_media_url_at_once(
    app, client, auth, statements, cache_settings
):
    from app.reports.photos import process_photo

    headers = auth(uid="photographer")
    report = client.post(
        "/v1/reports",
        json={"category": "other", "location": {"lon": 5.0415, "lat": 47.322}},
        headers={**headers, "Idempotency-Key": "with-photo"},
    ).get_json()
    uploaded = client.post(
        f"/v1/reports/{report['id']}/photos",
        headers={**headers, "Idempotency-Key": "photo"},
        data={"file": (io.BytesIO(jpeg()), "photo.jpg")},
    )
    assert uploaded.status_code == 202
    paths = ["/requests.json", f"/requests/{report['reference']}.json"]
    for path in paths:
        (request,) = cached_twice(client, statements, path).get_json()
        assert "media_url" not in request
    with app.app_context():
        assert process_photo(db.session, uploaded.get_json()["id"]) == "ready"
        db.session.remove()
    for path in paths:
        (request,) = cached_twice(client, statements, path).get_json()
        assert "/v1/media/display/" in request["media_url"], path


def test_a_category_renamed_changes_service_names(
    client, auth, file_report, statements, cache_settings
):
    reference = file_report("pothole", answers={"size": "small"})["reference"]
    assert _listed(client, statements, "/requests.json")[reference]["service_name"] != "Nid"
    services = cached_twice(client, statements, "/services.json").get_json()
    assert "Nid" not in {s["service_name"] for s in services}
    admin = auth(Role.ADMIN)
    current = client.get("/v1/categories/pothole", headers=admin).get_json()
    fields = ("group", "name_en", "icon", "questions")
    renamed = {**{f: current[f] for f in fields}, "name_fr": "Nid"}
    response = client.put("/v1/admin/categories/pothole", headers=admin, json=renamed)
    assert response.status_code == 200, response.get_json()
    assert _listed(client, statements, "/requests.json")[reference]["service_name"] == "Nid"
    services = cached_twice(client, statements, "/services.json").get_json()
    assert "Nid" in {s["service_name"] for s in services}


def test_a_desk_renamed_changes_agency_responsible(app, client, statements, cache_settings):
    reference = _reference(app, make_report(app, desk="voirie"))
    before = _listed(client, statements)[reference]["agency_responsible"]

    def rename(name: str) -> None:
        # No endpoint renames a desk: seed_desks (deployments) writes these names.
        with app.app_context():
            db.session.execute(
                text("UPDATE desks SET name_fr = :name WHERE code = 'voirie'"), {"name": name}
            )
            db.session.commit()
            db.session.remove()

    rename("Voies")
    try:
        assert _listed(client, statements)[reference]["agency_responsible"] == "Voies"
    finally:
        rename(before)


# --- bounds, switch and outage -------------------------------------------------------------


def test_an_entry_of_a_fresh_version_lives_only_the_settle_time(
    client, file_report, set_report, redis_conn, cache_settings
):
    cache_settings(OPEN311_CACHE_SETTLE_SECONDS=7, OPEN311_CACHE_TTL_SECONDS=600)
    reference = file_report("pothole", answers={"size": "small"})["reference"]

    def ttl_of_new_entry(path):
        before = set(redis_conn.scan_iter(PREFIX + "*"))
        get(client, path)
        (key,) = set(redis_conn.scan_iter(PREFIX + "*")) - before
        return redis_conn.ttl(key)

    assert 0 < ttl_of_new_entry("/requests.json") <= 7
    set_report(reference, updated_at="2026-01-01T00:00:00Z")
    # The catalogue is seeded again before each test: make it old too.
    with client.application.app_context():
        db.session.execute(text("UPDATE categories SET updated_at = '2026-01-01T00:00:00Z'"))
        db.session.commit()
        db.session.remove()
    assert 7 < ttl_of_new_entry("/requests.json") <= 600


def test_documents_larger_than_the_bound_are_not_kept(
    client, file_report, statements, cache_settings
):
    cache_settings(OPEN311_CACHE_MAX_BYTES=10)
    file_report("pothole", answers={"size": "small"})
    get(client, "/requests.json")
    with statements() as seen:
        get(client, "/requests.json")
    assert built(seen)


def test_no_more_than_the_bytes_of_a_minute_are_stored(
    client, file_report, statements, cache_settings, redis_conn
):
    from app.open311.cache import BUDGET_PREFIX

    file_report("pothole", answers={"size": "small"})
    size = len(get(client, "/requests.json?page_size=999").data)
    cache_settings(OPEN311_CACHE_BYTES_PER_MINUTE=int(size * 1.5))
    for attempt in range(3):  # again if the minute turned meanwhile (a new minute's bytes)
        minute = int(time.time() // 60)
        for counter in redis_conn.scan_iter(BUDGET_PREFIX + "*"):
            redis_conn.delete(counter)
        kept, refused = (f"/requests.json?page_size={990 - 2 * attempt - i}" for i in (0, 1))
        for path in (kept, refused):
            get(client, path)
        with statements() as seen_kept:
            get(client, kept)
        with statements() as seen_refused:
            get(client, refused)
        if int(time.time() // 60) == minute:
            break
    assert not built(seen_kept)  # within the minute's bytes: kept
    assert built(seen_refused)  # beyond them: served, not kept


def test_switched_off_every_get_builds_its_document(
    client, file_report, statements, cache_settings
):
    cache_settings(OPEN311_CACHE_ENABLED=False)
    file_report("pothole", answers={"size": "small"})
    get(client, "/requests.json")
    with statements() as seen:
        get(client, "/requests.json")
    assert built(seen)
    assert not any(VERSION_SQL in s for s in seen)  # no version read either


def test_with_redis_down_documents_are_served_and_the_outage_logged_once(
    app, database_url, client, file_report, caplog
):
    reference = file_report("pothole", answers={"size": "small"})["reference"]
    expected = get(client, "/requests.json").data
    down = make_app(database_url, REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    offline = down.test_client()
    with caplog.at_level(logging.WARNING, logger="app.open311.cache"):
        assert offline.get(f"{BASE}/requests.json").data == expected
        for path in ("/requests.xml", f"/requests/{reference}.json", "/services.json"):
            assert offline.get(BASE + path).status_code == 200
    warnings = [r for r in caplog.records if r.name == "app.open311.cache"]
    assert len(warnings) == 1 and "unavailable" in warnings[0].getMessage()


def test_an_unreadable_entry_is_a_miss_and_is_replaced(redis_conn):
    from app.open311.cache import DocumentCache, Entry, Settings

    # The per-minute budget is shared with every other test of the minute: not this test's
    # subject, so it cannot refuse the entry.
    settings = Settings(ttl_s=60, settle_s=5, max_bytes=1000, bytes_per_minute=10**15)
    cache = DocumentCache(redis_conn, settings)
    key = PREFIX + "test-unreadable"
    for garbage in (b"no header line", b"{}\nbody", b"\xff\xfe\n"):
        redis_conn.set(key, garbage, ex=60)
        assert cache.get(key) is None
    entry = Entry(b"[]", "application/json", "abc", None)
    cache.put(key, entry, 60)
    assert cache.get(key) == entry
    redis_conn.delete(key)
