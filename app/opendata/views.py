import hashlib
import json
import logging

from flask import Response, current_app, request, send_file
from flask.views import MethodView
from psycopg.errors import QueryCanceled
from sqlalchemy import exc as sa_exc

from app import cache as shared_cache
from app import conditional
from app.errors import PROBLEM_DOC, NotFound, Problem
from app.extensions import Blueprint, db
from app.opendata import cache as statistics_cache
from app.opendata import catalog, queries, service, statistics
from app.opendata.schemas import (
    NAME_PATTERN,
    SCHEMA_NAME_PATTERN,
    FileListArgsSchema,
    OpenDataFilePageSchema,
)
from app.opendata.tables import TABLES, StatisticsTable
from app.pagination import decode_cursor, page_size, paginate
from app.replica import public_read
from app.urls import public_url_for

log = logging.getLogger(__name__)

blp = Blueprint(
    "opendata",
    __name__,
    url_prefix="/v1/opendata",
    description="Open data: the city's reports, anonymised, as files (public, no token needed)",
)

NAME_PARAMETER = [
    {
        "in": "path",
        "name": "name",
        "required": True,
        "schema": {"type": "string", "pattern": NAME_PATTERN, "maxLength": 64},
    }
]
DOWNLOAD_HEADERS = {
    name: {"description": description, "schema": {"type": "string"}}
    for name, description in (
        ("ETag", "The content's SHA-256"),
        ("Last-Modified", "When the content last changed"),
        ("Cache-Control", "public, max-age=N"),
        ("Content-Disposition", "attachment; filename=..."),
    )
}
DOWNLOAD_CONTENT = {
    "application/geo+json": {"schema": {"type": "object"}},
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
}


@blp.after_request
def _open_to_other_sites(response):
    # Public open data: any web application may read it from the browser.
    if request.method in ("GET", "HEAD"):
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _present(entry) -> dict:
    return {
        "name": entry.name,
        "format": entry.format,
        "dataset": service.dataset(entry),
        "media_type": service.media_type(entry.format),
        "period": "daily" if entry.day else "full",
        "day": entry.day,
        "row_count": entry.row_count,
        "size_bytes": entry.size_bytes,
        "sha256": entry.sha256,
        "modified_at": entry.modified_at,
        "generated_at": entry.generated_at,
        "url": public_url_for("opendata.OpenDataFileByName", name=entry.name),
    }


@blp.route("/files")
class OpenDataFiles(MethodView):
    @blp.arguments(FileListArgsSchema, location="query")
    @blp.response(200, OpenDataFilePageSchema)
    @blp.alt_response(400, description="Cursor not issued by this API", **PROBLEM_DOC)
    @public_read
    def get(self, args):
        """The published files: the statistics tables (CSV and JSON), the full reports
        files, then the daily ones, newest first. Reports columns: reference, category,
        commune, desk, status, created/acknowledged/resolved dates, time to resolve,
        duplicate of, supporters, source, public photo, and a position snapped to a grid
        (never a reporter's data, address or text)"""
        limit = page_size(args["limit"])
        cursor = decode_cursor(args["cursor"], 1)
        entries = queries.files(
            db.session,
            fmt=args["format"],
            period=args["period"],
            since=args["since"],
            until=args["until"],
            after=cursor[0] if cursor else None,
            limit=limit + 1,
        )
        page = paginate(entries, limit, key=lambda entry: [entry.name])
        page["items"] = [_present(entry) for entry in page["items"]]
        return page


