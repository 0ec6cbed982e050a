"""No personal value reaches a public output (issue 18, part 4): reports filed through the app
and Open311 with names, e-mails, phones, free text and a reporter's front door, supported,
followed, photographed and worked by the desk; then every public channel read as its users
would (Open311 GeoReport v2 in JSON and XML with extensions, the API's public lists, map,
suggestions and report view, every open-data file in every format, read from the files the
export wrote) and searched for every personal value the database now holds in a column
marked personal and not published (app/personal_data.py), plus the values this test wrote.

"Exact home position": every report's position is treated as a possible front door (the
code does not tell a home from a street corner); public channels give it snapped to the
grid (app/reports/public.py), so the exact point, to 1 m, appears nowhere."""

import io
import json
import math
import struct
from pathlib import Path

import pyarrow.parquet as pq
from geoalchemy2 import Geometry
from sqlalchemy import JSON, func, select
from sqlalchemy.dialects.postgresql import JSONB

from app.extensions import db
from app.opendata import service as opendata
from app.privacy.register import marked_columns
from app.reports.photos import process_photo
from app.storage import FilesystemStorage
from app.users.models import Role
from tests.open311.conftest import BASE, api_key  # noqa: F401
from tests.photos.images import jpeg
from tests.triage.helpers import act

SECRETS = {
    "reporter uid": "resident-hortense-4f2a",
    "supporter uid": "resident-gaspard-9b1e",
    "name": "Hortense Vercingétorix",
    "email": "hortense.vercingetorix@example.fr",
    "phone": "+33 7 45 12 98 03",
    "phone digits": "745129803",
    "partner first name": "Anatole",
    "partner last name": "Zébulon-Fournier",
    "partner email": "anatole.zebulon@example.org",
    "partner phone": "03 80 99 41 27",
    "partner device": "device-anatole-77c",
    "typed address": "12 ter impasse des Griottes",
    "description": "Devant chez Mme Vercingétorix, digicode 4B27",
    "answer": "POTEAU-HORTENSE-31",
    "device token": "fcm-token-hortense-c0ffee",
    "area label": "Chez Hortense",
    "internal note": "Rappeler Mme Vercingétorix au 07 45 12 98 03",
}
# Two front doors, off the 50 m grid: the app's report and the partner's.
HOMES = [(5.038461, 47.324917), (5.047193, 47.317236)]
PUBLISHED = "Lampadaire éteint au bout de l'impasse"
# The marks whose values are derived from public data, and may be published verbatim:
# a notification repeats the desk's public message; a replayed answer is an API answer.
DERIVED = {"notification_text", "replayed_answer"}


def metres(a, b) -> float:
    lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(a[0] - b[0]) * math.cos(lat) * 6_371_000
    dy = math.radians(a[1] - b[1]) * 6_371_000
    return math.hypot(dx, dy)


def resident(auth, uid, key=None) -> dict:
    headers = auth(uid=uid)
    return {**headers, "Idempotency-Key": key} if key else headers


