from tests.factories import crews  # noqa: F401
from tests.feeds.conftest import feed_source  # noqa: F401