@blp.route("/files/<string:name>", parameters=NAME_PARAMETER)
class OpenDataFileByName(MethodView):
    # Three media types for one status: described here, as flask-smorest takes one.
    @blp.doc(
        responses={
            "200": {
                "description": "The file",
                "headers": DOWNLOAD_HEADERS,
                "content": DOWNLOAD_CONTENT,
            }
        }
    )
    @blp.alt_response(304, description="Not modified (If-None-Match, If-Modified-Since)")
    @blp.alt_response(404, description="No such file (yet)", **PROBLEM_DOC)
    @public_read
    def get(self, name):
        """Download a file (GeoJSON, CSV or GeoParquet): cacheable, with its ETag and
        Last-Modified, and ranges where the storage allows"""
        entry = service.get_file(db.session, name)
        if entry is None:
            raise NotFound("opendata_file_not_found", name=name)
        try:
            stream = service.open_file(entry)
        except FileNotFoundError as exc:  # its content went between the read and now
            raise NotFound("opendata_file_not_found", name=name) from exc
        response = send_file(
            stream,
            mimetype=service.media_type(entry.format),
            as_attachment=True,
            download_name=entry.name,
            conditional=False,
            etag=False,
            max_age=current_app.config["OPENDATA_MAX_AGE_SECONDS"],
        )
        response.cache_control.public = True
        # The size is known from the export even when the storage gives a bare stream (S3):
        # ranges and 304s are answered from it.
        response.set_etag(entry.sha256)
        response.last_modified = entry.modified_at
        response.content_length = entry.size_bytes
        return response.make_conditional(
            request, accept_ranges=True, complete_length=entry.size_bytes
        )


CACHE_HEADERS = {
    name: {"description": description, "schema": {"type": "string"}}
    for name, description in (
        ("ETag", "The body's SHA-256"),
        ("Cache-Control", "public, max-age=N"),
    )
}


def cacheable(body: str, media_type: str) -> Response:
    """``body``, conditional and publicly cacheable (app/conditional.py): the same for
    every caller, so shared caches may keep it as long as the files."""
    return conditional.public(
        Response(body, mimetype=media_type),
        etag=conditional.etag_of(body.encode()),
        max_age=current_app.config["OPENDATA_MAX_AGE_SECONDS"],
    )


class _LastNight(Exception):
    """A whole table could not be computed in time: last night's file answers instead."""

    def __init__(self, response: Response):
        self.response = response


def _statistics_entry(table: StatisticsTable, args: dict, min_count: int) -> shared_cache.Entry:
    """The table's answer, computed within OPENDATA_STATISTICS_TIMEOUT_MS. Beyond, a whole
    table is answered from the nightly export's file of it (:func:`_last_night`), and
    anything else (or a whole table before any export) is a 503 statistics_busy: a worker
    is never held up to gunicorn's timeout."""
    config = current_app.config
    try:
        items = table.rows(
            db.session,
            statistics.Filters(**args),
            min_count,
            timeout_ms=config["OPENDATA_STATISTICS_TIMEOUT_MS"],
        )
    except sa_exc.OperationalError as error:
        if not isinstance(error.orig, QueryCanceled):
            raise
        db.session.rollback()
        if not any(value is not None for value in args.values()):
            last_night = _last_night(table, min_count)
            if last_night is not None:
                raise _LastNight(last_night) from error
        retry_after = config["OPENDATA_STATISTICS_RETRY_AFTER_SECONDS"]
        raise Problem(
            "statistics_busy",
            503,
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
            files=public_url_for("opendata.OpenDataFiles"),
        ) from error
    document = table.document().dump(service.statistics_document(table.name, min_count, items))
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return shared_cache.Entry(body, "application/json", hashlib.sha256(body).hexdigest(), None)


def _last_night(table: StatisticsTable, min_count: int) -> Response | None:
    """The whole table as the latest export published it (its JSON file), when it applied
    the same threshold: what a table over tens of millions of reports answers while it takes
    longer than the time bound to compute (minutes at 30M reports, and a new report changes
    the data version every few minutes). ``Last-Modified`` says how old it is, and
    ``Content-Location`` names the file. Not cached as the current version's answer."""
    entry = service.get_file(db.session, service.statistics_file_name(table.name, "json"))
    if entry is None:
        return None
    try:
        with service.open_file(entry) as stream:
            published = json.loads(stream.read())
    except (FileNotFoundError, ValueError):
        return None
    except Exception:  # the storage out of reach (S3 down): the 503, not a 500
        log.warning("the nightly file %s could not be read", entry.name, exc_info=True)
        return None
    if published.get("min_count") != min_count:
        return None
    document = table.document().dump(published)
    response = cacheable(
        json.dumps(document, ensure_ascii=False, separators=(",", ":")), "application/json"
    )
    response.last_modified = entry.modified_at
    response.headers["Content-Location"] = public_url_for(
        "opendata.OpenDataFileByName", name=entry.name
    )
    return response


