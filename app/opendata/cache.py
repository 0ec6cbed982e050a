"""Server-side cache of the statistics answers (/v1/opendata/statistics/*; the mechanism:
app/cache.py), which take seconds over the whole history and fractions of a millisecond
from Redis.

The data version: everything the statistics read. The latest update of any report (its
status, category, desk, commune, due date, duplicate link: every writer bumps
``reports.updated_at``, the index on (updated_at, id) answers it; reports are never
deleted), the latest event of the histories that give the times to resolve (report_events
is append-only: its highest id, from the primary key), and a digest of the categories'
codes and service levels and of the desks' codes (a few dozen rows each).
"""

import logging

from sqlalchemy import text

from app import cache

VERSION = text(
    """
    WITH latest AS (
        SELECT (SELECT max(updated_at) FROM reports) AS reports,
               (SELECT max(updated_at) FROM categories) AS categories
    )
    SELECT current_database() AS database,
           latest.reports,
           (SELECT max(id) FROM report_events) AS event,
           (SELECT md5(string_agg(concat_ws('|', id, code, service_level_hours), ','
                                  ORDER BY id))
              FROM categories) AS categories,
           (SELECT md5(string_agg(concat_ws('|', id, code), ',' ORDER BY id))
              FROM desks) AS desks,
           extract(epoch FROM now() - greatest(latest.reports, latest.categories)) AS age_s
      FROM latest
    """
)


class StatisticsCache(cache.DocumentCache):
    name = "statistics"
    version = VERSION
    log = logging.getLogger(__name__)


def for_app(app) -> StatisticsCache | None:
    """The application's statistics cache (None when OPENDATA_STATISTICS_CACHE_ENABLED is
    off)."""
    return cache.for_app(app, StatisticsCache, "OPENDATA_STATISTICS_CACHE")
