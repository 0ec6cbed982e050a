"""The public lists' pages built as JSON by PostgreSQL (app.reports.documents) are the
documents Python wrote before, over varied reports: every status, with and without photos
(ready or not, of each kind), a published description or none, duplicates, with and
without desk, commune and a street in the register, date-times with and without
microseconds, ties on the creation time; the same fields, in the same order, with the same
values and number types, page after page (cursors included).

The oracle is the former path, kept here only: the reports loaded as ORM objects with their
public projection, ``service.present``, the response schema, Flask's JSON."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import and_, or_, select, true

from app.categories.models import Category
from app.extensions import db
from app.geo.arguments import in_lambert93_domain, lambert93, parse_bbox, parse_point
from app.geojson import page_as_features
from app.pagination import paginate
from app.photos import service as photos
from app.photos.models import PROCESSING, READY, REJECTED, Photo
from app.reports import public, service
from app.reports.models import CLOSED_STATUSES, STATUSES, Report
from app.reports.queries import SUGGESTION_RADIUS_M, SUGGESTIONS
from app.reports.schemas import (
    ReportCollectionSchema,
    ReportPageSchema,
    ReportSchema,
    SuggestionListSchema,
)
from tests.addresses.conftest import add_addresses
from tests.factories import make_report

GRID = 50
CENTRE = (5.0415, 47.3220)
# One door of the register near the centre: reports there have a street, others none.
REGISTER = [
    ("21231_0420_00012", 12, "", "Rue de la Liberté", "21000", "21231", "Dijon", *CENTRE),
]
PUBLIC_FIELDS = set(ReportSchema().fields)
TEXT = 'Nid-de-poule « profond »\n"devant" le n°3 \\ côté\tgauche'


# --- the oracle: the former Python path --------------------------------------------------


def _old_rows(session, *, near=None, radius=500, bbox=None, category=None, status=None,
              after=None, limit=50):  # fmt: skip
    place = public.place(GRID)
    query = (
        select(Report, place.c.lon, place.c.lat, place.c.address)
        .join(place, true())
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(limit + 1)
    )
    if near:
        lon, lat = parse_point(near)
        if not in_lambert93_domain(lon, lat):
            return paginate([], limit, None)
        query = query.where(public.within(GRID, lambert93(lon, lat), radius))
    if bbox:
        query = query.where(public.in_box(GRID, *parse_bbox(bbox)))
    if category:
        query = query.join(Category).where(Category.code == category)
    if status:
        query = query.where(Report.status == status)
    query = query.where(Report.geom.is_not(None))
    if after:
        created_at, report_id = after
        query = query.where(
            or_(
                Report.created_at < created_at,
                and_(Report.created_at == created_at, Report.id < report_id),
            )
        )
    rows = [(row.Report, public.PublicPlace.of(row)) for row in session.execute(query).unique()]
    page = paginate(rows, limit, lambda row: [row[0].created_at.isoformat(), row[0].id])
    shown = photos.photos_of(session, [r.id for r, _ in page["items"]])
    page["items"] = [
        service.present(r, None, shown.get(r.id, ()), place=place) for r, place in page["items"]
    ]
    return page


def _old_suggestions(session, lon, lat, category):
    here = lambert93(lon, lat)
    place = public.place(GRID)
    distance = public.distance(GRID, here)
    query = (
        select(Report, place.c.lon, place.c.lat, place.c.address, distance.label("distance_m"))
        .join(Category, Report.category_id == Category.id)
        .join(place, true())
        .where(
            Category.code == category,
            Report.status.not_in(CLOSED_STATUSES),
            public.within(GRID, here, SUGGESTION_RADIUS_M),
        )
        .order_by(distance, Report.id)
        .limit(SUGGESTIONS)
    )
    rows = [
        (row.Report, public.PublicPlace.of(row), row.distance_m)
        for row in session.execute(query).unique()
    ]
    shown = photos.photos_of(session, [r.id for r, _, _ in rows])
    return {
        "items": [
            {**service.present(r, None, shown.get(r.id, ()), place=p), "distance_m": d}
            for r, p, d in rows
        ]
    }


def _flask_json(app, schema, document) -> str:
    """What flask-smorest's response wrote: the schema's dump through Flask's JSON."""
    with app.app_context():
        return app.json.dumps(schema().dump(document))


