# Fixtures shared with the audit tests.
from tests.factories import add_report, crews  # noqa: F401
