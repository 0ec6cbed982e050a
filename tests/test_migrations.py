"""Migrations are honest: one head, reversible, and in step with the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db
from app.ops.health import migration_heads
from app.ops.migrations import COMPARE_OPTIONS
from tests.conftest import create_database, drop_database, make_app


def test_there_is_exactly_one_head(app):
    with app.app_context():
        assert len(migration_heads()) == 1


def test_upgrade_downgrade_upgrade_and_the_models_match_the_schema():
    url = create_database("signale_migrations")
    try:
        app = make_app(url)
        with app.app_context():
            upgrade()
            downgrade(revision="base")
            left = set(inspect(db.engine).get_table_names()) - {
                "spatial_ref_sys",
                "alembic_version",
            }
            assert left == set()
            upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts=COMPARE_OPTIONS)
                assert compare_metadata(context, db.metadata) == []
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(url)
