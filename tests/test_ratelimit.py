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


def upload(client, headers, report_id, n):
    return client.post(
        f"/v1/reports/{report_id}/photos",
        headers={**headers, "Idempotency-Key": f"p{n}"},
        data={"file": (io.BytesIO(jpeg()), "p.jpg")},
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

    assert [upload(client, me, report_id, n).status_code for n in range(2)] == [202, 429]


def test_reading_is_not_limited(limited, auth):
    client, me = limited.test_client(), auth(uid="reader")
    assert all(client.get("/v1/reports", headers=me).status_code == 200 for _ in range(6))


def test_a_retry_of_an_answered_report_gets_its_answer_whatever_the_limit(limited, auth):
    client, me = limited.test_client(), auth(uid="retrier")
    first = post(client, me, 0)
    assert first.status_code == 201
    assert post(client, me, 1).status_code == 201
    assert post(client, me, 2).status_code == 429  # the limit is reached
    for _ in range(3):  # the app lost the answer and retries
        again = post(client, me, 0)
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.get_json() == first.get_json()
        assert again.headers["Location"] == first.headers["Location"]


def test_retries_are_not_counted_against_the_limits(limited, auth):
    client, me = limited.test_client(), auth(uid="patient")
    assert post(client, me, 0).status_code == 201
    assert [post(client, me, 0).status_code for _ in range(5)] == [201] * 5
    # Neither the resident's (2) nor the address's (4) limit counted the five retries.
    assert post(client, me, 1).status_code == 201
    assert post(client, me, 2).status_code == 429


def test_a_key_reused_for_another_report_after_the_limit_creates_nothing(limited, auth):
    client, me = limited.test_client(), auth(uid="reuser")
    assert [post(client, me, n).status_code for n in range(2)] == [201, 201]
    reused = client.post(
        "/v1/reports",
        json={**REPORT, "description": "another one"},
        headers={**me, "Idempotency-Key": "k0", "Accept-Language": "fr"},
    )
    assert reused.status_code == 422
    assert reused.get_json()["code"] == "idempotency_key_reused"
    # Another resident's request with the same key is a creation of theirs: counted.
    other = auth(uid="other")
    assert [post(client, other, n).status_code for n in range(3)] == [201, 201, 429]


def test_a_retried_photo_upload_gets_its_answer_after_the_limit(limited, token_for):
    client = limited.test_client()
    me = {"Authorization": f"Bearer {token_for(Role.RESIDENT, uid='snapper2')}"}
    report_id = post(client, me, 1).get_json()["id"]

    first = upload(client, me, report_id, 0)
    assert first.status_code == 202
    assert upload(client, me, report_id, 1).status_code == 429
    again = upload(client, me, report_id, 0)
    assert again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    # The same report spelled otherwise in the path is the same request.
    padded = upload(client, me, f"{report_id:04d}", 0)
    assert padded.status_code == 202, padded.get_json()
    assert padded.get_json()["id"] == first.get_json()["id"]


def behind_the_balancer(application):
    """A test client whose requests all come from the balancer's address, each naming its
    client in X-Forwarded-For as HAProxy's ``option forwardfor`` does."""
    client = application.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    return client


def test_behind_a_trusted_balancer_each_client_address_has_its_own_limit(database_url, auth):
    proxied = make_app(
        database_url,
        RATELIMIT_KEY_PREFIX=f"rl-{uuid.uuid4().hex[:8]}",
        RATELIMIT_REPORTS_PER_IP="2/minute",
        TRUSTED_PROXIES=1,
    )
    client = behind_the_balancer(proxied)

    def post_from(address, n):
        headers = {**auth(uid=f"p{n}"), "X-Forwarded-For": address}
        return post(client, headers, n).status_code

    assert [post_from("203.0.113.5", n) for n in range(3)] == [201, 201, 429]
    # Another resident's phone, through the same balancer: its own count.
    assert post_from("198.51.100.7", 3) == 201


def test_without_trusted_proxies_x_forwarded_for_is_ignored(limited, auth):
    client = behind_the_balancer(limited)
    # A client writing another address at each request gains nothing.
    codes = [
        post(client, {**auth(uid=f"s{n}"), "X-Forwarded-For": f"203.0.113.{n}"}, n).status_code
        for n in range(5)
    ]
    assert codes == [201, 201, 201, 201, 429]


def test_limits_switched_off_start_and_limit_nothing(database_url, auth):
    # RATELIMIT_ENABLED=false (the benchmarks' setting): the app starts, and nothing is
    # limited however low the limits.
    unlimited = make_app(
        database_url,
        RATELIMIT_ENABLED=False,
        RATELIMIT_KEY_PREFIX=f"off-{uuid.uuid4().hex[:8]}",
        RATELIMIT_REPORTS_PER_USER="1/minute",
        RATELIMIT_REPORTS_PER_IP="1/minute",
    )
    client = unlimited.test_client()
    codes = [post(client, auth(uid="off-1"), n).status_code for n in range(3)]
    assert codes == [201, 201, 201]
