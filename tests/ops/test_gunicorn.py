"""What a client gets from the real gunicorn of `make run` (app/ops/gunicorn_conf.py), for
the requests gunicorn refuses before the application sees them: problem+json, never its
HTML page. Each test speaks HTTP over a socket to a gunicorn started on a free port."""

import json
import socket
from pathlib import Path

import pytest

from tests import servers

ROOT = Path(__file__).resolve().parents[2]


def exchange(port: int, raw: bytes) -> tuple[int, dict, bytes]:
    """Send ``raw``; the status, headers (lower-case names) and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(raw)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def get(port: int, target: str = "/healthz", headers: str = "") -> bytes:
    return (
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n"
    ).encode("latin-1")


@pytest.fixture(scope="module")
def gunicorn(database_url, tmp_path_factory):
    with servers.gunicorn(database_url, tmp_path_factory.mktemp("media")) as port:
        yield port


def assert_problem(answer, status: int, code: str) -> dict:
    got_status, headers, body = answer
    assert got_status == status, body
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) == len(body)
    problem = json.loads(body)
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"].endswith("/" + code)
    assert problem["request_id"] == headers["x-request-id"]
    assert headers["content-language"] == "fr"
    return problem


def test_a_request_line_over_the_limit_is_a_414_problem(gunicorn):
    answer = exchange(gunicorn, get(gunicorn, "/v1/reports?q=" + "x" * 9000))
    problem = assert_problem(answer, 414, "uri_too_long")
    assert "8190 octets" in problem["detail"]


def test_a_header_over_the_limit_is_a_431_problem(gunicorn):
    answer = exchange(gunicorn, get(gunicorn, headers=f"X-Big: {'x' * 9000}\r\n"))
    problem = assert_problem(answer, 431, "header_fields_too_large")
    assert "100 en-têtes de 8190 octets" in problem["detail"]


def test_too_many_headers_is_a_431_problem(gunicorn):
    many = "".join(f"X-H{i}: v\r\n" for i in range(150))
    assert_problem(exchange(gunicorn, get(gunicorn, headers=many)), 431, "header_fields_too_large")


@pytest.mark.parametrize(
    "raw",
    [
        b"GET\x01 / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        # NUL as a raw byte (percent-encoded, the application refuses it: invalid_character).
        b"GET /v1/reports?q=a\x00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\nConnection: close\r\n\r\n",
    ],
    ids=["method", "NUL in the query", "NUL in a header"],
)
def test_a_malformed_request_is_a_400_problem(gunicorn, raw):
    assert_problem(exchange(gunicorn, raw), 400, "bad_request")


def test_answers_through_gunicorn_carry_the_security_headers(gunicorn):
    status, headers, _ = exchange(gunicorn, get(gunicorn, "/healthz"))
    assert status == 200
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
