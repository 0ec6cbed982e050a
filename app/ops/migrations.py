"""What Alembic compares and renders, shared by migrations/env.py and the tests."""

from geoalchemy2 import alembic_helpers

# PostGIS's own tables are not ours to migrate.
POSTGIS_TABLES = {"spatial_ref_sys", "topology", "layer"}


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table" and name in POSTGIS_TABLES:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)


COMPARE_OPTIONS = {"include_object": include_object, "compare_type": True}
