"""Signale: the back end of Dijon Métropole's citizen road-issue reporting service."""

import os
from pathlib import Path

from flask import Blueprint, Flask
from swagger_ui_bundle import swagger_ui_path
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config as config_module
from app import errors, jobs
from app.extensions import Api, db, init_database, init_redis, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")
STATIC_DIR = str(Path(__file__).resolve().parent.parent / "static")


class ConfigurationError(RuntimeError):
    """The configuration is unsafe or incomplete: the application refuses to start."""


def create_app(config: dict | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error handlers."""
    app = Flask(__name__, static_folder=STATIC_DIR, static_url_path="/static")
    app.config.update(config_module.load())
    app.config.from_prefixed_env("SIGNALE")
    app.config.update(config or {})
    app.config["SQLALCHEMY_DATABASE_URI"] = config_module.normalise_database_url(
        app.config["DATABASE_URL"]
    )
    if app.config.get("DATABASE_REPLICA_URL"):
        app.config["DATABASE_REPLICA_URL"] = config_module.normalise_database_url(
            app.config["DATABASE_REPLICA_URL"]
        )
    _check_safety(app)
    config_module.resolve_paths(app.config)
    _trust_proxies(app)

    from app.ops import headers, observability

    observability.init_app(app)
    headers.init_app(app)
    init_database(app)
    from app import replica

    replica.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    init_redis(app)
    jobs.init_app(app)
    _init_auth(app)
    from app.photos import service as photos

    photos.init_app(app)
    from app.live import hub as live

    live.init_app(app)
    # One Api per application (not a module singleton): its OpenAPI spec is per app, and
    # tests build several apps in one process.
    api = Api(app)
    _register_blueprints(app, api)
    from app import ratelimit

    ratelimit.init_app(app)
    errors.register(app)
    _register_cli(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Behind a load balancer every request comes from the balancer's address: the abuse
    limits per address would count a whole city as one client. With TRUSTED_PROXIES set to
    the number of proxies in front of gunicorn, each appending X-Forwarded-For (and
    -Proto), the client's address is read that many hops back; with 0 the headers are
    ignored, since a client may write them."""
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _check_safety(app: Flask) -> None:
    emulator = app.config.get("FIREBASE_AUTH_EMULATOR_HOST") or os.environ.get(
        "FIREBASE_AUTH_EMULATOR_HOST"
    )
    if app.config["SIGNALE_ENV"] == "production" and emulator:
        raise ConfigurationError(
            "FIREBASE_AUTH_EMULATOR_HOST is set in production: the Auth emulator's unsigned "
            "tokens would be accepted. Unset it, or run with SIGNALE_ENV=development."
        )
    if app.config["SIGNALE_ENV"] == "production" and app.config.get("FCM_CREDENTIALS") == (
        "static-token"
    ):
        raise ConfigurationError(
            "FCM_CREDENTIALS=static-token is for an FCM stand-in: give the service account "
            "file (or application-default) in production."
        )
    if (
        app.config["SIGNALE_ENV"] == "production"
        and app.config["STORAGE_BACKEND"] == "filesystem"
        and not Path(app.config["MEDIA_ROOT"]).is_absolute()
    ):
        raise ConfigurationError(
            f"MEDIA_ROOT must be an absolute path in production (it is "
            f"{app.config['MEDIA_ROOT']!r}): the API, the worker and the CLI must use the same "
            "files wherever they were started from."
        )
    if app.config["OPEN311_ENDPOINT_TYPE"] not in ("production", "test"):
        raise ConfigurationError("OPEN311_ENDPOINT_TYPE must be production or test")
    if app.config["SIGNALE_ENV"] not in ("development", "test", "production"):
        raise ConfigurationError("SIGNALE_ENV must be development, test or production")


def _init_auth(app: Flask) -> None:
    from app.auth.cache import EXTENSION, IdentityCache
    from app.auth.tokens import FirebaseTokenVerifier

    if app.config.get("FIREBASE_AUTH_EMULATOR_HOST"):
        # firebase-admin reads emulator mode from the environment only.
        os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = app.config["FIREBASE_AUTH_EMULATOR_HOST"]
    app.extensions[EXTENSION] = IdentityCache(app.config["IDENTITY_CACHE_SECONDS"])
    app.extensions["signale.token_verifier"] = FirebaseTokenVerifier(
        app.config["FIREBASE_PROJECT_ID"], app.config["AUTH_CLOCK_SKEW_SECONDS"]
    )


def _register_blueprints(app: Flask, api: Api) -> None:
    from app.assets.views import blp as assets
    from app.audit.views import blp as audit
    from app.categories.views import blp as categories
    from app.equipment.views import blp as equipment
    from app.feeds.fault_views import blp as feed_faults
    from app.feeds.notification_views import blp as feed_notifications
    from app.feeds.views import blp as feeds
    from app.geo.views import blp as geo
    from app.live.views import blp as live
    from app.mobility.views import mobility
    from app.notifications.views import blp as notifications
    from app.open311.views import blp as open311_keys
    from app.open311.views import georeport
    from app.opendata.views import blp as opendata
    from app.ops.views import blp as ops
    from app.organisation.views import blp as organisation
    from app.photos.views import blp as photos
    from app.privacy.views import blp as privacy
    from app.reports.views import blp as reports
    from app.supervision.views import blp as supervision
    from app.triage.views import blp as triage
    from app.users.views import blp as users
    from app.worklists.views import blp as queue

    for blueprint in (
        ops,
        users,
        organisation,
        geo,
        categories,
        reports,
        photos,
        assets,
        equipment,
        queue,
        supervision,
        audit,
        triage,
        feeds,
        feed_faults,
        feed_notifications,
        mobility,
        notifications,
        opendata,
        live,
        privacy,
    ):
        api.register_blueprint(blueprint)
    api.register_blueprint(open311_keys)
    # GeoReport v2 is documented by its own specification, not in our OpenAPI document.
    app.register_blueprint(georeport)
    # Web pages are not API operations: plain Flask, out of the OpenAPI document too.
    from app.web import assets
    from app.web.console import blp as console
    from app.web.crew import blp as crew
    from app.web.resident import blp as resident
    from app.web.views import blp as web

    assets.init_app(app)

    app.register_blueprint(web)
    app.register_blueprint(console)
    app.register_blueprint(crew)
    app.register_blueprint(resident)
    # The interactive docs' assets come from the swagger-ui-bundle package: no CDN needed.
    app.register_blueprint(
        Blueprint(
            "swagger_ui",
            __name__,
            static_folder=swagger_ui_path,
            static_url_path="/static/swagger-ui",
        )
    )


def _register_cli(app: Flask) -> None:
    """Each domain's command group, from its own ``cli.py`` (demo and benchmark data are
    tools/'s: ``python -m tools.demo``)."""
    from app.addresses.cli import addresses_cli
    from app.assets.cli import assets_cli
    from app.categories.cli import categories_cli
    from app.feeds.cli import feeds_cli
    from app.opendata.cli import opendata_cli
    from app.organisation.cli import reference
    from app.privacy.cli import privacy_cli
    from app.reports.cli import photos_cli
    from app.routing.cli import routing_cli
    from app.users.cli import users
    from app.workload.cli import workload_cli

    for group in (
        reference,
        users,
        categories_cli,
        assets_cli,
        routing_cli,
        feeds_cli,
        opendata_cli,
        addresses_cli,
        workload_cli,
        privacy_cli,
        photos_cli,
    ):
        app.cli.add_command(group)
