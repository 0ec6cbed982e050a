"""The public lists' server-side cache (app/reports/cache.py): a page is one entry shared by
every caller (after their token is checked), a hit is the miss byte for byte without the
page's SQL, a client holding the page gets 304, equivalent URLs share an entry, every
writer of what a page shows changes the next answer at once (never a stale page), a
transaction that wrote does not use the cache, and Redis down still serves."""

import io
import logging
import time

import pytest
from sqlalchemy import text

from app.extensions import db
from app.reports.cache import PREFIX
from app.reports.service import add_support
from app.users.models import Role
from tests.conftest import make_app
from tests.factories import make_report
from tests.photos.images import jpeg
from tests.triage.helpers import act

# The data version is the last change's time, stamped by PostgreSQL's clock: it must move
# between transactions, so these tests commit for real (see tests/conftest.py).
pytestmark = pytest.mark.processes

VERSION_SQL = "pg_current_xact_id_if_assigned()"  # a fragment of app/reports/cache.py's
BOX = "bbox=5.035,47.315,5.050,47.330"
PATHS = [
    f"/v1/reports?{BOX}",
    f"/v1/reports/geojson?{BOX}&limit=10",
    "/v1/reports?near=5.0415,47.322&radius=300&category=pothole",
    "/v1/reports/suggestions?lon=5.0415&lat=47.322&category=pothole",
]


@pytest.fixture
def cache_settings(app):
    """``cache_settings(**config)``: the cache rebuilt with these settings, for one test. By
    default entries of a fresh version live an hour, so that a test passing because an
    entry expired would not go unnoticed, and the minute's byte budget (which counts every
    entry stored in this minute, earlier tests' too) is out of reach: an entry it refused
    would look like a miss."""

    def apply(**config):
        app.config.update(config)
        app.extensions.pop("signale.public-lists_cache", None)

    saved = {k: v for k, v in app.config.items() if k.startswith("PUBLIC_LISTS_CACHE_")}
    apply(PUBLIC_LISTS_CACHE_SETTLE_SECONDS=3600, PUBLIC_LISTS_CACHE_BYTES_PER_MINUTE=2**40)
    yield apply
    apply(**saved)


def built(seen: list[str]) -> bool:
    """Whether a page was built: a statement besides the identity's and the version's."""
    return any(VERSION_SQL not in s and "FROM reports" in s for s in seen)


def get(client, path, headers, **kwargs):
    response = client.get(path, headers={**headers, **kwargs.pop("extra", {})}, **kwargs)
    assert response.status_code in (200, 304), response.get_data(as_text=True)
    return response


def cached_twice(client, statements, path, headers) -> dict:
    """GET ``path`` until it comes from the cache; returns the document."""
    get(client, path, headers)
    with statements() as seen:
        response = get(client, path, headers)
    assert not built(seen), f"{path} was not served from the cache"
    return response.get_json()


def items(document: dict) -> dict:
    found = document.get("items")
    if found is None:
        found = [f["properties"] for f in document["features"]]
    return {i["id"]: i for i in found}


@pytest.mark.parametrize("path", PATHS)
def test_one_entry_serves_every_caller_byte_for_byte_without_the_page_sql(
    app, client, auth, statements, cache_settings, path
):
    make_report(app, reporter="ana")
    callers = [auth(), auth(anonymous=True), auth(Role.AGENT), auth(uid="ana")]
    with statements() as seen:
        miss = get(client, path, callers[0])
    assert built(seen)
    assert miss.headers["Cache-Control"] == "private, no-cache"
    assert items(miss.get_json())  # not an empty page
    for headers in callers:
        with statements() as seen:
            hit = get(client, path, headers)
        assert not built(seen), headers
        assert hit.data == miss.data
        for header in ("Content-Type", "ETag", "Cache-Control"):
            assert hit.headers.get(header) == miss.headers.get(header), header
    with statements() as seen:
        revalidated = get(client, path, callers[1], extra={"If-None-Match": miss.headers["ETag"]})
    assert revalidated.status_code == 304 and not revalidated.data and not built(seen)


def test_without_a_token_nothing_is_served_from_the_cache(client, auth, cache_settings):
    make_report(client.application)
    path = PATHS[0]
    etag = get(client, path, auth()).headers["ETag"]
    for headers in ({}, {"If-None-Match": etag}):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert b"features" not in response.data and b"items" not in response.data


