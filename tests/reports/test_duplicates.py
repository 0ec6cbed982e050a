"""Duplicates at intake and "is it one of these?" suggestions, on real PostGIS.

Points are placed a known number of metres apart in Lambert-93 (the metric projection the
queries use), then brought back to WGS 84 for the API.
"""

import json
import re
from datetime import datetime, timedelta

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy import select, text, update

from app.categories.models import Category
from app.extensions import db
from app.reports import queries
from app.reports.models import Report, ReportFollower, ReportSupporter
from app.routing.intake import duplicate_target
from app.users.models import Role

ORIGIN_L93 = (854000.0, 6692000.0)  # central Dijon


def wgs84(app, east_m: float = 0.0) -> dict:
    """The point ``east_m`` metres east of the origin, in WGS 84."""
    with app.app_context():
        lon, lat = db.session.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID("
                "ST_MakePoint(:x, :y), 2154), 4326) AS p) AS t"
            ),
            {"x": ORIGIN_L93[0] + east_m, "y": ORIGIN_L93[1]},
        ).one()
        db.session.remove()
    return {"lon": lon, "lat": lat}


@pytest.fixture
def people(token_for):
    return {
        name: {"Authorization": f"Bearer {token_for(Role.RESIDENT, uid=name)}"}
        for name in ("alice", "bob", "carol")
    }


