"""Routing inside the intake transaction: the resident's 201 already names the desk; the
crew and the explanation are for staff."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.extensions import db
from app.organisation.service import create_rule, put_crew
from app.users.models import Role

DIJON = {"lon": 5.0415, "lat": 47.3220}
POTHOLE = {"category": "pothole", "location": DIJON, "answers": {"size": "small"}}


def submit(client, headers, key, body=POTHOLE):
    response = client.post("/v1/reports", headers={**headers, "Idempotency-Key": key}, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_without_a_matching_rule_the_fallback_desk_gets_it_and_no_crew(client, auth):
    report = submit(client, auth(Role.RESIDENT, uid="ana"), "a")
    assert report["desk"]["code"] == "allo-mairie"
    staff = client.get(f"/v1/reports/{report['id']}", headers=auth(Role.AGENT)).get_json()
    assert staff["routing"]["desk"] == {"rule": "fallback", "desk": "allo-mairie"}
    assert staff["routing"]["crew"]["crew"] is None


def test_the_rule_picks_the_desk_and_the_fitting_crew_is_assigned(app, client, auth):
    with app.app_context():
        create_rule(
            db.session,
            {"name": "Nids-de-poule", "priority": 10, "desk": "voirie", "category": "pothole"},
        )
        put_crew(db.session, code="v-east", name="Est", desk="voirie", skills=["pothole"])
        put_crew(db.session, code="v-lights", name="Feux", desk="voirie", skills=["graffiti"])
        db.session.commit()
        db.session.remove()
    resident = auth(Role.RESIDENT, uid="ana")
    report = submit(client, resident, "a")
    assert report["desk"] == {
        "code": "voirie",
        "name_fr": report["desk"]["name_fr"],
        "name_en": report["desk"]["name_en"],
    }
    assert "routing" not in report and "crew" not in str(report)
    mine = client.get(f"/v1/reports/{report['id']}", headers=resident).get_json()
    assert "routing" not in mine
    staff = client.get(f"/v1/reports/{report['id']}", headers=auth(Role.AGENT)).get_json()
    assert staff["routing"]["desk"]["rule"]["name"] == "Nids-de-poule"
    assert staff["routing"]["crew"]["crew"] == "v-east"
    assert staff["routing"]["crew"]["workload"] == 0
    # The next one weighs on the same crew's workload count.
    second = submit(client, resident, "b", {**POTHOLE, "location": {"lon": 5.06, "lat": 47.33}})
    staff = client.get(f"/v1/reports/{second['id']}", headers=auth(Role.AGENT)).get_json()
    assert staff["routing"]["crew"] == {**staff["routing"]["crew"], "crew": "v-east", "workload": 1}
    assert staff["routing"]["crew"]["over_capacity"] is False


def test_routing_says_when_the_crew_it_proposes_is_over_capacity(app, client, auth):
    """The only crew fitting has 13 open tickets for a capacity of 13: it is proposed, and
    the explanation the desk reads says every candidate is full."""
    with app.app_context():
        create_rule(db.session, {"name": "Voirie", "priority": 10, "desk": "voirie"})
        put_crew(
            db.session, code="v-east", name="Est", desk="voirie", skills=["pothole"], capacity=13
        )
        db.session.commit()
        db.session.remove()
    resident = auth(Role.RESIDENT, uid="ana")
    for n in range(14):  # 80 m apart: no duplicates
        body = {**POTHOLE, "location": {"lon": 5.02 + n * 0.001, "lat": 47.33}}
        report = submit(client, resident, f"k{n}", body)
    staff = client.get(f"/v1/reports/{report['id']}", headers=auth(Role.AGENT)).get_json()
    crew = staff["routing"]["crew"]
    assert (crew["crew"], crew["workload"], crew["capacity"]) == ("v-east", 13, 13)
    assert crew["over_capacity"] is True
    assert "every candidate crew is at or over capacity" in crew["why"]
    assert "v-east: 13 open tickets for a capacity of 13" in crew["why"]


def test_a_point_on_the_border_of_two_communes_goes_to_one_the_lower_insee_code(app, client, auth):
    """A vertex shared by Dijon and Chenôve is covered by both: the report is created once,
    in Chenôve (21166 < 21231), the documented tie-break."""
    from sqlalchemy import text

    with app.app_context():
        lon, lat, covering = db.session.execute(
            text(
                "SELECT ST_X(p), ST_Y(p), (SELECT array_agg(insee_code ORDER BY insee_code)"
                " FROM communes WHERE ST_Covers(geom, p)) FROM (SELECT ST_PointN(ST_GeometryN("
                "ST_LineMerge(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))), 1), 2)"
                " AS p FROM communes a, communes b WHERE a.insee_code = '21231'"
                " AND b.insee_code = '21166') AS shared"
            )
        ).one()
        db.session.remove()
    assert covering == ["21166", "21231"]
    body = {**POTHOLE, "location": {"lon": lon, "lat": lat}}
    report = submit(client, auth(Role.RESIDENT, uid="ana"), "border", body)
    assert report["commune"]["insee_code"] == "21166"
    assert report["desk"] is not None


def test_with_routing_switched_off_a_report_gets_its_commune_and_nothing_else(
    app, client, auth, database_url
):
    """The switch the routing benchmark measures against: no desk, crew or duplicate."""
    from tests.conftest import make_app

    routed = submit(client, auth(Role.RESIDENT, uid="ana"), "a")
    assert routed["desk"] is not None
    unrouted_app = make_app(database_url, ROUTING_ENABLED=False)
    unrouted_client = unrouted_app.test_client()
    bare = submit(unrouted_client, auth(Role.RESIDENT, uid="bob"), "b")
    assert bare["commune"]["insee_code"] == "21231"
    assert bare["desk"] is None
    assert bare["status"] == "new" and bare["duplicate_of"] is None  # same place, not linked
    staff = unrouted_client.get(f"/v1/reports/{bare['id']}", headers=auth(Role.AGENT)).get_json()
    assert staff["routing"]["desk"] == {"why": "routing switched off"}
    with unrouted_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_time_of_day_rule_reads_the_database_s_clock_not_the_host_s(
    app, client, auth, now, time_machine
):
    dijon = now.astimezone(ZoneInfo("Europe/Paris"))
    window = {
        "starts_at": (dijon - timedelta(hours=1)).strftime("%H:%M"),
        "ends_at": (dijon + timedelta(hours=1)).strftime("%H:%M"),
    }
    with app.app_context():
        create_rule(
            db.session,
            {"name": "Astreinte", "priority": 10, "desk": "securite", **window},
        )
        db.session.commit()
        db.session.remove()
    # This server's clock is twelve hours off (and so is the token it is handed).
    time_machine.move_to(datetime.now(UTC) + timedelta(hours=12), tick=True)
    report = submit(client, auth(Role.RESIDENT, uid="ana"), "a")
    assert report["desk"]["code"] == "securite"
