import io
import json
import logging

from app.ops.observability import JsonFormatter, RequestIdFilter
from tests.conftest import create_database, drop_database, make_app


def test_healthz_answers_without_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_when_database_redis_and_migrations_are(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]


def test_readyz_is_503_when_redis_is_down(database_url):
    app = make_app(database_url, REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["redis"]["ok"] is False
    assert checks["database"]["ok"] is True


def test_readyz_is_503_when_the_database_is_unreachable(database_url):
    app = make_app("postgresql://postgres@127.0.0.1:1/signale")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"]["ok"] is False


def test_readyz_is_503_when_migrations_are_behind():
    url = create_database("signale_unmigrated")
    try:
        app = make_app(url)
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        migrations = response.get_json()["checks"]["migrations"]
        assert migrations == {"ok": False, "current": [], "head": migrations["head"]}
        assert len(migrations["head"]) == 1
    finally:
        drop_database(url)


def test_metrics_count_requests_by_route_and_status(client):
    client.get("/healthz")
    client.get("/v1/me")  # 401
    text = client.get("/metrics").get_data(as_text=True)
    assert 'signale_http_requests_total{endpoint="/healthz",method="GET",status="200"}' in text
    assert 'signale_http_requests_total{endpoint="/v1/me",method="GET",status="401"}' in text
    assert "signale_http_request_duration_seconds_bucket" in text


def test_the_openapi_document_and_the_interactive_docs_are_served(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "firebase" in spec["components"]["securitySchemes"]
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.data
    # The docs page works offline: its assets are served by us, not a CDN.
    assert b"/static/swagger-ui/swagger-ui-bundle.js" in docs.data
    assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_json_logs_carry_the_request_id(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("signale.access")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        client.get("/healthz", headers={"X-Request-ID": "trace-me-1"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["request_id"] == "trace-me-1"
    assert (entry["path"], entry["status"], entry["level"]) == ("/healthz", 200, "info")
    assert entry["time"].endswith("+00:00")