def submit(client, headers, location, key, category="pothole"):
    answers = {"pothole": {"size": "small"}, "graffiti": {"offensive": False}}[category]
    body = {"category": category, "location": location, "answers": answers}
    response = client.post("/v1/reports", headers={**headers, "Idempotency-Key": key}, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def set_on(app, report_id, **values):
    with app.app_context():
        db.session.execute(update(Report).where(Report.id == report_id).values(**values))
        db.session.commit()


def set_category(app, code, **values):
    with app.app_context():
        db.session.execute(update(Category).where(Category.code == code).values(**values))
        db.session.commit()


def test_a_report_29_m_from_an_open_one_joins_it_and_its_reporter_supports_it(app, client, people):
    original = submit(client, people["alice"], wgs84(app), "a")
    assert original["status"] == "new" and original["duplicate_of"] is None
    second = submit(client, people["bob"], wgs84(app, 29), "b")
    assert second["status"] == "duplicate"
    assert second["duplicate_of"] == {"id": original["id"], "reference": original["reference"]}
    with app.app_context():
        assert db.session.get(Report, original["id"]).support_count == 1
        assert db.session.get(ReportSupporter, (original["id"], "bob")) is not None
        assert db.session.get(ReportFollower, (original["id"], "bob")).reason == "supporter"
        db.session.remove()
    # The resident's own view of the new report says so too.
    again = client.get(f"/v1/reports/{second['id']}", headers=people["bob"]).get_json()
    assert again["duplicate_of"]["reference"] == original["reference"]


def test_31_m_away_is_another_problem(app, client, people):
    submit(client, people["alice"], wgs84(app), "a")
    assert submit(client, people["bob"], wgs84(app, 31), "b")["status"] == "new"


def test_the_nearest_open_report_is_the_original(app, client, people):
    far = submit(client, people["alice"], wgs84(app, 25), "a")
    near = submit(client, people["carol"], wgs84(app, -25), "c")  # 50 m apart: both new
    assert near["status"] == "new" and far["status"] == "new"
    # 20 m from one, 30 m from the other: both within the radius, the nearer wins.
    assert submit(client, people["bob"], wgs84(app, -5), "b")["duplicate_of"]["id"] == near["id"]


@pytest.mark.parametrize("status", ["resolved", "closed", "rejected", "duplicate"])
def test_a_closed_report_is_never_a_duplicate_target(app, client, people, status):
    original = submit(client, people["alice"], wgs84(app), "a")
    set_on(app, original["id"], status=status)
    assert submit(client, people["bob"], wgs84(app, 1), "b")["status"] == "new"


def test_only_reports_within_the_window_count(app, client, people, now):
    original = submit(client, people["alice"], wgs84(app), "a")
    set_on(app, original["id"], created_at=now - timedelta(days=30, minutes=1))
    assert submit(client, people["bob"], wgs84(app, 1), "b")["status"] == "new"
    set_category(app, "pothole", duplicate_window_days=31)
    assert submit(client, people["carol"], wgs84(app, 1), "c")["status"] == "duplicate"


def test_another_category_or_a_zero_radius_never_matches(app, client, people):
    submit(client, people["alice"], wgs84(app), "a", category="graffiti")
    assert submit(client, people["bob"], wgs84(app), "b")["status"] == "new"  # a pothole
    set_category(app, "pothole", duplicate_radius_m=0)
    assert submit(client, people["carol"], wgs84(app), "c")["status"] == "new"


def test_reporting_ones_own_problem_again_links_it_without_self_support(app, client, people):
    original = submit(client, people["alice"], wgs84(app), "a")
    second = submit(client, people["alice"], wgs84(app, 2), "a2")
    assert second["duplicate_of"]["id"] == original["id"]
    with app.app_context():
        assert db.session.get(Report, original["id"]).support_count == 0
        db.session.remove()


def test_a_retried_duplicate_counts_its_support_once(app, client, people):
    original = submit(client, people["alice"], wgs84(app), "a")
    first = submit(client, people["bob"], wgs84(app, 3), "b")
    replay = submit(client, people["bob"], wgs84(app, 3), "b")
    assert replay == first
    # A second report by bob nearby is a duplicate again but his support counts once.
    submit(client, people["bob"], wgs84(app, 4), "b2")
    with app.app_context():
        assert db.session.get(Report, original["id"]).support_count == 1
        db.session.remove()


def test_suggestions_are_open_reports_of_the_category_within_250_m_nearest_first(
    app, client, people
):
    """Measured to the reports' public positions (on the 50 m grid, as every public output
    shows them): a distance to the exact one would give it away to three searches."""
    ids = {}
    for east in (240, 100, 10, 320):  # on the grid: 250, 100, 0, 300
        ids[east] = submit(client, people["alice"], wgs84(app, east), f"k{east}")["id"]
    closed = submit(client, people["alice"], wgs84(app, -60), "closed")["id"]
    set_on(app, closed, status="closed")
    submit(client, people["alice"], wgs84(app, -5), "other", category="graffiti")
    here = wgs84(app)
    response = client.get(
        f"/v1/reports/suggestions?lon={here['lon']}&lat={here['lat']}&category=pothole",
        headers=people["bob"],
    )
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [i["id"] for i in items] == [ids[10], ids[100], ids[240]]
    assert [round(i["distance_m"]) for i in items] == [0, 100, 250]
    for item, east in zip(items, (0, 100, 250), strict=True):
        point = wgs84(app, east)
        assert item["location"]["coordinates"] == pytest.approx(
            [point["lon"], point["lat"]], abs=1e-6
        )
    assert all("description" not in i and "contact" not in i for i in items)


def test_suggestions_are_five_at_most(app, client, people):
    for n in range(7):
        submit(client, people["alice"], wgs84(app, 40 * n), f"k{n}")
    here = wgs84(app)
    items = client.get(
        f"/v1/reports/suggestions?lon={here['lon']}&lat={here['lat']}&category=pothole",
        headers=people["bob"],
    ).get_json()["items"]
    assert len(items) == 5


def test_suggestions_refuse_an_unknown_category_and_accept_faraway_points(client, people):
    response = client.get(
        "/v1/reports/suggestions?lon=5.04&lat=47.32&category=nope", headers=people["bob"]
    )
    assert (response.status_code, response.get_json()["code"]) == (422, "unknown_category")
    response = client.get(
        "/v1/reports/suggestions?lon=-180&lat=-90&category=pothole", headers=people["bob"]
    )
    assert (response.status_code, response.get_json()["items"]) == (200, [])
    response = client.get("/v1/reports?near=-180,-90", headers=people["bob"])
    assert (response.status_code, response.get_json()["items"]) == (200, [])


def test_a_point_far_outside_lambert_93_is_still_a_clear_422(client, people):
    response = client.post(
        "/v1/reports",
        headers={**people["bob"], "Idempotency-Key": "pole"},
        json={"category": "pothole", "location": {"lon": -180, "lat": -90}, "answers": {}},
    )
    assert (response.status_code, response.get_json()["code"]) == (422, "outside_service_area")


def test_the_duplicate_and_suggestion_queries_use_the_lambert_93_gist_index(app, session):
    """With 20,000 reports analysed, the planner picks the GiST indexes for both queries."""
    session.execute(
        text(
            "INSERT INTO reports (category_id, geom, commune_insee, reporter_uid)"
            " SELECT (SELECT id FROM categories WHERE code = 'pothole'),"
            " ST_Transform(ST_SetSRID(ST_MakePoint(850000 + random() * 8000,"
            " 6688000 + random() * 8000), 2154), 4326), '21231', 'gen'"
            " FROM generate_series(1, 20000)"
        )
    )
    session.commit()
    session.execute(text("ANALYZE reports"))
    plans = []
    suggestion = queries.suggestion_query(5.0415, 47.322, "pothole", grid_m=50)
    duplicate = select(Category.code, duplicate_target(WKTElement("POINT(5.0415 47.322)", 4326)))
    for query in (suggestion, duplicate.where(Category.code == "pothole")):
        compiled = query.compile(
            dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
        )
        rows = session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
        plans.append("\n".join(r[0] for r in rows))
    suggestion_plan, duplicate_plan = plans
    assert re.search(r"Index Scan (?:using|on) \w*geom_l93", suggestion_plan), suggestion_plan
    assert "Seq Scan on reports" not in suggestion_plan, suggestion_plan
    # A position index answers it (the open reports' (category, position) index or the plain
    # one, as the planner prefers), never AND-ed with the category's b-tree: on 1M reports
    # that bitmap AND cost ~16 ms against ~2.5 ms.
    assert re.search(r"Index Scan (?:using|on) \w*geom_l93", duplicate_plan), duplicate_plan
    assert "ix_reports_category_id" not in duplicate_plan, duplicate_plan
    assert "Seq Scan on reports" not in duplicate_plan, duplicate_plan


def test_staff_see_priority_due_date_and_the_routing_explanation_residents_never(
    app, client, people, auth
):
    original = submit(client, people["alice"], wgs84(app), "a")
    second = submit(client, people["bob"], wgs84(app, 5), "b")
    for key in ("routing", "priority", "due_at"):
        assert key not in original and key not in second
    for who in ("alice", "bob", "carol"):
        view = client.get(f"/v1/reports/{second['id']}", headers=people[who]).get_json()
        assert not {"routing", "priority", "due_at"} & set(view), who
    staff = client.get(f"/v1/reports/{second['id']}", headers=auth(Role.AGENT)).get_json()
    assert staff["routing"]["duplicate"]["report_id"] == original["id"]
    assert "within 30 m" in staff["routing"]["duplicate"]["why"]
    assert staff["priority"] == 3  # pothole: 168 h
    created = datetime.fromisoformat(staff["created_at"])
    assert datetime.fromisoformat(staff["due_at"]) - created == timedelta(hours=168)


def test_a_four_hour_service_level_makes_an_urgent_report(app, client, people, auth):
    body = {
        "category": "traffic_light_fault",
        "location": wgs84(app),
        "answers": {"fault": "all_off"},
    }
    response = client.post(
        "/v1/reports", headers={**people["alice"], "Idempotency-Key": "tl"}, json=body
    )
    assert response.status_code == 201, response.get_json()
    staff = client.get(
        f"/v1/reports/{response.get_json()['id']}", headers=auth(Role.SUPERVISOR)
    ).get_json()
    assert staff["priority"] == 1
    created = datetime.fromisoformat(staff["created_at"])
    assert datetime.fromisoformat(staff["due_at"]) - created == timedelta(hours=4)


def add_asset(app, reference, kind, east_m, status="in_service", **attributes):
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO assets (kind, reference, name, status, attributes, geom,"
                " commune_insee) VALUES (:kind, :ref, :ref, :status, CAST(:attrs AS jsonb),"
                " ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 2154), 4326), '21231')"
            ),
            {
                "kind": kind,
                "ref": reference,
                "status": status,
                "attrs": json.dumps(attributes),
                "x": ORIGIN_L93[0] + east_m,
                "y": ORIGIN_L93[1],
            },
        )
        db.session.commit()


