"""gunicorn settings for `make run` (the service logs its own JSON access lines)."""

import os

from prometheus_client import multiprocess

from app.ops import gunicorn_errors

accesslog = None
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
# Bounded request lines and headers: a client cannot make a worker buffer megabytes of them.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190


def post_worker_init(worker):
    # What gunicorn refuses itself (414, 431, 400...) is answered as problem+json too.
    gunicorn_errors.install(worker.cfg)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
