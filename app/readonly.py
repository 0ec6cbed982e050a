"""Staff reads on the primary in one round trip per statement: the views that only read
(a desk's queue and its counts) send their statements in autocommit, on a pool without the
checkout's ping.

A request through the application's own pool pays, around each statement it reads, the
pool's ping at checkout (``pool_pre_ping``), the ``BEGIN`` psycopg sends before the first
statement and the ``ROLLBACK`` at the end of the request: four round trips for one page, and
the ROLLBACK also drops psycopg's prepared statements, so the page's statement is planned
again every time. A view decorated with :func:`read_only` sends only its statements: each
is its own snapshot (a view that reads twice sees committed data at each), nothing is held
open between them, and statements run often are parsed once per connection (prepared, but
planned for each request's values: see :func:`engine_for`).

Without the ping, a connection the server dropped (a restart, a terminated backend) is found
dead by the statement itself: the pool then drops it and the view is run once more, on a
fresh connection (it only read). What fails again is answered as it is without this module
(503 service_unavailable when PostgreSQL is down).

Only for views that never write, whose answer needs no transaction of its own (one
statement, or reads that need not agree with each other), and that read the primary: the
replica's views are app.replica's.
"""

import functools
import logging

from flask import current_app
from sqlalchemy import Engine, create_engine
from sqlalchemy import exc as sa_exc

from app.extensions import READ_BIND, db

log = logging.getLogger(__name__)

EXTENSION = "signale.read_only_engine"


def engine_for(app) -> Engine:
    """The application's autocommit engine on the primary (created at first use: an app
    that serves no such view opens no connection for it)."""
    engine = app.extensions.get(EXTENSION)
    if engine is None:
        options = {**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
        options.pop("pool_pre_ping", None)
        connect_args = {**options.get("connect_args", {})}
        connect_args["application_name"] = "signale read-only"
        # Custom plans only: statements run often are prepared (no ROLLBACK drops them), and
        # a prepared statement's generic plan ignores its parameters: the queue page's took
        # 2.2 s at 1,000,000 reports (the desk and states as parameters, it cannot use the
        # partial index of open work) against 7.5 ms for the plan of the values.
        connect_args["options"] = " ".join(
            filter(None, (connect_args.get("options"), "-c plan_cache_mode=force_custom_plan"))
        )
        options["connect_args"] = connect_args
        engine = app.extensions.setdefault(
            EXTENSION,
            create_engine(
                app.config["SQLALCHEMY_DATABASE_URI"],
                isolation_level="AUTOCOMMIT",
                pool_pre_ping=False,
                **options,
            ),
        )
    return engine


def read_only(view):
    """Decorate a view that only reads the primary: its statements go in autocommit to the
    read-only pool (see the module); a connection found dead runs the view once more.

    The caller's identity is resolved before (its cached row, or one statement through the
    application's pool when not cached)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        session = db.session()
        if session.info.get(READ_BIND) is not None:  # already routed (nested, or replica)
            return view(*args, **kwargs)
        session.info[READ_BIND] = engine_for(current_app)
        try:
            try:
                return view(*args, **kwargs)
            except sa_exc.DBAPIError as error:
                if not error.connection_invalidated:
                    raise
                log.info("read-only view: a pooled connection was lost, read again: %s", error)
                session.rollback()
                return view(*args, **kwargs)
        finally:
            session.info.pop(READ_BIND, None)

    return wrapper
