"""Migrations are honest: one head, reversible, and in step with the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, MetaData, inspect, text
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
    with app.app_context():
        assert check_differences(db.metadata) == {}
        db.session.remove()


def test_a_models_check_changed_without_a_migration_is_caught(app):
    """The comparison above fails when it should: a check widened in the models only (a kind
    added to a list, say), or one the models lost."""
    models = MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(models)
    checked = [t for t in models.sorted_tables if _model_checks(t)]
    widened, lost = checked[0], checked[-1]
    check = _model_checks(widened)[0]
    widened.constraints.remove(check)
    widened.append_constraint(CheckConstraint(f"({check.sqltext}) OR true", name=check.name))
    lost.constraints.remove(_model_checks(lost)[0])
    with app.app_context():
        differences = check_differences(models)
        db.session.remove()
    assert set(differences) == {widened.name, lost.name}
    models_checks, database_checks = differences[widened.name]
    assert "OR true" in models_checks[_name(check)]
    assert _name(check) in database_checks


def check_differences(metadata: MetaData) -> dict[str, tuple[dict, dict]]:
    """``{table: (the models' checks, the migrated table's)}`` for every table of
    ``metadata`` where they differ, each check as ``{name: PostgreSQL's definition}``."""
    differences = {}
    with db.engine.connect() as connection:
        for table in metadata.sorted_tables:
            copy = f"pg_temp.models_{table.name}"
            connection.execute(text(f"CREATE TABLE {copy} (LIKE {table.name})"))
            for check in _model_checks(table):
                sql = check.sqltext.compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                )
                connection.execute(
                    text(f'ALTER TABLE {copy} ADD CONSTRAINT "{_name(check)}" CHECK ({sql})')
                )
            models, database = _checks(connection, copy), _checks(connection, table.name)
            if models != database:
                differences[table.name] = (models, database)
        connection.rollback()
    return differences


def _model_checks(table) -> list[CheckConstraint]:
    return sorted(
        (c for c in table.constraints if isinstance(c, CheckConstraint)), key=lambda c: c.name
    )


def _name(check: CheckConstraint) -> str:
    if isinstance(check.name, conv):  # named in full
        return check.name
    values = {"table_name": check.table.name, "constraint_name": check.name}
    return check.table.metadata.naming_convention["ck"] % values


def _checks(connection, table: str) -> dict[str, str]:
    rows = connection.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'c' AND conrelid = CAST(:table AS regclass)"
        ),
        {"table": table},
    )
    return dict(rows.all())
