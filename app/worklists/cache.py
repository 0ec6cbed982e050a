"""Server-side cache of a desk's queue pages and header counts, exact (the mechanism:
app/cache.py, as the public lists').

The data version is the desk's own: the sum of its rows in ``desk_queue_versions``, which
triggers move in the same transaction as every change that can alter the desk's page or
counts (a report added to, changed in, moved from or to, or removed from the desk; a
category, commune or crew renamed...: migration d4f6a8c0e2b4). A page stored under a
version is therefore the page a fresh render gives while the version stays: no settling.

Time changes the pages without any write: a report becomes overdue when its due date
passes. The version also carries the desk's next due date (the earliest due date of its
open reports at or after ``now()``): the overdue flags and counts of every page of the desk
are a function of the data and of which due dates have passed, and between two due dates
nothing passes, so the key moves exactly when one does (five index probes, one per open
state, in ix_reports_open_desk_status_due_at).

Pages are the same for every caller allowed to see the desk (no language, role or person in
them: app.worklists.queries.item_document), so an entry is shared by the desk's agents,
the supervisors and the admins; the views check the caller's right to the desk before
reading it. The key carries the desk's id (a page is never served for another desk), the
database's name and the relation file of ``desk_queue_versions`` (a table emptied or
restored starts its versions again from 0: its file changes with it).

After a change, every console open on the desk asks again at once: in a process, the first
miss renders the page and the others wait for it (``single_flight``).

The version is read on a pool of its own (``DESK_QUEUE_CACHE_VERSION_POOL_SIZE``), whose
connections keep the statement prepared with its generic plan: the views' read-only pool
plans each statement for its values (app/readonly.py), which costs this statement about ten
times its execution (1.1 ms of planning against 0.14 ms, EXPLAIN ANALYZE at 1,000,000
reports).

Each process keeps the entries it served last (``DESK_QUEUE_CACHE_LOCAL_BYTES``): a hit
there is the version's statement and a dictionary lookup, no Redis round trip; Redis shares
an entry rendered by one process with the others (one render per change, not one per
process).
"""

import logging

from sqlalchemy import text

from app import cache
from app.reports.models import OPEN_STATUSES


def _next_due(status: str) -> str:
    # A literal state: the partial index of open work (its predicate) is proved usable.
    return (
        "(SELECT min(r.due_at) FROM reports r WHERE r.desk_id = d.id "
        f"AND r.status = '{status}' AND r.due_at >= now())"
    )


VERSION = text(
    f"""
    SELECT current_database() AS database,
           pg_relation_filenode('desk_queue_versions') AS epoch,
           d.id AS desk,
           (SELECT coalesce(sum(v.changes), 0) FROM desk_queue_versions v
             WHERE v.desk_id = d.id)::bigint AS version,
           least({", ".join(_next_due(status) for status in OPEN_STATUSES)}) AS next_due,
           pg_current_xact_id_if_assigned() IS NOT NULL AS own_writes
      FROM desks d
     WHERE d.code = :desk
    """
)


class QueueCache(cache.DocumentCache):
    name = "desk-queue"
    version = VERSION
    log = logging.getLogger(__name__)
    exact = True
    single_flight = True


def for_app(app) -> QueueCache | None:
    """The application's cache of desk queues (None when DESK_QUEUE_CACHE_ENABLED is off)."""
    return cache.for_app(app, QueueCache, "DESK_QUEUE_CACHE")
