"""Configuration: defaults here, overlaid from the environment.

Every setting can be given as an environment variable of the same name (``DATABASE_URL``,
``REDIS_URL``...) or with the ``SIGNALE_`` prefix (``SIGNALE_FIREBASE_PROJECT_ID``), which
Flask's ``from_prefixed_env`` parses as JSON where it can.
"""

import os
from pathlib import Path

# The checkout (or installed tree) the code runs from: relative paths of the configuration
# are resolved against it, never against the current directory (a worker or a CLI command
# started elsewhere must write where the API serves from).
PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Settings that name a directory or a file.
PATH_SETTINGS = ("MEDIA_ROOT",)

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/signale"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

# Variables read without prefix, because every tool in the ecosystem uses these names.
PLAIN_ENV = (
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "REDIS_URL",
    "FIREBASE_AUTH_EMULATOR_HOST",
    "FIREBASE_PROJECT_ID",
    "SIGNALE_ENV",
    "LOG_LEVEL",
    "MEDIA_ROOT",
    "STORAGE_BACKEND",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_REGION",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "FCM_CREDENTIALS",
    "FCM_ENDPOINT",
    "FCM_PROJECT_ID",
)


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver whatever form the URL was given in."""
    for prefix in ("postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    SIGNALE_ENV = "development"
    DATABASE_URL = DEFAULT_DATABASE_URL
    # A streaming replica of DATABASE_URL for the read-only public traffic (app/replica.py:
    # which views, what happens when it is down or behind); empty: everything on the
    # primary. Its connections give up after CONNECT_TIMEOUT (at least 2 s, as libpq's);
    # after a failure the primary serves the process's public reads for RETRY seconds; its
    # lag is read at most every CHECK seconds, and beyond MAX_LAG the primary serves.
    DATABASE_REPLICA_URL = ""
    DATABASE_REPLICA_CONNECT_TIMEOUT_SECONDS = 2
    DATABASE_REPLICA_RETRY_SECONDS = 5.0
    DATABASE_REPLICA_CHECK_SECONDS = 1.0
    DATABASE_REPLICA_MAX_LAG_SECONDS = 10.0
    # A pooled connection of the primary idle for longer than this is checked (one
    # round trip) before a request uses it, a dead one replaced; one used more recently is
    # not: under load, checking at every checkout cost a round trip per request.
    DATABASE_PING_AFTER_IDLE_SECONDS = 2.0
    # Connections each process keeps open to the primary (and opens beyond, for bursts):
    # at least the requests a process serves at once, or every request past the kept ones
    # opens a connection (a server process started, its statements prepared again): with
    # SQLAlchemy's 5, one intake request in eight did under 16 concurrent clients on two
    # processes. Processes x (size + overflow) must stay under the server's max_connections.
    DATABASE_POOL_SIZE = 8
    DATABASE_POOL_OVERFLOW = 8
    REDIS_URL = DEFAULT_REDIS_URL
    LOG_LEVEL = "INFO"

    # Firebase: the project whose ID tokens we accept. With FIREBASE_AUTH_EMULATOR_HOST set,
    # firebase-admin accepts the emulator's unsigned tokens: never in production.
    FIREBASE_PROJECT_ID = "demo-signale"
    FIREBASE_AUTH_EMULATOR_HOST = ""
    # The Firebase web app the console signs in with (the Firebase JS SDK's apiKey and
    # authDomain: public values, not secrets). The emulator takes any key.
    FIREBASE_WEB_API_KEY = "demo-api-key"
    FIREBASE_AUTH_DOMAIN = ""
    # The console's base map: the city's tile server ("https://tiles.example/{z}/{x}/{y}.png"),
    # or none: the communes, equipment and reports are then drawn as vector layers alone.
    MAP_TILE_URL = ""
    # Tolerated clock difference between Google's token issuer and this server.
    AUTH_CLOCK_SKEW_SECONDS = 10
    # How long a process keeps a caller's staff row (role, desks, crew) before reading it
    # again: the bound within which a changed or removed staff account takes effect in the
    # other processes (at once in the one that changed it). 0: read on every request.
    IDENTITY_CACHE_SECONDS = 5.0

    # Photo files: "filesystem" (MEDIA_ROOT) or "s3" (S3_BUCKET on S3_ENDPOINT_URL; the
    # credentials may also come from boto3's usual environment variables). A relative
    # MEDIA_ROOT is under PROJECT_ROOT; production needs an absolute one.
    STORAGE_BACKEND = "filesystem"
    S3_BUCKET = ""
    S3_ENDPOINT_URL = ""
    S3_REGION = ""
    S3_ACCESS_KEY_ID = ""
    S3_SECRET_ACCESS_KEY = ""
    MEDIA_ROOT = "var/media"

    # The photo pipeline's sweep (worker/cron.py): how often it looks for photos whose job
    # was lost (Redis flushed, a worker SIGKILLed while holding it), and how long a photo
    # may stay processing before its job is taken for lost and queued again (unless the job
    # still waits in the queue or for its retry). Longer than a photo takes to process: a
    # job still running is queued again too, and its second run finds nothing to do.
    PHOTOS_SWEEP_INTERVAL_SECONDS = 60
    PHOTOS_SWEEP_AFTER_SECONDS = 120

    # Proxies in front of gunicorn that append the client's address to X-Forwarded-For
    # (a load balancer: 1; a CDN, then the balancer: 2). The per-address abuse limits count
    # the address found that many hops back; 0: the header is ignored (a client writes it).
    TRUSTED_PROXIES = 0

    # Abuse limits (flask-limiter syntax; several separated by ";").
    RATELIMIT_ENABLED = True
    RATELIMIT_KEY_PREFIX = "signale"
    RATELIMIT_REPORTS_PER_USER = "10/minute;60/day"
    RATELIMIT_REPORTS_PER_IP = "60/minute;1000/day"
    RATELIMIT_PHOTOS_PER_USER = "30/minute;300/day"
    RATELIMIT_PHOTOS_PER_IP = "120/minute"
    RATELIMIT_SUPPORTS_PER_IP = "30/minute;300/day"
    RATELIMIT_SUPPORTS_PER_IP_AND_REPORT = "5/day"
    RATELIMIT_MOBILITY_PER_IP = "120/minute"

    # Routing of new reports (desk, crew, equipment, duplicates). Off only to measure what it
    # costs (benchmarks/bench_routing.py): reports then get their commune and nothing else.
    ROUTING_ENABLED = True

    # Open311 GeoReport v2 (/open311/v2): who we are, whom partners ask for a key, each new
    # key's rate limit, and the grid (Lambert-93 metres) public positions are snapped to so
    # that a request cannot point at a private home.
    OPEN311_JURISDICTION_ID = "metropole-dijon.fr"
    # What the discovery tells partners this endpoint is: "production" (requests filed here
    # are real tickets, worked by the desks: the case whatever SIGNALE_ENV) or "test" (a
    # sandbox whose operator says so).
    OPEN311_ENDPOINT_TYPE = "production"
    OPEN311_CONTACT = "Dijon Métropole, Signale"
    OPEN311_KEY_SERVICE = "Partner keys are issued by Dijon Métropole's Signale administrators."
    OPEN311_DEFAULT_RATE_LIMIT = "60/minute;1000/day"
    OPEN311_LOCATION_GRID_M = 50
    # A partner's media_url: fetched by the worker within these bounds (then the photo
    # pipeline checks the image as for uploads).
    OPEN311_MEDIA_MAX_BYTES = 20 * 1024 * 1024
    OPEN311_MEDIA_TIMEOUT_S = 20
    # The GET documents' server-side cache (app/cache.py, app/open311/cache.py): exact
    # (keyed by a data version), entries kept this long, only this long while the data has
    # just changed, none larger than this, and at most so many bytes stored a minute (the cache then
    # holds at most about 11 minutes of it, whatever URLs clients invent). Off, every GET
    # builds its document (benchmarks compare).
    OPEN311_CACHE_ENABLED = True
    OPEN311_CACHE_TTL_SECONDS = 600
    OPEN311_CACHE_SETTLE_SECONDS = 5
    OPEN311_CACHE_MAX_BYTES = 2 * 1024 * 1024
    OPEN311_CACHE_BYTES_PER_MINUTE = 16 * 1024 * 1024
    # The public lists' pages (GET /v1/reports, its GeoJSON, near, suggestions): the same
    # server-side cache (app/reports/cache.py; settings as OPEN311_CACHE_*'s), each process
    # also keeping the entries it served last, up to LOCAL_BYTES (a hit there costs no
    # Redis round trip; as exact), and reading the data version from a pool of its own of
    # VERSION_POOL_SIZE connections (no ping on checkout). Off, every GET builds its page
    # (benchmarks compare).
    PUBLIC_LISTS_CACHE_ENABLED = True
    PUBLIC_LISTS_CACHE_TTL_SECONDS = 600
    PUBLIC_LISTS_CACHE_SETTLE_SECONDS = 5
    PUBLIC_LISTS_CACHE_MAX_BYTES = 2 * 1024 * 1024
    PUBLIC_LISTS_CACHE_BYTES_PER_MINUTE = 16 * 1024 * 1024
    PUBLIC_LISTS_CACHE_LOCAL_BYTES = 16 * 1024 * 1024
    PUBLIC_LISTS_CACHE_VERSION_POOL_SIZE = 8
    # A desk's queue pages and header counts: the same server-side cache (app/worklists/
    # cache.py; settings as PUBLIC_LISTS_CACHE_*'s), exact (the desk's version is moved by
    # triggers in the writers' transactions: nothing to settle); the version is read on a
    # pool of VERSION_POOL_SIZE connections of its own (its statement keeps its generic
    # plan there). Off, every GET renders its page (benchmarks/bench_queue.py compares).
    DESK_QUEUE_CACHE_ENABLED = True
    DESK_QUEUE_CACHE_TTL_SECONDS = 300
    DESK_QUEUE_CACHE_SETTLE_SECONDS = 0
    DESK_QUEUE_CACHE_MAX_BYTES = 2 * 1024 * 1024
    DESK_QUEUE_CACHE_BYTES_PER_MINUTE = 32 * 1024 * 1024
    DESK_QUEUE_CACHE_LOCAL_BYTES = 32 * 1024 * 1024
    DESK_QUEUE_CACHE_VERSION_POOL_SIZE = 2
    # City sensor feeds: bounds of one poll (all its pages), broker page size, back-off
    # ceiling, how long observations are kept. (The dispatcher runs every 10 s: worker/cron.py.)
    FEEDS_POLL_TIMEOUT_SECONDS = 20
    FEEDS_POLL_MAX_BYTES = 20 * 1024 * 1024
    FEEDS_BROKER_PAGE_SIZE = 1000
    FEEDS_MAX_BACKOFF_SECONDS = 3600
    FEEDS_OBSERVATION_RETENTION_DAYS = 90
    # Pushed notifications (app/feeds/subscriptions.py): the base URL the broker notifies
    # (default PUBLIC_BASE_URL; a broker inside the network may reach Signale elsewhere),
    # how long a subscription lasts, renewed that long before it ends, checked on the
    # broker that often (re-made if forgotten), a failure retried after (doubling), the
    # broker's throttling (0: none), each broker request's time limit, and how often the
    # cron job tends them.
    FEEDS_NOTIFICATION_BASE_URL = ""
    FEEDS_SUBSCRIPTION_LIFETIME_SECONDS = 3600
    FEEDS_SUBSCRIPTION_RENEW_BEFORE_SECONDS = 900
    FEEDS_SUBSCRIPTION_CHECK_SECONDS = 300
    FEEDS_SUBSCRIPTION_RETRY_SECONDS = 30
    FEEDS_SUBSCRIPTION_THROTTLING_SECONDS = 0
    FEEDS_SUBSCRIPTION_TIMEOUT_SECONDS = 10
    FEEDS_SUBSCRIPTIONS_INTERVAL_SECONDS = 15
    # Mobility reads: how long clients and caches may reuse an answer.
    MOBILITY_MAX_AGE_SECONDS = 30
    # Traffic: the speed a segment's average is compared with when it gives no occupancy.
    TRAFFIC_FREE_FLOW_SPEED_KMH = 50
    # Open data exports (/v1/opendata/files): positions are snapped to OPEN311_LOCATION_GRID_M
    # too (one grid for every public output: two would locate a report more finely than
    # either); photo links are absolute under PUBLIC_BASE_URL. The worker's cron process
    # produces the files on this schedule (cron syntax, the server's time), within the
    # timeout; clients and caches may reuse a file this long before asking again (ETag).
    PUBLIC_BASE_URL = "https://signale.metropole-dijon.fr"
    OPENDATA_EXPORT_CRON = "30 2 * * *"
    OPENDATA_EXPORT_TIMEOUT_SECONDS = 3600
    OPENDATA_MAX_AGE_SECONDS = 300
    # Statistics (/v1/opendata/statistics/*, and their nightly files): a figure drawn from
    # fewer reports than this is published as null, flagged "suppressed" (small cells).
    OPENDATA_STATISTICS_MIN_COUNT = 3
    # Their answers' server-side cache (app/opendata/cache.py, exact: keyed by a data
    # version; settings as OPEN311_CACHE_*'s, entries up to 8 MB: the whole history by
    # month), and how long one uncached answer may compute (under gunicorn's 30 s
    # timeout): beyond, a 503 statistics_busy, to retry after so many seconds.
    OPENDATA_STATISTICS_CACHE_ENABLED = True
    OPENDATA_STATISTICS_CACHE_TTL_SECONDS = 3600
    OPENDATA_STATISTICS_CACHE_SETTLE_SECONDS = 5
    OPENDATA_STATISTICS_CACHE_MAX_BYTES = 8 * 1024 * 1024
    OPENDATA_STATISTICS_CACHE_BYTES_PER_MINUTE = 16 * 1024 * 1024
    OPENDATA_STATISTICS_TIMEOUT_MS = 20_000
    OPENDATA_STATISTICS_RETRY_AFTER_SECONDS = 60

    # Retention of personal data (app/privacy/retention.py: each rule's default delay, and
    # device tokens' 270 days unseen among them): the worker's cron process applies the
    # schedule on this schedule (cron syntax, the server's time), in batches of so many
    # rows. A rule's delay is set with RETENTION_<RULE>_DAYS (SIGNALE_RETENTION_..._DAYS in
    # the environment), e.g. RETENTION_CONTACT_DETAILS_DAYS.
    RETENTION_CRON = "0 3 * * *"
    RETENTION_TIMEOUT_SECONDS = 3600
    RETENTION_BATCH_SIZE = 5000

    # Notifications: pushes through FCM HTTP v1 (app/notifications/fcm.py). Without
    # FCM_CREDENTIALS (a service account JSON file, or "application-default") residents get
    # the in-app feed only. FCM_ENDPOINT points firebase-admin elsewhere than Google (a
    # stand-in, with FCM_CREDENTIALS=static-token: refused in production). FCM_PROJECT_ID
    # defaults to FIREBASE_PROJECT_ID.
    FCM_CREDENTIALS = ""
    FCM_ENDPOINT = ""
    FCM_PROJECT_ID = ""
    FCM_TIMEOUT_SECONDS = 10
    # The dispatcher: pushes per send_each call (at most 500), how long a claimed batch is
    # left alone by other runs, and retries of transient errors (exponential backoff from
    # the base, at least FCM's Retry-After, capped) before a push is given up.
    NOTIFICATIONS_BATCH = 500
    NOTIFICATIONS_LEASE_SECONDS = 120
    NOTIFICATIONS_MAX_ATTEMPTS = 8
    NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    NOTIFICATIONS_RETRY_MAX_SECONDS = 3600
    # How often the worker's cron process queues the dispatcher again when due pushes wait
    # with none in flight (a lost job, a SIGKILLed worker's lease over, retries come due).
    NOTIFICATIONS_SWEEP_INTERVAL_SECONDS = 30
    # Equipment commands (app/equipment): how long a sent command waits for the reported
    # state to match before it expires, how long a traffic-signal command waits for a
    # second person, the dispatcher's batch, lease, retries of an unreachable broker
    # (exponential backoff from the base, capped; never given up), sending threads and
    # per-request timeout, the largest selection, and how often the sweep runs.
    EQUIPMENT_COMMAND_TIMEOUT_SECONDS = 180
    EQUIPMENT_CONFIRMATION_TIMEOUT_SECONDS = 900
    EQUIPMENT_COMMAND_BATCH = 500
    EQUIPMENT_COMMAND_LEASE_SECONDS = 60
    EQUIPMENT_COMMAND_RETRY_BASE_SECONDS = 5
    EQUIPMENT_COMMAND_RETRY_MAX_SECONDS = 300
    EQUIPMENT_COMMAND_THREADS = 16
    EQUIPMENT_BROKER_TIMEOUT_SECONDS = 10
    EQUIPMENT_SELECTION_MAX = 5000
    EQUIPMENT_SWEEP_INTERVAL_SECONDS = 10
    # Area alerts: subscriptions per resident, at most one alert per subscription this
    # often, and how long after its creation a report waits to be told of (its intake may
    # still be committing: a report stamped earlier than the watermark would be missed).
    AREA_SUBSCRIPTIONS_MAX = 10
    AREA_ALERTS_INTERVAL_SECONDS = 3600
    AREA_ALERTS_SETTLE_SECONDS = 60

    # The console's live stream (GET /v1/events, app/live). Each open stream holds one of
    # its gunicorn process's threads: a process serves at most EVENTS_MAX_STREAMS_PER_PROCESS,
    # and never more than its threads less EVENTS_API_THREADS, kept for every other request
    # (GUNICORN_THREADS, app/ops/gunicorn_conf.py); beyond, 503 events_busy with Retry-After.
    # A heartbeat comment goes out after so many idle seconds, and a stream ends with its
    # token's expiry or after EVENTS_MAX_STREAM_SECONDS (its client reconnects, spreading
    # the streams over the processes again); clients reconnect after EVENTS_CLIENT_RETRY_MS.
    EVENTS_MAX_STREAMS_PER_PROCESS = 100
    EVENTS_API_THREADS = 16
    EVENTS_HEARTBEAT_SECONDS = 15
    EVENTS_MAX_STREAM_SECONDS = 3600
    EVENTS_CLIENT_RETRY_MS = 2000
    EVENTS_RETRY_AFTER_SECONDS = 5
    # Changes a stream may have waiting for its client; beyond, it gets a resync instead.
    EVENTS_QUEUE_SIZE = 1000

    # Pagination
    PAGE_SIZE_DEFAULT = 50
    PAGE_SIZE_MAX = 200

    # Production answers tell browsers to use HTTPS only for this long (Strict-Transport-
    # Security; app/ops/headers.py).
    HSTS_MAX_AGE_SECONDS = 2 * 365 * 24 * 3600

    # Request bodies larger than this are refused with 413 (photos have their own limit).
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024
    # Asset import files (GeoJSON or CSV) may be larger.
    ASSET_IMPORT_MAX_BYTES = 10 * 1024 * 1024

    # flask-smorest / OpenAPI
    API_TITLE = "Signale API"
    API_VERSION = "1.0.0"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    OPENAPI_SWAGGER_UI_URL = "/static/swagger-ui/"
    API_SPEC_OPTIONS = {
        "info": {
            "description": (
                "Back end of Dijon Métropole's citizen road-issue reporting service. "
                "Every /v1 operation needs a Firebase ID token (`Authorization: Bearer`). "
                "Errors are RFC 9457 problem details with a stable `code`."
            ),
        },
        "components": {
            "securitySchemes": {
                "firebase": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            }
        },
    }

    # Connections are checked at checkout only after an idle time (app.extensions:
    # ping_after_idle, DATABASE_PING_AFTER_IDLE_SECONDS); the replica's pool checks each.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": False}
    JSON_SORT_KEYS = False


def resolve_paths(cfg) -> None:
    """Make every path setting absolute, once, against PROJECT_ROOT (an absolute one stays)."""
    for name in PATH_SETTINGS:
        if cfg.get(name):
            cfg[name] = str(PROJECT_ROOT / cfg[name])


def load(overrides: dict | None = None) -> dict:
    """Return the effective configuration: defaults, then environment, then overrides."""
    cfg = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    for name in PLAIN_ENV:
        if os.environ.get(name):
            cfg[name] = os.environ[name]
    cfg.update(overrides or {})
    cfg["DATABASE_URL"] = normalise_database_url(cfg["DATABASE_URL"])
    cfg["SQLALCHEMY_DATABASE_URI"] = cfg["DATABASE_URL"]
    return cfg
