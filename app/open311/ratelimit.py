"""Each partner key's own rate limit, counted in Redis with flask-limiter's storage.

As for residents' reports, a Redis outage lets requests through rather than refuse them.
"""

import logging
import math
import time

from flask import current_app
from limits import parse_many

from app.open311.errors import Open311Error
from app.open311.models import ApiKey

log = logging.getLogger(__name__)


def enforce(key: ApiKey) -> None:
    """Count one request against ``key``'s limit; 429 (with Retry-After) once it is spent."""
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    limiter = current_app.extensions["signale.limiter"].limiter
    identity = (current_app.config["RATELIMIT_KEY_PREFIX"], "open311-key", str(key.id))
    try:
        for item in parse_many(key.rate_limit):
            if not limiter.hit(item, *identity):
                reset = limiter.get_window_stats(item, *identity).reset_time
                retry_after = max(1, math.ceil(reset - time.time()))
                raise Open311Error(
                    429,
                    "rate_limited",
                    retry_after=retry_after,
                    headers={"Retry-After": str(retry_after)},
                )
    except Open311Error:
        raise
    except Exception:  # the storage is down: let the request through
        log.warning("open311 rate limit not checked", exc_info=True)