def _cursor_after(page: dict):
    from app.reports.queries import parse_cursor

    return parse_cursor(page["next_cursor"])


def parsed(text: str):
    """The document with its keys' order and its numbers as written (50 and 50.0 differ)."""
    return json.loads(
        text,
        object_pairs_hook=list,
        parse_float=lambda s: ("float", s),
        parse_int=lambda s: ("int", s),
    )


# --- the reports -------------------------------------------------------------------------


def _photo(session, report_id, kind, status, n):
    session.add(
        Photo(
            report_id=report_id,
            kind=kind,
            status=status,
            display_key=f"display/{n:02d}/{n:064x}.jpg" if status == READY else None,
            thumbnail_key=f"thumbnails/{n:02d}/{n:064x}.jpg" if status == READY else None,
            width=1600 if status == READY else None,
            height=1200 if status == READY else None,
            reject_reason="corrupt" if status == REJECTED else None,
            uploaded_by="someone",
        )
    )


@pytest.fixture
def varied(app, session):
    """Reports of every kind around the centre, a few metres to a few hundred apart."""
    add_addresses(session, REGISTER)
    base = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
    ids = []
    for n, status in enumerate(STATUSES * 2):
        columns = {
            "created_at": base + timedelta(minutes=n)
            if n % 3
            else base.replace(microsecond=0) + timedelta(minutes=n),
            "public_description": TEXT if n % 2 else None,
            "support_count": n % 4,
            "address": f"{n} rue de chez moi, 06 12 34 56 78",
            "description": "Mme Bernard, 3e étage",
        }
        if n == 5:  # a tie on the creation time: the id breaks it
            columns["created_at"] = ids and session.scalar(
                select(Report.created_at).where(Report.id == ids[-1])
            )
        if status == "duplicate":
            columns["duplicate_of_id"] = ids[0]
        at = (CENTRE[0] + 0.0007 * (n % 6), CENTRE[1] + 0.0004 * (n // 6))
        if n in (7, 8):  # far from every address of the register
            at = (5.0700 + 0.001 * n, 47.3300)
        ids.append(
            make_report(
                session,
                status=status,
                category=("pothole", "other", "streetlight_out")[n % 3],
                desk=None if n == 4 else "voirie",
                crew=None,
                commune=None if n == 6 else "21231",
                at=at,
                reporter=f"resident-{n}",
                contact={"name": "Camille", "email": "camille@example.fr"} if n == 2 else None,
                **columns,
            )
        )
    kinds = [("report", READY), ("after", READY), ("reopen", READY), ("report", PROCESSING),
             ("report", REJECTED)]  # fmt: skip
    for n, report_id in enumerate(ids[:6]):
        for k in range(n % 4):
            _photo(session, report_id, *kinds[(n + k) % len(kinds)], n * 10 + k)
    _photo(session, ids[9], "report", PROCESSING, 99)
    make_report(session, at=None, reporter="waiting-for-gps")  # not public yet
    session.commit()
    return ids


LISTS = [
    "",
    "bbox=5.040,47.321,5.046,47.324",
    "near=5.0415,47.322&radius=200",
    "near=5.0415,47.322&radius=200&category=pothole",
    "status=duplicate",
    "status=new",
    "category=other",
    "near=-180,-90",
]


@pytest.mark.parametrize("query", LISTS)
@pytest.mark.parametrize("limit", [3, 50])
def test_list_pages_and_map_pages_are_the_former_documents(
    app, client, auth, session, varied, query, limit
):
    headers = auth()
    args = {
        k: int(v) if k == "radius" else v
        for k, v in (pair.split("=") for pair in query.split("&") if pair)
    }
    for path, schema, shape in (
        ("/v1/reports", ReportPageSchema, lambda page: page),
        ("/v1/reports/geojson", ReportCollectionSchema, page_as_features),
    ):
        cursor, pages = None, 0
        while True:
            url = f"{path}?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
            response = client.get(url, headers=headers)
            assert response.status_code == 200, response.get_data(as_text=True)
            assert response.mimetype == "application/json"
            old_page = _old_rows(
                session,
                after=_cursor_after({"next_cursor": cursor}),
                limit=limit,
                **args,
            )
            expected = _flask_json(app, schema, shape(old_page))
            assert parsed(response.get_data(as_text=True)) == parsed(expected), url
            cursor = response.get_json()["next_cursor"]
            pages += 1
            if not cursor:
                break
        total = len(_old_rows(session, limit=1000, **args)["items"])
        assert pages == max(1, -(-total // limit))


def test_the_pages_cover_every_case(app, session, varied):
    """The fixture is what the comparison claims: each case is on the public list."""
    page = _old_rows(session, limit=1000)
    items = page["items"]
    assert len(items) == len(varied)
    assert {i["status"] for i in items} == set(STATUSES)
    assert any(i["photos"] for i in items) and any(not i["photos"] for i in items)
    assert {p["kind"] for i in items for p in i["photos"]} == {"report", "after", "reopen"}
    assert any(i["public_description"] for i in items)
    assert any(i["public_description"] is None for i in items)
    assert any(i["duplicate_of"] for i in items)
    assert any(i["address"] for i in items) and any(i["address"] is None for i in items)
    assert any(i["desk"] is None for i in items) and any(i["commune"] is None for i in items)
    stamps = [i["created_at"] for i in items]
    assert any(s.microsecond == 0 for s in stamps) and any(s.microsecond for s in stamps)
    assert len(set(stamps)) < len(stamps)  # a tie


@pytest.mark.parametrize(
    ("lon", "lat", "category"),
    [(5.0415, 47.322, "pothole"), (5.0432, 47.3224, "other"), (5.0, 47.0, "pothole")],
)
def test_suggestions_are_the_former_documents(
    app, client, auth, session, varied, lon, lat, category
):
    response = client.get(
        f"/v1/reports/suggestions?lon={lon}&lat={lat}&category={category}", headers=auth()
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    expected = _flask_json(app, SuggestionListSchema, _old_suggestions(session, lon, lat, category))
    assert parsed(response.get_data(as_text=True)) == parsed(expected)
    if lon != 5.0:
        assert response.get_json()["items"]


def test_integral_floats_are_written_as_python_writes_them(session):
    from app.reports.documents import number

    values = [50.0, 0.0, -3.0, 47.322, 5.0415, 1e-05, 123456.789, 1e15, 2.5e16]
    for value in values:
        written = session.scalar(select(db.func.cast(number(db.literal(value)), db.Text)))
        assert written == json.dumps(value), value


def test_public_documents_carry_nothing_of_the_reporter_nor_the_exact_place(
    app, client, auth, session, varied
):
    headers = auth()
    exact = {
        (round(x, 6), round(y, 6))
        for x, y in session.execute(
            select(db.func.ST_X(Report.geom), db.func.ST_Y(Report.geom)).where(
                Report.geom.is_not(None)
            )
        )
    }
    for url in (
        "/v1/reports?limit=200",
        "/v1/reports/geojson?limit=200",
        "/v1/reports/suggestions?lon=5.0415&lat=47.322&category=pothole",
    ):
        text = client.get(url, headers=headers).get_data(as_text=True)
        for secret in ("resident-", "rue de chez moi", "06 12 34", "Mme Bernard", "Camille"):
            assert secret not in text, (url, secret)
        document = json.loads(text)
        items = document.get("items") or [
            {**f["properties"], "location": f["geometry"]} for f in document["features"]
        ]
        assert items
        for item in items:
            assert set(item) - {"distance_m"} == set(
                ReportPageSchema().fields["items"].inner.schema.fields
            )
            assert tuple(item["location"]["coordinates"]) not in exact
            assert all(p["status"] == "ready" for p in item["photos"])
