"""One public projection of a report for every channel (app.reports.public): the API's list,
map, suggestions and report view, Open311 and open data all show the same position on the
50 m grid and the same street from the address register, never the exact point nor what the
resident typed; searches by place go by that same position."""

import csv
import io
import math

import pytest
from sqlalchemy import func, select, text, true

from app.extensions import db
from app.opendata import service as opendata
from app.reports import public
from app.reports.models import Report
from app.storage import FilesystemStorage
from app.users.models import Role
from tests.addresses.conftest import add_addresses
from tests.conftest import MEDIA_ROOT
from tests.factories import database

FRONT_DOOR = (5.043217, 47.321789)
TYPED = "Chez Zorglub Quenneville, 17 rue Chabot-Charny, 06 12 34 56 78"
STREET = "Rue Chabot-Charny 21000 Dijon"
# The register: the resident's own door, and a door of another street 150 m north.
REGISTER = [
    ("21231_0999_00017", 17, "", "Rue Chabot-Charny", "21000", "21231", "Dijon", *FRONT_DOOR),
    ("21231_0777_00002", 2, "", "Rue Buffon", "21000", "21231", "Dijon", 5.043217, 47.32314),
]


def metres(a, b) -> float:
    lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(a[0] - b[0]) * math.cos(lat) * 6_371_000
    dy = math.radians(a[1] - b[1]) * 6_371_000
    return math.hypot(dx, dy)


