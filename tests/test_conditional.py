"""The one conditional-GET answer (app/conditional.py) every public channel uses."""

import hashlib
from datetime import UTC, datetime

from flask import Flask, Response

from app import conditional

BODY = b'{"items":[]}'
MODIFIED = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def answer(headers=None, **options) -> Response:
    with Flask(__name__).test_request_context("/", headers=headers or {}):
        return conditional.public(
            Response(BODY, mimetype="application/json"),
            etag=options.pop("etag", conditional.etag_of(BODY, 32)),
            max_age=30,
            **options,
        )


def test_the_etag_is_the_body_s_sha256_whole_or_its_first_digits():
    digest = hashlib.sha256(BODY).hexdigest()
    assert conditional.etag_of(BODY) == digest
    assert conditional.etag_of(BODY, 32) == digest[:32]


def test_a_first_request_gets_the_body_tagged_and_publicly_cacheable():
    response = answer()
    assert response.status_code == 200
    assert response.get_data() == BODY
    assert response.headers["ETag"] == f'"{conditional.etag_of(BODY, 32)}"'
    assert response.headers["Cache-Control"] == "public, max-age=30"
    assert "Last-Modified" not in response.headers
    assert "Vary" not in response.headers


def test_a_client_holding_the_tag_gets_304():
    # (The body is dropped when a 304 is sent: the channels' tests check it over HTTP.)
    etag = answer().headers["ETag"]
    again = answer({"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    other = answer({"If-None-Match": '"something-else"'})
    assert other.status_code == 200


def test_last_modified_answers_if_modified_since_and_vary_is_added():
    response = answer(last_modified=MODIFIED, vary=("Accept-Language",))
    assert response.headers["Last-Modified"] == "Thu, 26 Nov 2026 06:00:00 GMT"
    assert response.headers["Vary"] == "Accept-Language"
    since = answer({"If-Modified-Since": "Thu, 26 Nov 2026 06:00:00 GMT"}, last_modified=MODIFIED)
    assert since.status_code == 304