def test_equivalent_urls_share_an_entry_and_different_ones_do_not(
    app, client, auth, statements, cache_settings
):
    make_report(app)
    make_report(app, at=(5.045, 47.325))
    headers = auth()
    first = get(client, "/v1/reports?bbox=5.035,47.315,5.05,47.33&limit=50", headers)
    for path in (
        "/v1/reports?bbox=5.0350,47.3150,5.050,47.330",
        "/v1/reports?limit=50&bbox=5.035,47.315,5.05,47.33&radius=900",  # radius: no near
        "/v1/reports?bbox=5.035,47.315,5.05,47.33&category=",
    ):
        with statements() as seen:
            assert get(client, path, headers).data == first.data
        assert not built(seen), path
    for path in (
        "/v1/reports/geojson?bbox=5.035,47.315,5.05,47.33",
        "/v1/reports?bbox=5.035,47.315,5.05,47.33&limit=1",
        "/v1/reports?bbox=5.035,47.315,5.05,47.33&status=acknowledged",
    ):
        with statements() as seen:
            assert get(client, path, headers).data != first.data
        assert built(seen), path


# --- every writer of what a page shows changes the next answer ----------------------------


def test_a_new_report_is_listed_at_once(app, client, auth, statements, cache_settings):
    headers = auth()
    first = make_report(app)
    for path in PATHS:
        assert set(items(cached_twice(client, statements, path, headers))) == {first}, path
    response = client.post(
        "/v1/reports",
        headers={**auth(uid="newcomer"), "Idempotency-Key": "new"},
        json={
            "category": "pothole",
            "location": {"lon": 5.0425, "lat": 47.3225},
            "answers": {"size": "small"},
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    second = response.get_json()["id"]
    for path in PATHS:
        assert set(items(cached_twice(client, statements, path, headers))) == {first, second}


@pytest.mark.parametrize(
    ("action", "body", "status"),
    [("acknowledge", None, "acknowledged"), ("reject", {"reason": "not_our_responsibility"},
                                              "rejected")],
)  # fmt: skip
def test_a_triage_action_changes_the_next_answer(
    app, client, auth, statements, cache_settings, action, body, status
):
    headers = auth()
    report_id = make_report(app, status="new")
    for path in PATHS[:3]:
        assert items(cached_twice(client, statements, path, headers))[report_id]["status"] == "new"
    response = act(client, auth(Role.SUPERVISOR), report_id, action, body)
    assert response.status_code == 200, response.get_json()
    for path in PATHS[:3]:
        listed = items(cached_twice(client, statements, path, headers))
        assert listed[report_id]["status"] == status, path


def test_a_support_changes_the_count(app, client, auth, statements, cache_settings):
    headers = auth()
    report_id = make_report(app)
    path = PATHS[1]
    assert items(cached_twice(client, statements, path, headers))[report_id]["support_count"] == 0
    with app.app_context():
        add_support(db.session, report_id, "sam")
        db.session.commit()
        db.session.remove()
    assert items(cached_twice(client, statements, path, headers))[report_id]["support_count"] == 1


@pytest.mark.parametrize("kind", ["report", "after"])
def test_a_photo_becoming_ready_is_shown_at_once(
    app, client, auth, statements, cache_settings, kind
):
    from app.reports.photos import process_photo

    headers = auth()
    report_id = make_report(app, desk="voirie")
    uploader = auth(uid="ana") if kind == "report" else auth(Role.AGENT)  # ana: the reporter
    uploaded = client.post(
        f"/v1/reports/{report_id}/photos?kind={kind}",
        headers={**uploader, "Idempotency-Key": "photo"},
        data={"file": (io.BytesIO(jpeg()), "photo.jpg")},
    )
    assert uploaded.status_code == 202, uploaded.get_data(as_text=True)
    for path in PATHS:
        # Processing: not shown yet (nor to its uploader: the page is everyone's).
        assert items(cached_twice(client, statements, path, headers))[report_id]["photos"] == []
    with app.app_context():
        assert process_photo(db.session, uploaded.get_json()["id"]) == "ready"
        db.session.remove()
    for path in PATHS:
        (photo,) = items(cached_twice(client, statements, path, headers))[report_id]["photos"]
        assert photo["kind"] == kind and photo["url"].startswith("/v1/media/display/"), path


def test_a_category_or_a_desk_renamed_changes_their_names(
    app, client, auth, statements, cache_settings
):
    headers = auth()
    report_id = make_report(app, desk="voirie")
    path = PATHS[0]
    before = items(cached_twice(client, statements, path, headers))[report_id]
    admin = auth(Role.ADMIN)
    current = client.get("/v1/categories/pothole", headers=admin).get_json()
    fields = ("group", "name_en", "icon", "questions")
    renamed = {**{f: current[f] for f in fields}, "name_fr": "Nid"}
    response = client.put("/v1/admin/categories/pothole", headers=admin, json=renamed)
    assert response.status_code == 200, response.get_json()
    after = items(cached_twice(client, statements, path, headers))[report_id]
    assert (before["category"]["name_fr"], after["category"]["name_fr"]) != ("Nid", "Nid")
    assert after["category"]["name_fr"] == "Nid"

    def rename(name: str) -> None:
        # No endpoint renames a desk: seed_desks (deployments) writes these names.
        with app.app_context():
            db.session.execute(
                text("UPDATE desks SET name_en = :name WHERE code = 'voirie'"), {"name": name}
            )
            db.session.commit()
            db.session.remove()

    rename("Roads")
    try:
        listed = items(cached_twice(client, statements, path, headers))[report_id]
        assert listed["desk"]["name_en"] == "Roads"
    finally:
        rename(before["desk"]["name_en"])


# --- a writing transaction, the switch, the outage ------------------------------------------


def test_a_transaction_that_wrote_neither_reads_nor_stores_entries(
    app, client, auth, redis_conn, cache_settings
):
    from app.reports import cache

    make_report(app)
    get(client, PATHS[0], auth())  # stored
    pages = cache.for_app(app)
    document = {"path": "/v1/reports", "arguments": {}, "grid_m": 50}
    with app.app_context():
        key, _ = pages.key(db.session, document)
        assert key is not None and key.startswith(PREFIX)
        db.session.execute(text("UPDATE reports SET support_count = 7"))  # not committed
        assert pages.key(db.session, document) == (None, 0)
        db.session.rollback()
        db.session.remove()


def test_switched_off_every_get_builds_its_page(client, auth, statements, cache_settings):
    cache_settings(PUBLIC_LISTS_CACHE_ENABLED=False)
    make_report(client.application)
    headers = auth()
    first = get(client, PATHS[0], headers)
    with statements() as seen:
        again = get(client, PATHS[0], headers)
    assert built(seen) and not any(VERSION_SQL in s for s in seen)
    assert again.data == first.data and again.headers["ETag"] == first.headers["ETag"]


def test_with_redis_down_pages_are_served_and_the_outage_logged_once(
    app, database_url, client, auth, caplog
):
    make_report(app)
    headers = auth()
    expected = {path: get(client, path, headers).data for path in PATHS}
    down = make_app(database_url, REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    offline = down.test_client()
    with caplog.at_level(logging.WARNING, logger="app.reports.cache"):
        for path in PATHS:
            response = offline.get(path, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
            assert response.data == expected[path]
    warnings = [r for r in caplog.records if r.name == "app.reports.cache"]
    assert len(warnings) == 1 and "unavailable" in warnings[0].getMessage()


def test_a_process_keeps_the_entries_it_served_last_within_its_bytes(
    app, client, auth, statements, redis_conn, cache_settings
):
    from app.cache import _Recent
    from app.reports import cache

    make_report(app)
    headers = auth()
    first = get(client, PATHS[0], headers)
    for key in redis_conn.scan_iter(PREFIX + "*"):
        redis_conn.delete(key)
    with statements() as seen:  # Redis forgot it: this process's copy answers
        assert get(client, PATHS[0], headers).data == first.data
    assert not built(seen)
    assert cache.for_app(app).settings.local_bytes == app.config["PUBLIC_LISTS_CACHE_LOCAL_BYTES"]
    recent = _Recent(limit=10)
    entries = {k: shared_entry(b"x" * 4) for k in "abc"}
    for k, entry in entries.items():
        recent.put(k, entry, 60)
    assert recent.get("a") is None and recent.get("c") is entries["c"]  # 12 > 10 bytes
    recent.put("d", shared_entry(b"y" * 11), 60)  # larger than the whole: not kept
    assert recent.get("d") is None
    recent.put("e", shared_entry(b"z"), 0.001)
    time.sleep(0.01)
    assert recent.get("e") is None  # expired with its Redis entry


def shared_entry(body: bytes):
    from app.cache import Entry

    return Entry(body, "application/json", "etag", None)


def test_a_version_connection_lost_is_replaced_within_the_request(
    app, client, auth, cache_settings
):
    make_report(app)
    headers = auth()
    first = get(client, PATHS[0], headers).data
    with app.app_context():  # PostgreSQL restarted, say: the pool's connections are gone
        ended = db.session.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'signale public-lists version'"
                " AND datname = current_database()"
            )
        ).scalar()
        db.session.remove()
    assert ended >= 1
    time.sleep(0.2)  # the backends are gone
    response = client.get(PATHS[0], headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.data == first