def file_report(client, auth, at=FRONT_DOOR, key="front-door", **fields) -> dict:
    body = {
        "category": "pothole",
        "location": {"lon": at[0], "lat": at[1]},
        "address": TYPED,
        "description": "Devant chez Mme Bernard, 3e étage",
        "answers": {"size": "large"},
        **fields,
    }
    headers = {**auth(Role.RESIDENT, uid="the-reporter"), "Idempotency-Key": key}
    response = client.post("/v1/reports", headers=headers, json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def snapped(app, report_id: int) -> tuple[float, float]:
    """The report's position on the 50 m Lambert-93 grid, in WGS 84, computed here."""
    with app.app_context():
        point = func.ST_Transform(func.ST_SnapToGrid(Report.geom_l93, 50), 4326)
        lon, lat = db.session.execute(
            select(func.ST_X(point), func.ST_Y(point)).where(Report.id == report_id)
        ).one()
        db.session.remove()
    return round(lon, 6), round(lat, 6)


def test_every_public_channel_shows_the_same_projection_of_a_report(app, client, auth):
    with database(app) as session:
        add_addresses(session, REGISTER)
    report = file_report(client, auth)
    reference, lon, lat = report["reference"], *FRONT_DOOR
    resident, anonymous = auth(), auth(anonymous=True)
    seen = {}  # channel -> (lon, lat, address)
    item = client.get(f"/v1/reports?near={lon},{lat}&radius=300", headers=resident).get_json()
    (item,) = item["items"]
    seen["list"] = (*item["location"]["coordinates"], item["address"])
    box = f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"
    features = client.get(f"/v1/reports/geojson?bbox={box}", headers=anonymous).get_json()
    (feature,) = features["features"]
    seen["map"] = (*feature["geometry"]["coordinates"], feature["properties"]["address"])
    suggestions = client.get(
        f"/v1/reports/suggestions?lon={lon}&lat={lat}&category=pothole", headers=resident
    ).get_json()
    (suggestion,) = suggestions["items"]
    seen["suggestions"] = (*suggestion["location"]["coordinates"], suggestion["address"])
    for name, headers in (("view", resident), ("anonymous view", anonymous)):
        view = client.get(f"/v1/reports/{report['id']}", headers=headers).get_json()
        seen[name] = (*view["location"]["coordinates"], view["address"])
    for fmt in ("json", "xml"):
        response = client.get(f"/open311/v2/requests/{reference}.{fmt}")
        assert response.status_code == 200
        if fmt == "json":
            (request,) = response.get_json()
            seen["open311"] = (request["long"], request["lat"], request["address"])
        else:
            assert f"<address>{STREET}</address>" in response.get_data(as_text=True)
    with database(app) as session:
        storage = FilesystemStorage(MEDIA_ROOT)
        opendata.export_reports(session, storage, **opendata.settings(app.config))
    exported = client.get("/v1/opendata/files/reports.csv").get_data(as_text=True)
    (row,) = csv.DictReader(io.StringIO(exported))
    assert "address" not in row  # open data names no street: the commune only
    grid = snapped(app, report["id"])
    assert (float(row["lon"]), float(row["lat"])) == grid
    for channel, (x, y, address) in seen.items():
        assert ((x, y), address) == (grid, STREET), channel
    assert 1 < metres(grid, FRONT_DOOR) < 36  # near the door, never at it


def test_the_typed_address_and_the_exact_point_reach_no_public_channel(app, client, auth):
    with database(app) as session:
        add_addresses(session, REGISTER)
    report = file_report(client, auth)
    resident = auth()
    texts = [
        client.get(url, headers=resident).get_data(as_text=True)
        for url in (
            "/v1/reports",
            "/v1/reports/geojson",
            f"/v1/reports/{report['id']}",
            f"/v1/reports/suggestions?lon={FRONT_DOOR[0]}&lat={FRONT_DOOR[1]}&category=pothole",
        )
    ]
    for fmt in ("json", "xml"):
        for path in (f"requests.{fmt}?extensions=true", f"requests/{report['reference']}.{fmt}"):
            texts.append(client.get(f"/open311/v2/{path}").get_data(as_text=True))
    everything = "\n".join(texts)
    for secret in ("Zorglub", "Quenneville", "06 12 34 56 78", "17 rue", "Mme Bernard"):
        assert secret not in everything, secret
    for digits in (f"{FRONT_DOOR[0]:.5f}", f"{FRONT_DOOR[1]:.5f}"):
        assert digits not in everything
    assert STREET in everything
    # Its reporter still sees what they typed, where they were.
    mine = client.get(f"/v1/reports/{report['id']}", headers=auth(uid="the-reporter")).get_json()
    assert (mine["address"], mine["location"]["coordinates"]) == (TYPED, list(FRONT_DOOR))


def test_the_street_is_the_registers_nearest_to_the_public_position_or_none(app, client, auth):
    with database(app) as session:
        add_addresses(session, REGISTER)
    near_buffon = file_report(client, auth, at=(5.043217, 47.32305), key="buffon")
    # Over a kilometre from any address of the register: no street rather than a far one.
    nowhere = file_report(client, auth, at=(5.06, 47.335), key="nowhere")
    resident = auth()
    view = client.get(f"/v1/reports/{near_buffon['id']}", headers=resident).get_json()
    assert view["address"] == "Rue Buffon 21000 Dijon"
    view = client.get(f"/v1/reports/{nowhere['id']}", headers=resident).get_json()
    assert view["address"] is None
    (request,) = client.get(f"/open311/v2/requests/{nowhere['reference']}.json").get_json()
    assert "address" not in request  # left out, as every field without a value


def test_a_search_by_place_goes_by_the_public_position_not_the_exact_one(app, client, auth):
    """Otherwise a few searches with a small radius would find the front door."""
    report = file_report(client, auth)
    grid = snapped(app, report["id"])
    resident = auth()

    def found(query: str) -> bool:
        page = client.get(f"/v1/reports?{query}", headers=resident).get_json()
        return [item["id"] for item in page["items"]] == [report["id"]]

    lon, lat = FRONT_DOOR
    assert not found(f"near={lon},{lat}&radius=1")
    assert found(f"near={grid[0]},{grid[1]}&radius=1")
    tiny = 0.00001  # about a metre
    assert not found(f"bbox={lon - tiny},{lat - tiny},{lon + tiny},{lat + tiny}")
    assert found(f"bbox={grid[0] - tiny},{grid[1] - tiny},{grid[0] + tiny},{grid[1] + tiny}")
    suggestions = client.get(
        f"/v1/reports/suggestions?lon={lon}&lat={lat}&category=pothole", headers=resident
    ).get_json()["items"]
    assert suggestions[0]["distance_m"] == pytest.approx(metres(grid, FRONT_DOOR), rel=0.01)
    # The reporter's own list goes by their exact place.
    mine = client.get(
        f"/v1/me/reports?near={lon},{lat}&radius=1", headers=auth(uid="the-reporter")
    ).get_json()
    assert [item["id"] for item in mine["items"]] == [report["id"]]


def test_the_street_is_found_on_the_registers_gist_index(app, session):
    """A page of 1000 Open311 requests looks up 1000 streets: each one a KNN step on the
    register's Lambert-93 index, never a scan of the register."""
    session.execute(
        text(
            "INSERT INTO addresses (id, numero, nom_voie, code_postal, commune_insee,"
            " nom_commune, label, search, geom)"
            " SELECT 'gen_' || n, n, 'Rue ' || n, '21000', '21231', 'Dijon', 'x', 'x',"
            " ST_Transform(ST_SetSRID(ST_MakePoint(850000 + random() * 8000,"
            " 6688000 + random() * 8000), 2154), 4326)"
            " FROM generate_series(1, 20000) AS n"
        )
    )
    session.commit()
    session.execute(text("ANALYZE addresses"))
    place = public.place(50)
    query = select(Report.id, place.c.address).join(place, true())
    compiled = query.compile(dialect=db.engine.dialect)
    plan = "\n".join(
        row[0]
        for row in session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
    )
    assert "idx_addresses_geom_l93" in plan, plan
    assert "Seq Scan on addresses" not in plan, plan
