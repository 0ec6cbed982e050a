"""Alembic environment, with GeoAlchemy2's helpers so spatial columns and their GiST
indexes are created, compared and dropped correctly, online and offline."""

import logging

from alembic import context
from flask import current_app
from geoalchemy2 import alembic_helpers

from app.ops.migrations import COMPARE_OPTIONS

config = context.config
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
target_metadata = db.metadata

COMMON = dict(
    target_metadata=target_metadata,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
    **COMPARE_OPTIONS,
)


def run_migrations_offline():
    context.configure(
        url=db.engine.url.render_as_string(hide_password=False), literal_binds=True, **COMMON
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def skip_empty(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")
            return
        alembic_helpers.writer(context_, revision, directives)

    with db.engine.connect() as connection:
        context.configure(
            connection=connection, **{**COMMON, "process_revision_directives": skip_empty}
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
