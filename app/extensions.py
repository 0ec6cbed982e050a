"""Unbound extension singletons, bound to an application in ``create_app``."""

import http
import re
import time

import flask_smorest
import marshmallow as ma
import redis
from flask import current_app
from flask_migrate import Migrate
from flask_smorest import Api as _Api
from flask_smorest.utils import prepare_response
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as _Session
from psycopg import _queries as psycopg_queries
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from webargs.core import missing, parse_json
from webargs.flaskparser import FlaskParser, is_json_request

from app import errors
from app.errors import Problem

# Constraint names are predictable, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Where a session sends every statement instead of its default engine, when set in its
# ``info``: the read replica, for the views app.replica.public_read marks.
READ_BIND = "signale.read_bind"


class Session(_Session):
    """``db.session``'s class: Flask-SQLAlchemy's, bound wholly elsewhere while its
    ``info[READ_BIND]`` names an engine (app/replica.py)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        routed = self.info.get(READ_BIND)
        if bind is None and routed is not None:
            return routed
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(
    metadata=MetaData(naming_convention=NAMING_CONVENTION), session_options={"class_": Session}
)
migrate = Migrate()


# How deeply a request's JSON may nest. Our deepest documents (a GeoJSON polygon inside a
# subscription) nest 6 levels; without a bound, a client nesting ~1000 levels exhausts the
# interpreter's recursion in parsing or validation (a 500 instead of a problem).
MAX_JSON_DEPTH = 32
# The characters PostgreSQL text, XML and UTF-8 cannot carry: NUL, and UTF-16 surrogates
# (JSON may spell a lone one, "\ud800": it decodes to a str that cannot be encoded).
_NUL = "\x00"
_SURROGATE = re.compile("[\ud800-\udfff]")
NUL_MESSAGE = "must not contain the NUL character (U+0000)"
SURROGATE_MESSAGE = (
    "must be valid Unicode: a lone UTF-16 surrogate (\\ud800 to \\udfff) is not a character"
)


class ArgumentsParser(FlaskParser):
    """webargs' parser, refusing unknown query parameters by name: a mistyped filter must
    not be silently ignored. Every JSON body goes through it: nesting bounded, and no string
    (key or value) that PostgreSQL could not store."""

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": ma.RAISE,
        "querystring": ma.RAISE,
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._schemas: dict[type[ma.Schema], ma.Schema] = {}

    def _get_schema(self, argmap, req):
        # webargs instantiates a schema given as a class on every request: most of the
        # argument parsing's time for a query of a dozen fields (deep copies of the declared
        # fields). A schema instance holds no state between loads: one per class serves.
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas[argmap] = argmap()
            return schema
        return super()._get_schema(argmap, req)

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return missing
        try:
            document = parse_json(req.get_data(cache=True))
        except RecursionError:
            raise Problem("json_too_deep", 400, limit=MAX_JSON_DEPTH) from None
        if _depth_exceeds(document, MAX_JSON_DEPTH):
            raise Problem("json_too_deep", 400, limit=MAX_JSON_DEPTH)
        return document

    def pre_load(self, location_data, *, schema, req, location):
        # Refused here, by field, rather than failing later in the database or an encoder.
        if location == "json":
            found = _character_errors(location_data)
            if found:
                raise Problem("invalid_character", 422, errors={"json": found})
        return location_data


def _depth_exceeds(document, limit: int) -> bool:
    """Whether ``document`` nests arrays and objects more than ``limit`` deep (iteratively:
    the check itself must not recurse)."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _text_error(text: str) -> list[str] | None:
    if _NUL in text:
        return [NUL_MESSAGE]
    if _SURROGATE.search(text):
        return [SURROGATE_MESSAGE]
    return None


def _character_errors(value):
    """``{field: messages}`` for every string under ``value`` (keys included) that holds NUL
    or a lone surrogate; ``value``'s depth is bounded by the parser."""
    if isinstance(value, str):
        return _text_error(value)
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    errors = {}
    for key, item in items:
        wrong_key = _text_error(key) if isinstance(key, str) else None
        if wrong_key:
            # The key itself cannot be echoed back as it is.
            errors[_printable(key)] = wrong_key
        else:
            nested = _character_errors(item)
            if nested:
                errors[key] = nested
    return errors or None


def _printable(key: str) -> str:
    return _SURROGATE.sub("\ufffd", key.replace(_NUL, ""))


class Blueprint(flask_smorest.Blueprint):
    """The Blueprint every domain's views use."""

    ARGUMENTS_PARSER = ArgumentsParser()


class Api(_Api):
    """flask-smorest's Api, with every error documented and rendered as problem+json."""

    ERROR_SCHEMA = errors.ProblemSchema

    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, errors.PROBLEM_MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, errors.PROBLEM_MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection at checkout (one round trip, as ``pool_pre_ping``) only when
    it has been idle for more than ``idle_seconds``: those are the ones a server restart or
    a network cut left dead. A dead one is replaced before the request uses it (the pool
    retries on DisconnectionError)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record):
        record.info["signale.idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy):
        since = record.info.pop("signale.idle_since", None)
        if since is None or time.monotonic() - since <= idle_seconds:
            return  # new, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise DisconnectionError(f"pooled connection dead after idling: {error}") from error


# psycopg rewrites a statement's %(name)s placeholders with a regular expression, and
# caches the result only for statements up to 4 kB: the routing lookup (~7 kB) was parsed
# again for every report, a tenth of intake's Python time. A private constant: if a later
# psycopg drops it, this does nothing.
PSYCOPG_CACHED_STATEMENT_LENGTH = 16384


def init_database(app) -> None:
    """Bind ``db`` to ``app``: its pool's size, its connections checked after idling."""
    if getattr(psycopg_queries, "MAX_CACHED_STATEMENT_LENGTH", 0) < PSYCOPG_CACHED_STATEMENT_LENGTH:
        psycopg_queries.MAX_CACHED_STATEMENT_LENGTH = PSYCOPG_CACHED_STATEMENT_LENGTH
    options = {
        "pool_size": int(app.config["DATABASE_POOL_SIZE"]),
        "max_overflow": int(app.config["DATABASE_POOL_OVERFLOW"]),
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    # No JIT compilation: the service's statements are short, and a plan over a long
    # history can look expensive enough to trigger it. The public map's page at 30,000,000
    # reports spent 0.9 s of its 1.7 s compiling (benchmarks/bench_history.py). The
    # read-only and replica pools inherit these options.
    connect_args = {**options.get("connect_args", {})}
    connect_args["options"] = " ".join(filter(None, (connect_args.get("options"), "-c jit=off")))
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        engine = db.engine
    if not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
        ping_after_idle(engine, float(app.config["DATABASE_PING_AFTER_IDLE_SECONDS"]))


def redis_client() -> redis.Redis:
    """The application's Redis connection (one pool per application)."""
    return current_app.extensions["signale.redis"]


def init_redis(app) -> None:
    app.extensions["signale.redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
    )
