"""Server-side cache of the public lists' pages (``GET /v1/reports``, its GeoJSON, ``near``
and the suggestions; the mechanism: app/cache.py, as Open311's documents).

A page is the same for every caller (app.reports.documents: the public projection, names in
both languages, nothing of who asks), so one entry serves them all; the views read it only
once the caller's token has been checked.

The data version: what the pages show. The latest update of any report (every writer of a
report bumps ``reports.updated_at``, a photo becoming ready included: app.reports.photos;
reports are never deleted; the index on (updated_at, id) answers it), of the catalogue, and
a digest of the desks' and communes' names. The streets come from the address register,
which only its import changes: after an import, pages may name the former streets until
their entries expire (``PUBLIC_LISTS_CACHE_TTL_SECONDS``).

A transaction that has written itself (``own_writes``) sees what no other does yet: it
neither reads nor stores entries.
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
           latest.categories,
           (SELECT count(*) FROM categories) AS category_count,
           (SELECT md5(string_agg(concat_ws('|', id, code, name_fr, name_en), ',' ORDER BY id))
              FROM desks) AS desks,
           (SELECT md5(string_agg(concat_ws('|', insee_code, name), ',' ORDER BY insee_code))
              FROM communes) AS communes,
           pg_current_xact_id_if_assigned() IS NOT NULL AS own_writes,
           extract(epoch FROM now() - greatest(latest.reports, latest.categories)) AS age_s
      FROM latest
    """
)


class PageCache(cache.DocumentCache):
    name = "public-lists"
    version = VERSION
    log = logging.getLogger(__name__)


PREFIX = PageCache.prefix()


def for_app(app) -> PageCache | None:
    """The application's cache of public pages (None when PUBLIC_LISTS_CACHE_ENABLED is
    off)."""
    return cache.for_app(app, PageCache, "PUBLIC_LISTS_CACHE")
