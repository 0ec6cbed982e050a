"""gunicorn settings for `make run` (the service logs its own JSON access lines)."""

import os

from prometheus_client import multiprocess

accesslog = None
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
# Bounded request lines and headers: a client cannot make a worker buffer megabytes of them.
limit_request_line = 8190
limit_request_fields = 100


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