def file_everything(app, client, auth, key) -> dict:
    """Reports through both channels with every personal field, and what residents and the
    desk then do with them. Returns the ids and references to read back."""
    reporter = SECRETS["reporter uid"]
    filed = client.post(
        "/v1/reports",
        json={
            "category": "streetlight_out",
            "location": {"lon": HOMES[0][0], "lat": HOMES[0][1]},
            "address": SECRETS["typed address"],
            "description": SECRETS["description"],
            "answers": {"pole_number": SECRETS["answer"]},
            "contact": {
                "name": SECRETS["name"],
                "email": SECRETS["email"],
                "phone": SECRETS["phone"],
            },
        },
        headers=resident(auth, reporter, "public-outputs"),
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    report = filed.get_json()
    photo = client.post(
        f"/v1/reports/{report['id']}/photos",
        data={"file": (io.BytesIO(jpeg()), "photo.jpg")},
        headers=resident(auth, reporter, "public-outputs-photo"),
    )
    assert photo.status_code == 202, photo.get_data(as_text=True)
    with app.app_context():
        assert process_photo(db.session, photo.get_json()["id"]) == "ready"
        db.session.remove()
    supported = client.post(
        f"/v1/reports/{report['id']}/support", headers=resident(auth, SECRETS["supporter uid"])
    )
    assert supported.status_code < 300, supported.get_data(as_text=True)
    for path, body in (
        ("/v1/me/devices", {"token": SECRETS["device token"], "platform": "android"}),
        (
            "/v1/me/area-subscriptions",
            {
                "point": {"lon": HOMES[0][0], "lat": HOMES[0][1]},
                "radius_m": 300,
                "label": SECRETS["area label"],
            },
        ),
    ):
        made = client.post(path, json=body, headers=resident(auth, reporter))
        assert made.status_code < 300, made.get_data(as_text=True)
    # The desk works it: a note, the description rewritten for the public, a public update.
    desk = auth(Role.SUPERVISOR)
    for action, body in (
        ("note", {"note": SECRETS["internal note"]}),
        ("publish_description", {"description": PUBLISHED}),
        ("public_update", {"message": {"fr": "Intervention prévue lundi"}}),
    ):
        done = act(client, desk, report["id"], action, body)
        assert done.status_code == 200, done.get_data(as_text=True)
    partner = client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": key,
            "service_code": "other",
            "lat": str(HOMES[1][1]),
            "long": str(HOMES[1][0]),
            "address_string": SECRETS["typed address"],
            "description": SECRETS["description"],
            "first_name": SECRETS["partner first name"],
            "last_name": SECRETS["partner last name"],
            "email": SECRETS["partner email"],
            "phone": SECRETS["partner phone"],
            "device_id": SECRETS["partner device"],
        },
    )
    assert partner.status_code == 201, partner.get_data(as_text=True)
    (created,) = partner.get_json()
    return {
        "ids": [report["id"]],
        "photo": photo.get_json()["id"],
        "references": [report["reference"], created["service_request_id"]],
        "token": created["token"],
    }


def open311_bodies(client, filed) -> list[bytes]:
    references = filed["references"]
    bodies = []
    for fmt in ("json", "xml"):
        paths = [
            f"/discovery.{fmt}",
            f"/services.{fmt}",
            f"/requests.{fmt}",
            f"/requests.{fmt}?extensions=true",
            f"/requests.{fmt}?service_request_id={','.join(references)}&extensions=true",
            f"/tokens/{filed['token']}.{fmt}",
            *(f"/requests/{r}.{fmt}" for r in references),
            *(f"/requests/{r}.{fmt}?extensions=true" for r in references),
        ]
        for path in paths:
            response = client.get(BASE + path)
            assert response.status_code == 200, path
            bodies.append(response.data)
    listed = client.get(f"{BASE}/requests.json?extensions=true").get_json()
    assert {r["service_request_id"] for r in listed} == set(references)
    return bodies


def api_bodies(client, auth, filed) -> list[bytes]:
    """The public channels of the API, as someone else (and without a token where open)."""
    lon, lat = HOMES[0]
    someone = auth(uid="resident-passer-by")
    report_id, photo_id = filed["ids"][0], filed["photo"]
    paths = [
        f"/v1/reports?near={lon},{lat}&radius=2000",
        f"/v1/reports?bbox={lon - 0.02},{lat - 0.02},{lon + 0.02},{lat + 0.02}",
        f"/v1/reports/geojson?bbox={lon - 0.02},{lat - 0.02},{lon + 0.02},{lat + 0.02}",
        f"/v1/reports/geojson?near={lon},{lat}&radius=2000",
        f"/v1/reports/suggestions?lon={lon}&lat={lat}&category=streetlight_out",
        f"/v1/reports/{report_id}",
        f"/v1/reports/{report_id}/history",
        f"/v1/reports/{report_id}/photos/{photo_id}",
    ]
    bodies = []
    for path in paths:
        response = client.get(path, headers=someone)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        bodies.append(response.data)
    view = json.loads(bodies[5])
    assert PUBLISHED in json.dumps(view, ensure_ascii=False), view  # the published version
    media = client.get(view["photos"][0]["url"]) if view.get("photos") else None
    if media is not None:
        assert media.status_code == 200
        bodies.append(media.data)
    return bodies


