"""Server-side cache of the Open311 GET documents (the mechanism: app/cache.py).

The data version: the latest update of any report (every writer of what Open311 shows bumps
``reports.updated_at``; the index on (updated_at, id) answers it), of the catalogue, and a
digest of the desks' and communes' names.
"""

import logging

from sqlalchemy import text

from app import cache
from app.cache import Entry, Settings

__all__ = ["BUDGET_PREFIX", "PREFIX", "VERSION", "DocumentCache", "Entry", "Settings", "for_app"]

VERSION = text(
    """
    WITH latest AS (
        SELECT (SELECT max(updated_at) FROM reports) AS reports,
               (SELECT max(updated_at) FROM categories) AS categories
    )
    SELECT current_database() AS database,
           latest.reports,
           latest.categories,
           (SELECT count(*) FROM categories) AS category_count,
           (SELECT md5(string_agg(concat_ws('|', id, name_fr, name_en), ',' ORDER BY id))
              FROM desks) AS desks,
           (SELECT md5(string_agg(concat_ws('|', insee_code, name), ',' ORDER BY insee_code))
              FROM communes) AS communes,
           extract(epoch FROM now() - greatest(latest.reports, latest.categories)) AS age_s
      FROM latest
    """
)


class DocumentCache(cache.DocumentCache):
    name = "open311"
    version = VERSION
    log = logging.getLogger(__name__)


PREFIX = DocumentCache.prefix()
BUDGET_PREFIX = DocumentCache.budget_prefix()


def for_app(app) -> DocumentCache | None:
    """The application's Open311 document cache (None when OPEN311_CACHE_ENABLED is off)."""
    return cache.for_app(app, DocumentCache, "OPEN311_CACHE")