def _statistics(table: StatisticsTable, args: dict) -> Response:
    """A statistics answer, from the server-side cache when it holds it at the current data
    version (app/opendata/cache.py): a hit sends one cheap statement instead of the table's."""
    min_count = int(current_app.config["OPENDATA_STATISTICS_MIN_COUNT"])
    document = {"path": request.path, "arguments": args, "min_count": min_count}
    try:
        entry = shared_cache.fetch(
            statistics_cache.for_app(current_app),
            db.session,
            document,
            lambda: _statistics_entry(table, args, min_count),
        )
    except _LastNight as last_night:
        return last_night.response
    return cacheable(entry.body.decode(), entry.mimetype)


def _statistics_view(table: StatisticsTable):
    @blp.route(f"/statistics/{table.name}", endpoint=f"statistics-{table.name}")
    class StatisticsTableView(MethodView):
        @blp.doc(summary=table.api_summary.split(".")[0], description=table.api_summary)
        @blp.arguments(table.arguments, location="query")
        @blp.response(200, table.document, headers=CACHE_HEADERS)
        @blp.alt_response(304, description="Not modified (If-None-Match)")
        @blp.alt_response(422, description="Invalid filter", **PROBLEM_DOC)
        @blp.alt_response(
            503,
            description="Too long to compute now (statistics_busy). A whole table (no filter) "
            "is then answered from the nightly file of it, with its Last-Modified and a "
            "Content-Location naming the file; 503 only before the first export",
            **PROBLEM_DOC,
        )
        @public_read
        def get(self, args):
            return _statistics(table, args)

    return StatisticsTableView


for _table in TABLES.values():
    _statistics_view(_table)


@blp.route("/catalog")
class Catalog(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "A dcat:Catalog (DCAT-AP 2), in JSON-LD",
                "headers": CACHE_HEADERS,
                "content": {"application/ld+json": {"schema": {"type": "object"}}},
            }
        }
    )
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    @public_read
    def get(self):
        """The open data catalogue (DCAT-AP, JSON-LD): each dataset (the reports' full and
        daily files, the statistics tables) with its licence (Licence Ouverte 2.0), update
        frequency, schema and files, for open data portals to harvest"""
        document = catalog.catalog(
            db.session,
            base_url=public_url_for("opendata.Catalog"),
            file_url=lambda name: public_url_for("opendata.OpenDataFileByName", name=name),
            schema_url=lambda name: public_url_for("opendata.TableSchema", name=name),
        )
        return cacheable(json.dumps(document, ensure_ascii=False), "application/ld+json")


@blp.route(
    "/schemas/<string:name>.json",
    parameters=[
        {
            "in": "path",
            "name": "name",
            "required": True,
            "schema": {"type": "string", "pattern": SCHEMA_NAME_PATTERN, "maxLength": 40},
        }
    ],
)
class TableSchema(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "A Table Schema (frictionless)",
                "headers": CACHE_HEADERS,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        }
    )
    @blp.alt_response(304, description="Not modified (If-None-Match)")
    @blp.alt_response(404, description="No such dataset", **PROBLEM_DOC)
    def get(self, name):
        """The Table Schema of a dataset's columns: reports, or a statistics table"""
        schema = catalog.table_schema(name)
        if schema is None:
            raise NotFound("opendata_schema_not_found", name=name)
        return cacheable(json.dumps(schema), "application/json")
