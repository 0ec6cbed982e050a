"""gunicorn settings for `make run` (the service logs its own JSON access lines).

gthread workers: each process serves GUNICORN_THREADS requests at once, so that the
console's event streams (GET /v1/events, held open for as long as a console is) do not take
a process away from the API the way a sync worker would. Streams may hold all threads but
EVENTS_API_THREADS (app/live/hub.py:fit_to_threads); sizes measured by
benchmarks/bench_console_streams.py.
"""

import os

from prometheus_client import multiprocess

from app.live.hub import fit_to_threads
from app.ops import gunicorn_errors

accesslog = None
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "116"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
# Bounded request lines and headers: a client cannot make a worker buffer megabytes of them.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190


def post_worker_init(worker):
    # What gunicorn refuses itself (414, 431, 400...) is answered as problem+json too.
    gunicorn_errors.install(worker.cfg)
    if hasattr(worker.wsgi, "extensions") and "signale.live" in worker.wsgi.extensions:
        fit_to_threads(worker.wsgi, worker.cfg.threads)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
