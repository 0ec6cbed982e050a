"""Area alerts: a resident subscribes to an area (a point and a radius, or a commune) and
some categories, and is told of new public reports there in one notification at most once
an hour per subscription. Time is injected: the job runs at given instants, reports are
stamped with given creation times."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.extensions import db
from app.notifications import areas
from app.notifications.models import AreaSubscription, Delivery, Notification
from app.reports.models import Report
from app.users.models import Role
from tests.factories import DIJON, make_report

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = areas.AlertPolicy(interval=timedelta(hours=1), settle=timedelta(seconds=60))
HOME = {"label": "Maison", "point": {"lon": DIJON[0], "lat": DIJON[1]}, "radius_m": 500}


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def zoe(auth):
    return auth(Role.RESIDENT, uid="zoe")


def subscribe(app, client, headers, body=HOME) -> int:
    """Subscribe through the API, then start the watermark at T0 (reports after it count)."""
    response = client.post("/v1/me/area-subscriptions", headers=headers, json=body)
    assert response.status_code == 201, response.get_json()
    subscription_id = response.get_json()["id"]
    with app.app_context():
        db.session.execute(
            update(AreaSubscription)
            .where(AreaSubscription.id == subscription_id)
            .values(watermark=T0)
        )
        db.session.commit()
        db.session.remove()
    return subscription_id


def east_of(lon: float, lat: float, metres: float) -> tuple[float, float]:
    """The point ``metres`` east of (lon, lat), measured in Lambert-93 as the alerts are."""
    with db.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Translate(ST_Transform("
                "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 2154), :m, 0), 4326) AS p) AS q"
            ),
            {"lon": lon, "lat": lat, "m": metres},
        ).one()
    return row[0], row[1]


def run(app, now: datetime) -> int:
    with app.app_context():
        told = areas.send_alerts(db.session, POLICY, now=now)
        db.session.remove()
    return told


def alerts(app, uid: str = "zoe") -> list[Notification]:
    with app.app_context():
        found = list(
            db.session.scalars(
                select(Notification).where(Notification.uid == uid).order_by(Notification.id)
            )
        )
        db.session.expunge_all()
        db.session.remove()
    return found


def told_ids(notification: Notification) -> list[int]:
    return [int(i) for i in notification.data["report_ids"].split(",")]


# --- batching -------------------------------------------------------------------------------


def test_reports_of_one_hour_make_one_alert_and_the_next_waits_for_the_hour(app, client, zoe):
    subscription_id = subscribe(app, client, zoe)
    first = make_report(app, created_at=minutes(5))
    second = make_report(app, created_at=minutes(10), category="streetlight_out")
    assert run(app, minutes(20)) == 1
    [alert] = alerts(app)
    assert alert.kind == "area_alert" and alert.language == "fr"
    assert alert.report_id is None and alert.event_id is None
    assert alert.title == "Nouveaux signalements : Maison (2)"
    assert told_ids(alert) == [first, second]
    assert alert.data["subscription_id"] == str(subscription_id) and alert.data["count"] == "2"
    assert alert.collapse_key == f"area-{subscription_id}"
    with app.app_context():
        references = [db.session.get(Report, i).reference for i in (first, second)]
        db.session.remove()
    assert alert.data["references"] == ",".join(references)
    assert references[0] in alert.body and "Nid-de-poule" in alert.body

    third = make_report(app, created_at=minutes(50))
    assert run(app, minutes(55)) == 0  # told at 09:20: not before 10:20
    assert run(app, minutes(79)) == 0
    assert len(alerts(app)) == 1
    assert run(app, minutes(80)) == 1
    assert [told_ids(a) for a in alerts(app)] == [[first, second], [third]]
    # Nothing new: no alert, and the last one stays the hour's reference.
    assert run(app, minutes(150)) == 0
    assert len(alerts(app)) == 2
    response = client.get(f"/v1/me/area-subscriptions/{subscription_id}", headers=zoe)
    assert response.get_json()["last_alert_at"] == minutes(80).isoformat()


def test_a_report_still_settling_is_told_in_the_next_alert_not_lost(app, client, zoe):
    subscribe(app, client, zoe)
    early = make_report(app, created_at=minutes(5))
    late = make_report(app, created_at=minutes(19.5))  # within the settle time of the 09:20 run
    assert run(app, minutes(20)) == 1
    make_report(app, created_at=minutes(30))
    assert run(app, minutes(80)) == 1
    first, second = alerts(app)
    assert told_ids(first) == [early]
    assert told_ids(second)[0] == late and len(told_ids(second)) == 2


def test_running_twice_at_once_tells_once(app, client, zoe):
    subscribe(app, client, zoe)
    make_report(app, created_at=minutes(5))
    assert run(app, minutes(20)) == 1
    assert run(app, minutes(20)) == 0
    assert len(alerts(app)) == 1


def test_an_alert_is_pushed_through_the_outbox_in_the_residents_language(app, client, zoe):
    subscribe(app, client, zoe, {"point": HOME["point"], "radius_m": 300})
    client.post(
        "/v1/me/devices",
        headers=zoe,
        json={"token": "zoe-phone", "platform": "ios", "locale": "en-GB"},
    )
    make_report(app, created_at=minutes(5))
    assert run(app, minutes(20)) == 1
    [alert] = alerts(app)
    assert alert.language == "en" and alert.title == "New reports: your area (1)"
    assert "(Pothole)" in alert.body
    with app.app_context():
        [delivery] = db.session.scalars(select(Delivery)).all()
        assert delivery.notification_id == alert.id and delivery.status == "pending"
        db.session.remove()
    feed = client.get("/v1/me/notifications", headers=zoe).get_json()
    assert feed["unread_count"] == 1
    assert feed["items"][0]["data"]["kind"] == "area_alert"
    assert feed["items"][0]["data"]["report_ids"] == alert.data["report_ids"]


def test_muted_area_alerts_reach_the_feed_without_a_push(app, client, zoe):
    subscribe(app, client, zoe)
    client.post("/v1/me/devices", headers=zoe, json={"token": "zoe-phone", "platform": "ios"})
    response = client.put(
        "/v1/me/notification-preferences", headers=zoe, json={"push": {"area_alert": False}}
    )
    assert response.status_code == 200 and response.get_json()["push"]["area_alert"] is False
    make_report(app, created_at=minutes(5))
    assert run(app, minutes(20)) == 1
    assert len(alerts(app)) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
        db.session.remove()


def test_quiet_hours_hold_an_alerts_push_until_their_end(app, client, zoe):
    subscribe(app, client, zoe)
    client.post("/v1/me/devices", headers=zoe, json={"token": "zoe-phone", "platform": "ios"})
    quiet = {"push": {}, "quiet_hours": {"start": "22:00", "end": "07:00"}}
    assert client.put("/v1/me/notification-preferences", headers=zoe, json=quiet).status_code == 200
    make_report(app, created_at=minutes(5))
    night = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    assert run(app, night) == 1
    with app.app_context():
        [delivery] = db.session.scalars(select(Delivery)).all()
        assert delivery.next_attempt_at == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
        db.session.remove()


# --- what is told ---------------------------------------------------------------------------


def grid_point(east_m: float = 0, north_m: float = 0) -> tuple[float, float]:
    """(lon, lat) of the public grid's node nearest central Dijon (Lambert-93, 50 m), moved
    ``east_m`` and ``north_m``: a report placed on a node has its own position as public one."""
    with db.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_Translate(ST_SnapToGrid("
                "ST_Transform(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 2154), 50), "
                ":e, :n), 4326) AS p) AS q"
            ),
            {"lon": DIJON[0], "lat": DIJON[1], "e": east_m, "n": north_m},
        ).one()
    return row[0], row[1]


def test_the_radius_is_measured_in_metres_a_few_either_side(app, client, zoe):
    with app.app_context():
        centre = grid_point()
        # On grid nodes, the public positions are the exact ones: 500 m in, 550 m out.
        inside = make_report(app, created_at=minutes(1), at=grid_point(east_m=500))
        outside = make_report(app, created_at=minutes(2), at=grid_point(east_m=550))
        db.session.remove()
    home = {**HOME, "point": {"lon": centre[0], "lat": centre[1]}, "radius_m": 505}
    subscribe(app, client, zoe, home)
    assert run(app, minutes(20)) == 1
    [alert] = alerts(app)
    assert told_ids(alert) == [inside]
    assert outside not in told_ids(alert)


def test_a_small_area_finds_a_report_by_its_public_position_never_its_exact_one(app, client, zoe):
    """A 5 m area on a report's exact spot would locate it far more finely than the 50 m grid
    every public channel shows: areas are matched against the public position."""
    with app.app_context():
        exact = grid_point(east_m=20)  # its public position is the node 20 m west
        node = grid_point()
        report_id = make_report(app, created_at=minutes(1), at=exact)
        db.session.remove()
    probe = {**HOME, "label": "Sonde", "point": {"lon": exact[0], "lat": exact[1]}, "radius_m": 5}
    subscribe(app, client, zoe, probe)
    assert run(app, minutes(20)) == 0
    assert alerts(app) == []
    # The same small area on the public position is told: it is what everyone is shown.
    on_node = {**probe, "label": "Nœud", "point": {"lon": node[0], "lat": node[1]}}
    subscribe(app, client, zoe, on_node)
    assert run(app, minutes(20)) == 1
    [alert] = alerts(app)
    assert told_ids(alert) == [report_id]


def test_a_commune_subscription_is_told_of_that_communes_reports_only(app, client, zoe):
    with app.app_context():
        other, lon, lat = db.session.execute(
            text(
                "SELECT insee_code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
                " FROM communes WHERE insee_code <> '21231' ORDER BY insee_code LIMIT 1"
            )
        ).one()
        name = db.session.scalar(text(f"SELECT name FROM communes WHERE insee_code = '{other}'"))
        db.session.remove()
    subscribe(app, client, zoe, {"commune": other})
    there = make_report(app, created_at=minutes(5), at=(lon, lat), commune=other)
    make_report(app, created_at=minutes(6))  # in Dijon
    assert run(app, minutes(20)) == 1
    [alert] = alerts(app)
    assert told_ids(alert) == [there]
    assert alert.title == f"Nouveaux signalements : {name} (1)"


def test_only_the_subscribed_categories_are_told(app, client, zoe):
    subscribe(app, client, zoe, {**HOME, "categories": ["streetlight_out"]})
    make_report(app, created_at=minutes(5), category="pothole")
    light = make_report(app, created_at=minutes(6), category="streetlight_out")
    assert run(app, minutes(20)) == 1
    [alert] = alerts(app)
    assert told_ids(alert) == [light]


def test_own_duplicate_and_unpositioned_reports_are_not_told(app, client, zoe):
    subscribe(app, client, zoe)
    original = make_report(app, created_at=minutes(1))
    make_report(app, created_at=minutes(2), reporter="zoe")
    make_report(app, created_at=minutes(3), status="duplicate", duplicate_of_id=original)
    make_report(
        app, created_at=minutes(4), at=None
    )  # waiting for its photo's position: not public yet
    assert run(app, minutes(20)) == 1
    [alert] = alerts(app)
    assert told_ids(alert) == [original]


def test_nothing_new_writes_no_notification(app, client, zoe):
    subscribe(app, client, zoe)
    with app.app_context():
        make_report(app, created_at=minutes(1), at=east_of(*DIJON, 3000))
    assert run(app, minutes(20)) == 0
    assert alerts(app) == []


def test_reports_before_the_subscription_are_not_told(app, client, zoe):
    make_report(app, created_at=T0 - timedelta(minutes=1))
    subscribe(app, client, zoe)
    assert run(app, minutes(20)) == 0


def test_the_alert_query_reads_an_index_by_time_or_by_place_never_the_whole_table(app, client, zoe):
    """20,000 reports over 100 days across the metropolis: an hour's window is read by
    creation time, a window of weeks (a watermark left behind) through the spatial index of
    geom_l93 (ST_DWithin in metres, no cast to geography)."""
    subscription_id = subscribe(app, client, zoe)
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO reports (category_id, geom, commune_insee, reporter_uid, "
                "created_at, routing) "
                "SELECT (SELECT id FROM categories WHERE code = 'pothole'), "
                "ST_SetSRID(ST_MakePoint(4.95 + random() * 0.2, 47.25 + random() * 0.15), "
                "4326), '21231', 'someone', :start + n * interval '432 seconds', '{}' "
                "FROM generate_series(1, 20000) AS n"
            ),
            {"start": T0 - timedelta(days=100)},
        )
        db.session.execute(text("ANALYZE reports"))
        db.session.commit()
        subscription = db.session.get(AreaSubscription, subscription_id)

        def plan(watermark: datetime) -> str:
            subscription.watermark = watermark
            query = areas.new_reports(subscription, minutes(20))
            compiled = query.compile(
                dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True}
            )
            rows = db.session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
            return "\n".join(row[0] for row in rows)

        hour, weeks = plan(minutes(-60)), plan(T0 - timedelta(days=60))
        db.session.rollback()
        db.session.remove()
    assert "Seq Scan on reports" not in hour and "ix_reports_created_at_id" in hour, hour
    assert "Seq Scan on reports" not in weeks and "idx_reports_geom_l93" in weeks, weeks


# --- the API --------------------------------------------------------------------------------


def test_a_subscription_is_created_read_listed_replaced_and_deleted(app, client, zoe):
    created = client.post("/v1/me/area-subscriptions", headers=zoe, json=HOME)
    assert created.status_code == 201
    body = created.get_json()
    assert body["point"] == HOME["point"] and body["radius_m"] == 500
    assert body["commune"] is None and body["categories"] == [] and body["label"] == "Maison"
    url = f"/v1/me/area-subscriptions/{body['id']}"
    assert client.get(url, headers=zoe).get_json() == body
    assert client.get("/v1/me/area-subscriptions", headers=zoe).get_json() == [body]
    replaced = client.put(
        url, headers=zoe, json={"commune": "21231", "categories": ["pothole", "pothole"]}
    )
    assert replaced.status_code == 200
    assert replaced.get_json()["commune"] == {"insee_code": "21231", "name": "Dijon"}
    assert replaced.get_json()["point"] is None and replaced.get_json()["radius_m"] is None
    assert replaced.get_json()["categories"] == ["pothole"] and replaced.get_json()["label"] is None
    assert client.delete(url, headers=zoe).status_code == 204
    assert client.get(url, headers=zoe).status_code == 404
    assert client.get("/v1/me/area-subscriptions", headers=zoe).get_json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**HOME, "radius_m": 0}, "radius_m"),
        ({**HOME, "radius_m": 2001}, "radius_m"),
        ({**HOME, "radius_m": 12.5}, "radius_m"),
        ({**HOME, "point": {"lon": 200, "lat": 47}}, "point"),
        ({"commune": "Dijon"}, "commune"),
        ({**HOME, "categories": ["Not A Code"]}, "categories"),
    ],
)
def test_an_invalid_subscription_is_refused_naming_the_field(client, zoe, body, field):
    response = client.post("/v1/me/area-subscriptions", headers=zoe, json=body)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "validation_failed"
    assert field in problem["errors"]["json"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"point": HOME["point"]}, "radius_m"),
        ({"commune": "21231", "radius_m": 100}, "radius_m"),
        ({**HOME, "commune": "21231"}, "point"),
        ({"categories": ["pothole"]}, "point"),
    ],
)
def test_a_point_with_a_radius_or_a_commune_is_required_not_both(client, zoe, body, field):
    response = client.post("/v1/me/area-subscriptions", headers=zoe, json=body)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "area_choice" and "radius_m" in problem["detail"]
    assert field in problem["errors"]["json"]
    assert client.get("/v1/me/area-subscriptions", headers=zoe).get_json() == []


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({**HOME, "point": {"lon": 2.3522, "lat": 48.8566}}, "outside_service_area", "point"),
        ({"commune": "75056"}, "commune_not_found", "commune"),
        ({**HOME, "categories": ["pothole", "no-such-thing"]}, "unknown_category", "categories"),
    ],
)
def test_an_area_or_category_we_do_not_have_is_refused(client, zoe, body, code, field):
    response = client.post("/v1/me/area-subscriptions", headers=zoe, json=body)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == code and field in problem["errors"]["json"]
    assert client.get("/v1/me/area-subscriptions", headers=zoe).get_json() == []


def test_a_retried_creation_makes_no_second_subscription(client, zoe):
    first = client.post("/v1/me/area-subscriptions", headers=zoe, json=HOME)
    again = client.post("/v1/me/area-subscriptions", headers=zoe, json=HOME)
    assert first.status_code == 201
    assert again.status_code == 409
    assert again.get_json()["code"] == "area_subscription_exists"
    assert again.get_json()["subscription_id"] == first.get_json()["id"]
    assert len(client.get("/v1/me/area-subscriptions", headers=zoe).get_json()) == 1


def test_the_same_commune_twice_is_refused_and_so_is_moving_onto_another_subscription(client, zoe):
    assert (
        client.post("/v1/me/area-subscriptions", headers=zoe, json={"commune": "21231"}).status_code
        == 201
    )
    again = client.post("/v1/me/area-subscriptions", headers=zoe, json={"commune": "21231"})
    assert again.status_code == 409
    other = client.post("/v1/me/area-subscriptions", headers=zoe, json=HOME).get_json()
    moved = client.put(
        f"/v1/me/area-subscriptions/{other['id']}", headers=zoe, json={"commune": "21231"}
    )
    assert moved.status_code == 409 and moved.get_json()["code"] == "area_subscription_exists"


def test_a_resident_has_at_most_the_configured_number_of_subscriptions(app, client, zoe):
    limit = app.config["AREA_SUBSCRIPTIONS_MAX"]
    for radius in range(1, limit + 1):
        response = client.post(
            "/v1/me/area-subscriptions", headers=zoe, json={**HOME, "radius_m": radius * 100}
        )
        assert response.status_code == 201
    over = client.post("/v1/me/area-subscriptions", headers=zoe, json={"commune": "21231"})
    assert over.status_code == 409
    assert over.get_json()["code"] == "area_subscriptions_limit"
    assert str(limit) in over.get_json()["detail"]
    assert len(client.get("/v1/me/area-subscriptions", headers=zoe).get_json()) == limit


def test_another_residents_subscription_is_not_found(client, zoe, auth):
    mine = client.post("/v1/me/area-subscriptions", headers=zoe, json=HOME).get_json()
    url = f"/v1/me/area-subscriptions/{mine['id']}"
    yann = auth(Role.RESIDENT, uid="yann")
    assert client.get(url, headers=yann).status_code == 404
    assert client.get(url, headers=yann).get_json()["code"] == "area_subscription_not_found"
    assert client.put(url, headers=yann, json={"commune": "21231"}).status_code == 404
    assert client.delete(url, headers=yann).status_code == 404
    assert client.get("/v1/me/area-subscriptions", headers=yann).get_json() == []
    assert client.get(url, headers=zoe).get_json() == mine


def test_the_cron_job_tells_due_subscriptions_by_the_databases_clock(app, client, zoe):
    from worker import cron, jobs

    assert (jobs.send_area_alerts, 60) in cron.SCHEDULE
    subscription_id = subscribe(app, client, zoe)
    with app.app_context():
        db.session.execute(
            update(AreaSubscription)
            .where(AreaSubscription.id == subscription_id)
            .values(watermark=func.now() - timedelta(minutes=10))
        )
        db.session.commit()
        now = db.session.scalar(select(func.now()))
        db.session.remove()
    fresh = make_report(app, created_at=now - timedelta(minutes=5))
    make_report(
        app, created_at=now + timedelta(minutes=5)
    )  # not yet created, as far as the job knows
    with app.app_context():
        assert jobs.send_area_alerts() == 1
        db.session.remove()
    [alert] = alerts(app)
    assert told_ids(alert) == [fresh]
