"""Nothing a reporter wrote or gave about themselves, nor where they live, reaches an open data
file: reports filed through the app and through Open311 with every personal field filled,
exported in every format (full and daily), each file read back as its users would."""

import csv
import io
import json
import math
import struct

import pyarrow.parquet as pq

from app.opendata import service
from app.storage import FilesystemStorage
from tests.conftest import MEDIA_ROOT
from tests.open311.conftest import api_key  # noqa: F401
from tests.opendata.conftest import database

SECRETS = {
    "description": "Le voisin du 3e, Mme Bernard, laisse ses sacs ici",
    "name": "Marguerite Tartempion",
    "first_name": "Marguerite",
    "last_name": "Tartempion",
    "email": "marguerite.tartempion@example.fr",
    "phone": "+33 6 98 76 54 32",
    "phone_digits": "698765432",
    "device_id": "device-7f3a9c",
    "street": "Chabot-Charny",
    "house_number": "17 bis",
    "answer": "LP-PRIVATE-42",
    "reporter": "resident-privacy",
    "supporter": "supporter-privacy",
}
# Two front doors: where the app's report and the partner's were made.
HOMES = [(5.043217, 47.321789), (5.046871, 47.318452)]
FILES = "/v1/opendata/files"


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(a[0] - b[0]) * math.cos(lat) * 6_371_000
    dy = math.radians(a[1] - b[1]) * 6_371_000
    return math.hypot(dx, dy)


def file_reports(client, auth, key: str) -> None:
    response = client.post(
        "/v1/reports",
        json={
            "category": "streetlight_out",
            "location": {"lon": HOMES[0][0], "lat": HOMES[0][1]},
            "address": f"{SECRETS['house_number']} {SECRETS['street']}, 21000 Dijon",
            "description": SECRETS["description"],
            "answers": {"pole_number": SECRETS["answer"]},
            "contact": {
                "name": SECRETS["name"],
                "email": SECRETS["email"],
                "phone": SECRETS["phone"],
            },
        },
        headers={**auth(uid=SECRETS["reporter"]), "Idempotency-Key": "privacy"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    support = client.post(
        f"/v1/reports/{response.get_json()['id']}/support",
        headers=auth(uid=SECRETS["supporter"]),
    )
    assert support.status_code < 300, support.get_data(as_text=True)
    partner = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "other",
            "lat": str(HOMES[1][1]),
            "long": str(HOMES[1][0]),
            "address_string": f"{SECRETS['house_number']}, {SECRETS['street']}",
            "description": SECRETS["description"],
            "first_name": SECRETS["first_name"],
            "last_name": SECRETS["last_name"],
            "email": SECRETS["email"],
            "phone": SECRETS["phone"],
            "device_id": SECRETS["device_id"],
            "media_url": "https://example.org/marguerite.jpg",
        },
    )
    assert partner.status_code == 201, partner.get_data(as_text=True)


def read_back(name: str, data: bytes) -> tuple[str, list[tuple[float, float]]]:
    """The file as text its users would see, and the positions it gives."""
    if name.endswith(".geojson"):
        features = json.loads(data)["features"]
        return data.decode(), [tuple(f["geometry"]["coordinates"]) for f in features]
    if name.endswith(".csv"):
        text = data.decode()
        rows = list(csv.DictReader(io.StringIO(text)))
        return text, [(float(r["lon"]), float(r["lat"])) for r in rows]
    rows = pq.read_table(io.BytesIO(data)).to_pylist()
    points = [struct.unpack("<BIdd", r.pop("geometry"))[2:] for r in rows]
    return json.dumps(rows, default=str, ensure_ascii=False), points


def test_no_reporter_data_nor_home_location_in_any_open_data_file(app, client, auth, api_key):  # noqa: F811
    file_reports(client, auth, api_key())
    with database(app) as session:
        service.export_reports(
            session, FilesystemStorage(MEDIA_ROOT), **service.settings(app.config)
        )
    listing = client.get(f"{FILES}?limit=200")
    names = [item["name"] for item in listing.get_json()["items"]]
    statistics = [name for name in names if name.startswith("statistics-")]
    assert len(statistics) == 8  # four tables, CSV and JSON
    texts, positions = [listing.get_data(as_text=True)], []
    for name in statistics:
        texts.append(client.get(f"{FILES}/{name}").get_data(as_text=True))
    texts.append(client.get("/v1/opendata/catalog").get_data(as_text=True))
    names = [name for name in names if name not in statistics]
    assert len(names) == 6  # full and one day, three formats
    for name in names:
        response = client.get(f"{FILES}/{name}")
        assert response.status_code == 200
        text, points = read_back(name, response.data)
        texts.append(text)
        positions += points
        assert len(points) == 2, name
    everything = "\n".join(texts)
    for what, secret in SECRETS.items():
        assert secret.lower() not in everything.lower(), what
    for home in HOMES:
        for digits in (f"{home[0]:.5f}", f"{home[1]:.5f}"):
            assert digits not in everything
        # Each report is shown on the grid: near its place, never at its door.
        nearest = min(metres(home, point) for point in positions)
        assert 1 < nearest < 50
