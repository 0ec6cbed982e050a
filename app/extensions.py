"""Unbound extension singletons, bound to an application in ``create_app``."""

import http

import flask_smorest
import marshmallow as ma
import redis
from flask import current_app
from flask_migrate import Migrate
from flask_smorest import Api as _Api
from flask_smorest.utils import prepare_response
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from webargs.flaskparser import FlaskParser

from app import errors

# Constraint names are predictable, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()


class ArgumentsParser(FlaskParser):
    """webargs' parser, refusing unknown query parameters by name: a mistyped filter must
    not be silently ignored."""

    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": ma.RAISE,
        "querystring": ma.RAISE,
    }

    def pre_load(self, location_data, *, schema, req, location):
        # PostgreSQL text cannot hold NUL: refuse it here, by field, rather than fail later.
        if location == "json":
            found = _nul_errors(location_data)
            if found:
                raise errors.Problem("invalid_character", 422, errors={"json": found})
        return location_data


def _nul_errors(value):
    """``{field: messages}`` for every string under ``value`` that contains NUL."""
    message = ["must not contain the NUL character (U+0000)"]
    if isinstance(value, str):
        return message if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    errors = {}
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            errors[key] = message
        else:
            nested = _nul_errors(item)
            if nested:
                errors[key] = nested
    return errors or None


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


def redis_client() -> redis.Redis:
    """The application's Redis connection (one pool per application)."""
    return current_app.extensions["signale.redis"]


def init_redis(app) -> None:
    app.extensions["signale.redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
    )
