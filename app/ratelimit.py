"""Abuse limits on creating reports, photos and supports: per user and per IP, in Redis
(flask-limiter).

Limits are configuration (``RATELIMIT_*``). When Redis is unreachable the limiter lets
requests through rather than refuse residents' reports (``swallow_errors``). A retry under
an Idempotency-Key already answered creates nothing: it is neither counted nor refused, so
a client that lost the answer gets it whatever the limits.
"""

import math
import time
import uuid

from flask import Response, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from app.auth.identity import current_identity
from app.errors import Problem, problem_response
from app.extensions import db
from app.idempotency import service as idempotency

# endpoint -> (config key of the limit, what the limit is counted per)
RULES = {
    "reports.Reports": (("RATELIMIT_REPORTS_PER_USER", "user"), ("RATELIMIT_REPORTS_PER_IP", "ip")),
    "reports.Photos": (("RATELIMIT_PHOTOS_PER_USER", "user"), ("RATELIMIT_PHOTOS_PER_IP", "ip")),
    # Anyone can mint anonymous identities: supports are counted per address, and per
    # address and report (each resident supports a report once anyway).
    "reports.Support": (
        ("RATELIMIT_SUPPORTS_PER_IP", "ip"),
        ("RATELIMIT_SUPPORTS_PER_IP_AND_REPORT", "ip_report"),
    ),
    "mobility.Parkings": (("RATELIMIT_MOBILITY_PER_IP", "ip"),),
    "mobility.ParkingHistory": (("RATELIMIT_MOBILITY_PER_IP", "ip"),),
    "mobility.Bikes": (("RATELIMIT_MOBILITY_PER_IP", "ip"),),
    "mobility.Traffic": (("RATELIMIT_MOBILITY_PER_IP", "ip"),),
    "mobility.Vehicles": (("RATELIMIT_MOBILITY_PER_IP", "ip"),),
}
# The methods counted: creations, except the mobility reads, which apps poll (per IP: anyone
# can mint anonymous identities).
METHODS = {
    "mobility.Parkings": ["GET"],
    "mobility.ParkingHistory": ["GET"],
    "mobility.Bikes": ["GET"],
    "mobility.Traffic": ["GET"],
    "mobility.Vehicles": ["GET"],
}


# Creations made under an Idempotency-Key (app.idempotency): their retries are exempt.
IDEMPOTENT = {"reports.Reports", "reports.Photos"}


def is_replay() -> bool:
    """Whether this request retries one already answered under its Idempotency-Key."""
    if "signale_replay" not in g:
        g.signale_replay = _is_replay()
    return g.signale_replay


def _is_replay() -> bool:
    header = request.headers.get("Idempotency-Key")
    if header is None:
        return False
    try:
        key = idempotency.check_key(header)
        owner = current_identity().uid
    except Problem:  # the view answers these (400, 401...)
        return False
    return idempotency.answered(
        db.session,
        owner=owner,
        scope=idempotency.request_scope(request.method, _canonical_path()),
        key=key,
    )


def _canonical_path() -> str:
    """The request's path as the services spell it in a key's scope: rebuilt from the route
    and its converted arguments (``/v1/reports/007/photos`` is report 7's)."""
    if request.url_rule is None:
        return request.path
    return current_app.url_map.bind("").build(request.endpoint, request.view_args or {})


def caller_uid() -> str:
    return "uid:" + current_identity().uid


def address_and_report() -> str:
    return f"{get_remote_address()}:report:{request.view_args.get('report_id')}"


KEY_FUNCS = {"user": caller_uid, "ip": get_remote_address, "ip_report": address_and_report}


def init_app(app) -> None:
    limiter = Limiter(
        key_func=get_remote_address,
        app=app,
        storage_uri=app.config["REDIS_URL"],
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1},
        strategy="fixed-window",
        # Our 429 problem sets Retry-After itself, consistent with its message.
        headers_enabled=False,
        swallow_errors=True,
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX") or f"signale-{uuid.uuid4().hex[:6]}",
        enabled=app.config["RATELIMIT_ENABLED"],
    )
    for endpoint, rules in RULES.items():
        view = app.view_functions[endpoint]
        for config_key, per in rules:
            view = limiter.limit(
                app.config[config_key],
                key_func=KEY_FUNCS[per],
                methods=METHODS.get(endpoint, ["POST"]),
                scope=f"{endpoint}:{per}",
                exempt_when=is_replay if endpoint in IDEMPOTENT else None,
            )(view)
        app.view_functions[endpoint] = view
    # The limiter's check before every request counts the default and application-wide
    # limits: with none (every limit is an endpoint's own, counted by its decorator when the
    # view is called), it finds nothing, at about a twentieth of a staff read's time in
    # Python (benchmarks/bench_queue.py): dropped then. A disabled limiter registers no
    # check at all.
    manager = limiter.limit_manager
    checks = app.before_request_funcs.get(None, [])
    if (
        not manager.default_limits
        and not manager.application_limits
        and limiter._check_request_limit in checks
    ):
        checks.remove(limiter._check_request_limit)
    app.extensions["signale.limiter"] = limiter
    # The limiter answers its own 429: whatever handles other HTTP errors need not know it.
    app.register_error_handler(429, rate_limited)


def rate_limited(error) -> Response:
    """A limit was hit: problem+json whose Retry-After agrees with its message."""
    retry_after = seconds_until_reset()
    return problem_response(
        429, "rate_limited", headers={"Retry-After": str(retry_after)}, retry_after=retry_after
    )


def seconds_until_reset() -> int:
    """For a 429: how long until the limit that was hit lets requests through again."""
    limiter = current_app.extensions.get("signale.limiter")
    limit = limiter.current_limit if limiter else None
    if limit is None:
        return 60
    return max(1, math.ceil(limit.reset_at - time.time()))