def light(client, headers, location, key, **extra):
    body = {"category": "streetlight_out", "location": location, "answers": {}, **extra}
    return client.post("/v1/reports", headers={**headers, "Idempotency-Key": key}, json=body)


def staff_view(client, auth, report_id):
    return client.get(f"/v1/reports/{report_id}", headers=auth(Role.AGENT)).get_json()


def test_the_nearest_pole_within_the_snap_distance_is_attached(app, client, people, auth):
    add_asset(app, "SL-FAR", "street_light", 29.5)
    add_asset(app, "SL-NEAR", "street_light", -12)
    add_asset(app, "TS-1", "traffic_signal", 1)  # the wrong kind, nearer
    response = light(client, people["alice"], wgs84(app), "a")
    assert response.status_code == 201, response.get_json()
    routing = staff_view(client, auth, response.get_json()["id"])["routing"]
    assert routing["asset"]["reference"] == "SL-NEAR"
    assert "12.0 m" in routing["asset"]["why"]


def test_a_pole_just_outside_the_snap_distance_is_not(app, client, people, auth):
    add_asset(app, "SL-1", "street_light", 30.5)
    add_asset(app, "SL-GONE", "street_light", 3, status="removed")
    response = light(client, people["alice"], wgs84(app), "a")
    assert staff_view(client, auth, response.get_json()["id"])["routing"]["asset"] is None
    add_asset(app, "SL-2", "street_light", 29.5)
    response = light(client, people["bob"], wgs84(app), "b")
    routing = staff_view(client, auth, response.get_json()["id"])["routing"]
    assert routing["asset"]["reference"] == "SL-2"


