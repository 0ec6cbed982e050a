# Fixtures shared with other test packages.
from tests.factories import crews  # noqa: F401
