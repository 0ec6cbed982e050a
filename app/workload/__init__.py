"""Open work counted as it changes, per crew (routing's workload) and per desk and state.

Routing weighs crews by their workload, and the desk header shows each state's count: both
read these counters instead of counting reports.

The counts are kept by PostgreSQL itself: triggers on ``reports`` (migration f7b9d1e3a5c7)
add and take away in the same transaction as every insert, update of ``crew_id``,
``status`` or ``desk_id`` (per row), and delete (per statement), whoever writes (the ORM,
Core updates, bulk actions, feeds, a generator, a foreign key's ON DELETE SET NULL, psql).
Each counter is split into slots, one per database connection (its backend pid): concurrent
transactions on the same crew or desk update different rows, so they neither queue on one
hot row until the first commits nor deadlock, and a read sums a few rows without locking.
The slots of connections gone are folded into slot 0 every ten minutes
(:func:`app.workload.service.fold`, from the worker's cron). :func:`app.workload.service.
check` compares the counters with a fresh count and repairs them (``flask workload
check``).
"""
