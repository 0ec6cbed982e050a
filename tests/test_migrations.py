"""Migrations are honest: one head, reversible, and in step with the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.naming import conv

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


def test_the_models_checks_are_the_migrated_databases(app):
    """Alembic does not compare CHECK constraints: each model's checks are added to a copy
    of its migrated table, and PostgreSQL's own rendering of both must be the same."""
    with app.app_context(), db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            copy = f"pg_temp.models_{table.name}"
            connection.execute(text(f"CREATE TABLE {copy} (LIKE {table.name})"))
            for check in table.constraints:
                if isinstance(check, CheckConstraint):
                    sql = check.sqltext.compile(
                        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                    )
                    connection.execute(
                        text(f'ALTER TABLE {copy} ADD CONSTRAINT "{_name(check)}" CHECK ({sql})')
                    )
            assert _checks(connection, copy) == _checks(connection, table.name), table.name
        connection.rollback()
        db.session.remove()


def _name(check: CheckConstraint) -> str:
    if isinstance(check.name, conv):  # named in full
        return check.name
    values = {"table_name": check.table.name, "constraint_name": check.name}
    return db.metadata.naming_convention["ck"] % values


def _checks(connection, table: str) -> dict[str, str]:
    rows = connection.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'c' AND conrelid = CAST(:table AS regclass)"
        ),
        {"table": table},
    )
    return dict(rows.all())
