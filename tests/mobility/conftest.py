"""The stand-in feed source the mobility reads are loaded from (tests/feeds/conftest.py)."""

from tests.feeds.conftest import feed_source

__all__ = ["feed_source"]
