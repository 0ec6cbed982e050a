"""The public lists' documents (``GET /v1/reports``, its GeoJSON, ``near`` and the
suggestions) as JSON text built by PostgreSQL in the statement that selects them, as
Open311's are (app/open311/queries.py): loading a page's reports, their relations and
photos as ORM objects and serialising them in Python cost about 17 times the SQL of the
page (issue 19: 31 requests/s for the bbox page of the map at 1,000,000 reports).

Each document is the one the schemas (ReportSchema, its GeoJSON feature, SuggestionSchema)
wrote from ``service.present`` through Flask's JSON: the same fields in the same order
(Flask sorts keys), the same nulls, the same photo URLs, date-times as Python's
``isoformat`` writes them and floats as Python's JSON does (``50.0``, where PostgreSQL
writes ``50``). tests/reports/test_public_documents.py compares them with that path.

What they show is the report's public projection (app.reports.public) and nothing else:
no reporter field, no exact position, of the description only what moderation published,
the public photos only (ready and not hidden: Photo.is_public); and nothing depends on who
asks (the same names in both languages), so that a page can be shared by every caller
(app/reports/cache.py).

The value writers (:func:`text_constant`, :func:`number`, :func:`isoformat`) are this
module's public API: the work lists' documents (app/worklists/queries.py) write their values
the same way.
"""

import json

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    Text,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by
from sqlalchemy.orm import aliased

from app.categories.models import Category
from app.geo.models import Commune
from app.organisation.models import Desk
from app.photos.models import Photo
from app.reports.models import Report

_ORIGINAL = aliased(Report)
# Where photos are served (app.photos.service.present: relative URLs).
MEDIA_PATH = "/v1/media/"


def _object(fields: dict) -> ColumnElement:
    """A JSON object of ``fields``, its keys in the order Flask's JSON wrote them (sorted)."""
    return func.json_build_object(
        *(part for name in sorted(fields) for part in (text_constant(name), fields[name]))
    )


def text_constant(value: str) -> ColumnElement:
    """A constant of ours (a key, a type name), written into the statement."""
    if "'" in value:
        raise ValueError(value)
    return literal_column(f"'{value}'::text", String)


def number(value) -> ColumnElement:
    """A float8 as Python's JSON writes it: integral values keep their ``.0`` (PostgreSQL
    would write ``50`` for Python's ``50.0``); otherwise both write the shortest exact
    digits (in the same notation below 1e15 in magnitude: coordinates and distances are).
    """
    integral = cast(cast(cast(value, BigInteger), Text).concat(".0"), JSON)
    return case(
        ((func.abs(value) < 1e16) & (value == func.trunc(value)), integral),
        else_=func.to_json(value),
    )


def isoformat(value) -> ColumnElement:
    """A timestamptz as Python's ``isoformat`` writes the datetime psycopg gives (in the
    session's time zone): microseconds only when there are some."""
    fraction = case(
        (func.date_trunc("second", value) == value, text_constant("")),
        else_=func.to_char(value, ".US"),
    )
    return func.concat(
        func.to_char(value, 'YYYY-MM-DD"T"HH24:MI:SS'), fraction, func.to_char(value, "TZH:TZM")
    )


def _photos() -> ColumnElement:
    """The report's public photos (:attr:`Photo.is_public`), in upload order
    (app.photos.service.present for anyone but their uploader and the report's staff)."""
    photo = _object(
        {
            "id": Photo.id,
            "kind": Photo.kind,
            "status": Photo.status,
            "reject_reason": Photo.reject_reason,
            "url": text_constant(MEDIA_PATH).concat(Photo.display_key),
            "thumbnail_url": text_constant(MEDIA_PATH).concat(Photo.thumbnail_key),
            "width": Photo.width,
            "height": Photo.height,
        }
    )
    return func.coalesce(
        select(func.json_agg(aggregate_order_by(photo, Photo.id)))
        .where(Photo.report_id == Report.id, Photo.is_public)
        .correlate(Report)
        .scalar_subquery(),
        literal_column("'[]'::json"),
    )


def _location(place) -> ColumnElement:
    point = _object(
        {
            "type": text_constant("Point"),
            "coordinates": func.json_build_array(number(place.c.lon), number(place.c.lat)),
        }
    )
    return case((place.c.lon.is_(None), null()), else_=point)


def _properties(place, **more) -> dict:
    """ReportSchema's fields of the report but its location, as SQL expressions."""
    return {
        "id": Report.id,
        "reference": Report.reference,
        "status": Report.status,
        "category": _object(
            {
                "code": Category.code,
                "group": Category.group,
                "name_fr": Category.name_fr,
                "name_en": Category.name_en,
                "icon": Category.icon,
            }
        ),
        "address": place.c.address,
        "public_description": Report.public_description,
        "commune": case(
            (Commune.insee_code.is_(None), null()),
            else_=_object({"insee_code": Commune.insee_code, "name": Commune.name}),
        ),
        "support_count": Report.support_count,
        "desk": case(
            (Desk.id.is_(None), null()),
            else_=_object({"code": Desk.code, "name_fr": Desk.name_fr, "name_en": Desk.name_en}),
        ),
        "duplicate_of": case(
            (_ORIGINAL.id.is_(None), null()),
            else_=_object({"id": _ORIGINAL.id, "reference": _ORIGINAL.reference}),
        ),
        "photos": _photos(),
        "created_at": isoformat(Report.created_at),
        "updated_at": isoformat(Report.updated_at),
        **more,
    }


def item(place, **more) -> ColumnElement:
    """A report of a public list (ReportSchema; ``more``: extra fields such as a
    suggestion's ``distance_m``), as JSON text."""
    return cast(_object({**_properties(place, **more), "location": _location(place)}), Text)


def feature(place) -> ColumnElement:
    """A report of the public map: a GeoJSON Feature whose geometry is its location and
    whose properties are the rest of its list item, as JSON text."""
    document = _object(
        {
            "type": text_constant("Feature"),
            "id": Report.id,
            "geometry": _location(place),
            "properties": _object(_properties(place)),
        }
    )
    return cast(document, Text)


def with_relations(query: Select, place) -> Select:
    """``query`` (selecting from reports) joined to what its documents show: the category,
    desk, commune, original report and ``place`` (the public projection, LATERAL)."""
    return (
        query.join(Category, Report.category_id == Category.id)
        .outerjoin(Desk, Report.desk_id == Desk.id)
        .outerjoin(Commune, Report.commune_insee == Commune.insee_code)
        .outerjoin(_ORIGINAL, Report.duplicate_of_id == _ORIGINAL.id)
        .join(place, true())
    )


def _next(cursor: str | None) -> str:
    return json.dumps(cursor)


def page_body(documents: list[str], next_cursor: str | None) -> str:
    """A page of list items (ReportPageSchema) as Flask's JSON wrote it."""
    return f'{{"items":[{",".join(documents)}],"next_cursor":{_next(next_cursor)}}}\n'


def collection_body(features: list[str], next_cursor: str | None) -> str:
    """A page of the map (ReportCollectionSchema) as Flask's JSON wrote it."""
    return (
        f'{{"features":[{",".join(features)}],"next_cursor":{_next(next_cursor)},'
        '"type":"FeatureCollection"}\n'
    )


def suggestions_body(documents: list[str]) -> str:
    """The suggestions (SuggestionListSchema) as Flask's JSON wrote them."""
    return f'{{"items":[{",".join(documents)}]}}\n'
