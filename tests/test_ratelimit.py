"""Abuse limits on report and photo creation, counted in the real Redis."""

import io
import uuid

import pytest

from app.users.models import Role
from tests.conftest import make_app
from tests.photos.images import jpeg

REPORT = {"category": "other", "location": {"lon": 5.0415, "lat": 47.322}}


@pytest.fixture
def limited(app, database_url):
    return make_app(
        database_url,
        RATELIMIT_KEY_PREFIX=f"rl-{uuid.uuid4().hex[:8]}",
        RATELIMIT_REPORTS_PER_USER="2/minute",
        RATELIMIT_REPORTS_PER_IP="4/minute",
        RATELIMIT_PHOTOS_PER_USER="1/minute",
    )


def post(client, headers, n):
    return client.post(
        "/v1/reports",
        json=REPORT,
        headers={**headers, "Idempotency-Key": f"k{n}", "Accept-Language": "en"},
    )


def test_a_resident_is_limited_per_minute_with_retry_after(limited, auth):
    client, me = limited.test_client(), auth(uid="busy")
    assert [post(client, me, n).status_code for n in range(2)] == [201, 201]
    refused = post(client, me, 3)
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["code"] == "rate_limited"
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 61
    assert f"{retry_after} seconds" in body["detail"]
    # Another resident is not affected by the first one's limit.
    assert post(client, auth(uid="calm"), 1).status_code == 201


def test_many_residents_from_one_address_hit_the_ip_limit(limited, auth):
    client = limited.test_client()
    codes = [post(client, auth(uid=f"u{n}"), n).status_code for n in range(5)]
    assert codes == [201, 201, 201, 201, 429]


def test_photo_uploads_are_limited_too(limited, token_for):
    client = limited.test_client()
    me = {"Authorization": f"Bearer {token_for(Role.RESIDENT, uid='snapper')}"}
    report_id = post(client, me, 1).get_json()["id"]

    def upload(n):
        return client.post(
            f"/v1/reports/{report_id}/photos",
            headers={**me, "Idempotency-Key": f"p{n}"},
            data={"file": (io.BytesIO(jpeg()), "p.jpg")},
        )

    assert [upload(n).status_code for n in range(2)] == [202, 429]


def test_reading_is_not_limited(limited, auth):
    client, me = limited.test_client(), auth(uid="reader")
    assert all(client.get("/v1/reports", headers=me).status_code == 200 for _ in range(6))