def test_a_second_report_on_the_same_pole_is_a_duplicate_even_beyond_the_radius(
    app, client, people, auth
):
    add_asset(app, "SL-1", "street_light", 0)
    first = light(client, people["alice"], wgs84(app, -25), "a").get_json()
    # 50 m from the first report (radius 30 m) but both snap to SL-1 (25 m away).
    second = light(client, people["bob"], wgs84(app, 25), "b").get_json()
    assert second["duplicate_of"]["id"] == first["id"]
    why = staff_view(client, auth, second["id"])["routing"]["duplicate"]["why"]
    assert "same equipment" in why


def test_the_app_may_name_the_equipment_and_it_is_checked(app, client, people, auth):
    add_asset(app, "SL-9", "street_light", 400)  # far away: the resident read its number
    add_asset(app, "TS-9", "traffic_signal", 0)
    response = light(client, people["alice"], wgs84(app), "a", asset_reference="SL-9")
    assert response.status_code == 201
    routing = staff_view(client, auth, response.get_json()["id"])["routing"]
    assert routing["asset"]["reference"] == "SL-9" and "named" in routing["asset"]["why"]
    wrong = light(client, people["alice"], wgs84(app), "b", asset_reference="TS-9")
    assert (wrong.status_code, wrong.get_json()["code"]) == (422, "asset_kind_mismatch")
    assert "asset_reference" in wrong.get_json()["errors"]["json"]
    unknown = light(client, people["alice"], wgs84(app), "c", asset_reference="NOPE-1")
    assert (unknown.status_code, unknown.get_json()["code"]) == (422, "unknown_asset")
    # A category without equipment refuses any reference.
    body = {"category": "pothole", "location": wgs84(app), "answers": {"size": "small"}}
    body["asset_reference"] = "SL-9"
    response = client.post(
        "/v1/reports", headers={**people["alice"], "Idempotency-Key": "d"}, json=body
    )
    assert (response.status_code, response.get_json()["code"]) == (422, "asset_kind_mismatch")


def test_a_school_within_100_m_raises_the_priority(app, client, people, auth):
    add_asset(app, "POI-1", "poi", 150, poi="school")
    first = submit(client, people["alice"], wgs84(app), "a")
    assert staff_view(client, auth, first["id"])["priority"] == 3
    add_asset(app, "POI-2", "poi", 500 + 90, poi="school")
    second = submit(client, people["bob"], wgs84(app, 500), "b")
    view = staff_view(client, auth, second["id"])
    assert view["priority"] == 2
    assert "school" in view["routing"]["service_level"]["why"]
