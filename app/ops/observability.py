"""JSON logs, request ids and Prometheus metrics, wired into every request."""

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from app.errors import Problem

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

REQUESTS = Counter(
    "signale_http_requests_total", "HTTP requests served", ["method", "endpoint", "status"]
)
LATENCY = Histogram(
    "signale_http_request_duration_seconds",
    "Time to serve an HTTP request",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id when there is one."""

    RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self.RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from flask import has_request_context

        if has_request_context() and "request_id" in g and not hasattr(record, "request_id"):
            record.request_id = g.request_id
        return True


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root.handlers = [handler]
    root.setLevel(level)
    # Alembic narrates every migration context (readiness checks open one per call).
    logging.getLogger("alembic").setLevel(logging.WARNING)


def init_app(app) -> None:
    configure_logging(app.config["LOG_LEVEL"])
    access = logging.getLogger("signale.access")

    @app.before_request
    def start_request():
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()
        # No identifier or filter of ours contains NUL, and PostgreSQL text cannot hold it.
        if "\x00" in request.path or b"%00" in request.query_string:
            raise Problem("invalid_character", 400)

    @app.after_request
    def finish_request(response):
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        LATENCY.labels(request.method, endpoint).observe(elapsed)
        access.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
        return response


def render_metrics() -> tuple[bytes, str]:
    """The metrics text; aggregated across gunicorn workers in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