def open_data_files(app, client, tmp_path: Path) -> tuple[list[bytes], list[tuple]]:
    """Every file the export writes, read from the folder it wrote them to: raw bytes, and
    as their users read them (GeoParquet through pyarrow); plus the catalogue and lists."""
    with app.app_context():
        opendata.export_reports(
            db.session, FilesystemStorage(tmp_path), **opendata.settings(app.config)
        )
        opendata.export_reports(db.session, opendata_storage(), **opendata.settings(app.config))
        db.session.remove()
    files = sorted(path for path in tmp_path.rglob("*") if path.is_file())
    suffixes = {path.name.rsplit(".", 1)[-1] for path in files}
    assert {"csv", "geojson", "parquet"} <= suffixes, suffixes
    bodies, points = [], []
    for path in files:
        data = path.read_bytes()
        bodies.append(data)
        if path.suffix == ".parquet":
            rows = pq.read_table(io.BytesIO(data)).to_pylist()
            for row in rows:
                if isinstance(row.get("geometry"), bytes):
                    points.append(struct.unpack("<BIdd", row.pop("geometry"))[2:])
            bodies.append(json.dumps(rows, default=str, ensure_ascii=False).encode())
        elif path.suffix == ".geojson":
            points += [
                tuple(f["geometry"]["coordinates"])
                for f in json.loads(data).get("features", [])
                if f.get("geometry")
            ]
    listing = client.get("/v1/opendata/files?limit=200")
    bodies += [listing.data, client.get("/v1/opendata/catalog").data]
    for item in listing.get_json()["items"]:
        bodies.append(client.get(f"/v1/opendata/files/{item['name']}").data)
    for table in ("reports-by-month", "resolution-times", "service-level", "sources"):
        bodies.append(client.get(f"/v1/opendata/statistics/{table}").data)
    return bodies, points


def opendata_storage():
    from app.photos.service import storage

    return storage()


def readable(body: bytes) -> str:
    """The body as text, and, when it is JSON, once more with its escapes read (the API
    writes "é" as "\\u00e9": a name with an accent would not be found in the raw bytes)."""
    text = body.decode("utf-8", "replace")
    try:
        return text + "\n" + json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        return text


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def held_personal_values(app) -> tuple[set[str], list[tuple[float, float]]]:
    """Every value the database holds in a column marked personal and not published (the
    public audience aside), and every exact position those columns hold."""
    values, positions = set(), []
    with app.app_context():
        for table_name, column_name, mark in marked_columns(db.metadata):
            if "public" in mark.audience or mark.what in DERIVED:
                continue
            column = db.metadata.tables[table_name].c[column_name]
            if isinstance(column.type, Geometry):
                if column.type.srid != 4326:
                    continue  # the same point as its WGS 84 column
                rows = db.session.execute(
                    select(func.ST_X(column), func.ST_Y(column)).where(column.is_not(None))
                )
                positions += [tuple(row) for row in rows]
                continue
            for value in db.session.scalars(select(column).where(column.is_not(None))):
                if isinstance(column.type, (JSON, JSONB)):
                    values.update(_strings(value))
                else:
                    values.add(str(value))
        db.session.remove()
    # Short values (a choice's code, "android") say nothing about anyone.
    return {value for value in values if len(value) >= 8}, positions


def test_no_personal_value_reaches_any_public_output(app, client, auth, api_key, tmp_path):  # noqa: F811
    filed = file_everything(app, client, auth, api_key())
    bodies = open311_bodies(client, filed) + api_bodies(client, auth, filed)
    files, points = open_data_files(app, client, tmp_path)
    bodies += files
    everything = "\n".join(readable(body) for body in bodies).lower()

    held, positions = held_personal_values(app)
    # The database holds what this test wrote (the marks do find it), and more.
    for what in ("reporter uid", "email", "phone", "typed address", "device token"):
        assert SECRETS[what] in held, what
    leaks = sorted(value for value in held | set(SECRETS.values()) if value.lower() in everything)
    assert leaks == []

    # The exact positions: never written out, never given to within a metre.
    assert len(positions) >= 3  # two reports and a watched area
    for lon, lat in positions:
        for digits in (f"{lon:.5f}", f"{lat:.5f}"):
            assert digits not in everything, digits
    assert len(points) >= 4  # each report in each geographic file
    for home in HOMES:
        nearest = min(metres(home, point) for point in points)
        assert 1 < nearest < 50, (home, nearest)
