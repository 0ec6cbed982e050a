from tests.factories import add_report, crews  # noqa: F401
