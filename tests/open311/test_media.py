"""Fetching a partner's media_url: http(s) only, public addresses only (also after
redirects and whatever DNS answers), bounded in size and time, then the photo pipeline."""

import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rq import Queue
from sqlalchemy import select, text

from app.extensions import db
from app.jobs import worker_queues
from app.open311 import media
from app.open311.media import Policy, Refused
from app.open311.models import Submission
from app.open311.service import fetch_media
from app.photos.models import Photo
from app.reports.photos import process_photo
from tests.open311.conftest import BASE, DIJON, get_json
from tests.photos.images import jpeg

PHOTO = jpeg()
RELEASE = threading.Event()
# /held: the request has arrived; the answer waits for HELD_RELEASE.
HELD_ARRIVED, HELD_RELEASE = threading.Event(), threading.Event()


class Partner(BaseHTTPRequestHandler):
    """A partner's photo server, on 127.0.0.1 (which only the tests' policy allows)."""

    def log_message(self, *args):
        pass

    def _send(self, status, body=b"", headers=()):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        if not any(k == "Content-Length" for k, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        port = self.server.server_address[1]
        routes = {
            "/photo.jpg": lambda: self._send(200, PHOTO, [("Content-Type", "image/jpeg")]),
            "/to-metadata": lambda: self._send(
                302, headers=[("Location", "http://169.254.169.254/")]
            ),
            "/to-private": lambda: self._send(302, headers=[("Location", "http://10.0.0.7/x.jpg")]),
            "/to-photo": lambda: self._send(
                302, headers=[("Location", f"http://photos.partner.test:{port}/photo.jpg")]
            ),
            "/loop": lambda: self._send(302, headers=[("Location", "/loop")]),
            "/declared-big": lambda: self._send(200, b"x", [("Content-Length", str(10**9))]),
            "/missing": lambda: self._send(404, b"no"),
        }
        if self.path in routes:
            routes[self.path]()
        elif self.path == "/endless":
            self.send_response(200)
            self.end_headers()  # no length: the body runs until the connection closes
            for _ in range(100):
                self.wfile.write(b"x" * 4096)
        elif self.path == "/held":
            HELD_ARRIVED.set()
            HELD_RELEASE.wait(10)
            self._send(200, PHOTO, [("Content-Type", "image/jpeg")])
        elif self.path == "/slow":
            self.send_response(200)
            self.send_header("Content-Length", "10")
            self.end_headers()
            self.wfile.write(b"x")
            self.wfile.flush()
            RELEASE.wait(10)


@pytest.fixture(scope="module")
def partner():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Partner)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    RELEASE.set()
    HELD_RELEASE.set()
    server.shutdown()
    server.server_close()


def partner_policy(**bounds) -> Policy:
    """The real rules, except that photos.partner.test is our local server and 127.0.0.1
    (that server) counts as public."""

    def resolve(host, port):
        return ["127.0.0.1"] if host == "photos.partner.test" else media.resolve(host, port)

    def allowed(address):
        return address == "127.0.0.1" or media.is_public(address)

    return Policy(resolve=resolve, allowed=allowed, **bounds)


def test_a_public_photo_is_fetched(partner):
    assert media.fetch(f"http://photos.partner.test:{partner}/photo.jpg", partner_policy()) == PHOTO


def test_redirects_are_followed_and_checked_at_each_hop(partner):
    url = f"http://photos.partner.test:{partner}"
    assert media.fetch(f"{url}/to-photo", partner_policy()) == PHOTO
    for path in ("/to-metadata", "/to-private"):
        with pytest.raises(Refused) as refused:
            media.fetch(url + path, partner_policy())
        assert refused.value.reason == "address_not_allowed", path
    with pytest.raises(Refused) as refused:
        media.fetch(f"{url}/loop", partner_policy())
    assert refused.value.reason == "too_many_redirects"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/photo.jpg",
        "http://localhost/photo.jpg",
        "http://[::1]/photo.jpg",
        "http://[::ffff:127.0.0.1]/photo.jpg",
        "http://10.1.2.3/photo.jpg",
        "http://172.16.0.1/photo.jpg",
        "http://192.168.1.1/photo.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/photo.jpg",
        "http://100.64.0.1/photo.jpg",
        "http://0.0.0.0/photo.jpg",
    ],
)
def test_loopback_private_and_link_local_addresses_are_refused(url):
    with pytest.raises(Refused) as refused:
        media.fetch(url, Policy())
    assert refused.value.reason == "address_not_allowed"


# IPv6 spellings that reach IPv4 or private space: each must be judged by what it reaches.
HIDDEN_PRIVATE = [
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
    "64:ff9b:1::a00:1",  # local-use NAT64 (RFC 8215)
    "2002:a00:1::1",  # 6to4 behind 10.0.0.1
    "2002:7f00:1::1",  # 6to4 behind 127.0.0.1
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::a00:1",  # IPv4-compatible 10.0.0.1
    "::ffff:a00:1",  # IPv4-mapped 10.0.0.1
    "::ffff:169.254.169.254",
    "fec0::1",  # site-local
    "fc00::1",  # unique local
    "fe80::1",  # link-local
    "ff02::1",  # multicast
    "::",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:db8::1",  # documentation
    "3fff::1",  # documentation (RFC 9637)
]


@pytest.mark.parametrize("address", HIDDEN_PRIVATE)
def test_ipv6_forms_reaching_ipv4_or_private_space_are_refused(address):
    assert not media.is_public(address)
    with pytest.raises(Refused) as refused:
        media.fetch(f"http://[{address}]/photo.jpg", Policy())
    assert refused.value.reason == "address_not_allowed"
    # The same address answered by DNS.
    with pytest.raises(Refused) as refused:
        media.fetch("http://photos.example.org/photo.jpg", Policy(resolve=lambda h, p: [address]))
    assert refused.value.reason == "address_not_allowed"


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "2606:4700:4700::1111",
        "::ffff:93.184.216.34",  # IPv4-mapped public address
        "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34 (an IPv6-only network's DNS64)
        "2002:5db8:d822::1",  # 6to4 behind 93.184.216.34
    ],
)
def test_public_addresses_are_allowed_whatever_their_spelling(address):
    assert media.is_public(address)


@pytest.mark.parametrize("url", ["ftp://example.org/a.jpg", "file:///etc/passwd", "gopher://x/"])
def test_other_schemes_are_refused(url):
    with pytest.raises(Refused) as refused:
        media.fetch(url, Policy())
    assert refused.value.reason == "scheme_not_allowed"


@pytest.mark.parametrize(
    "answers", [["10.0.0.5"], ["93.184.216.34", "127.0.0.1"], ["169.254.169.254"]]
)
def test_a_name_resolving_to_any_private_address_is_refused(answers):
    policy = Policy(resolve=lambda host, port: answers)
    with pytest.raises(Refused) as refused:
        media.fetch("http://innocent-looking.example.org/photo.jpg", policy)
    assert refused.value.reason == "address_not_allowed"


def test_oversize_bodies_are_refused_declared_or_not(partner):
    url = f"http://photos.partner.test:{partner}"
    for path in ("/declared-big", "/endless"):
        with pytest.raises(Refused) as refused:
            media.fetch(url + path, partner_policy(max_bytes=100_000))
        assert refused.value.reason == "too_large", path


def test_a_response_slower_than_the_bound_is_refused(partner):
    with pytest.raises(Refused) as refused:
        media.fetch(f"http://photos.partner.test:{partner}/slow", partner_policy(timeout_s=0.5))
    assert refused.value.reason == "too_slow"


# A server that answers one byte at a time, each well within any per-read timeout, and
# never finishes: only a deadline on the whole fetch stops the client.
DRIP_INTERVAL_S = 0.05
DRIP_PREFIX = {
    "status line": b"HTTP/1.1 200 OK",
    "headers": b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nX-Drip: ",
    "body": b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n",
}
STOP_DRIPPING = threading.Event()


class Drip(socketserver.BaseRequestHandler):
    def handle(self):
        request = b""
        while b"\r\n\r\n" not in request:
            request += self.request.recv(4096)
        phase = request.split(b" ")[1].decode().strip("/").replace("-", " ")
        # The status line and the header value grow one space or letter at a time.
        filler = b" " if phase == "status line" else b"a"
        try:
            self.request.sendall(DRIP_PREFIX[phase])
            while not STOP_DRIPPING.wait(DRIP_INTERVAL_S):
                self.request.sendall(filler)
        except OSError:
            pass  # the client gave up: what the test expects


@pytest.fixture(scope="module")
def dripping():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    STOP_DRIPPING.set()
    server.shutdown()
    server.server_close()


def fetch_in_background(url: str, policy: Policy) -> dict:
    """``fetch`` in a thread, waited for at most a minute (a generous bound, not a
    measurement: a bounded fetch gives up after its own half second); returns what it did."""
    outcome = {}

    def run():
        try:
            outcome["body"] = media.fetch(url, policy)
        except Refused as refused:
            outcome["refused"] = refused.reason

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    outcome["finished"] = not thread.is_alive()
    return outcome


@pytest.mark.parametrize("phase", ["status-line", "headers", "body"])
def test_the_time_limit_bounds_the_whole_fetch_even_a_byte_at_a_time(dripping, phase):
    url = f"http://photos.partner.test:{dripping}/{phase}"
    outcome = fetch_in_background(url, partner_policy(timeout_s=0.5))
    assert outcome == {"refused": "too_slow", "finished": True}


def test_the_time_limit_bounds_the_name_resolution_too():
    stuck = threading.Event()

    def resolve(host, port):
        stuck.wait()  # a resolver that never answers
        return ["93.184.216.34"]

    try:
        outcome = fetch_in_background(
            "http://photos.example.org/photo.jpg", Policy(resolve=resolve, timeout_s=0.5)
        )
    finally:
        stuck.set()
    assert outcome == {"refused": "too_slow", "finished": True}


def test_an_error_status_is_refused(partner):
    with pytest.raises(Refused) as refused:
        media.fetch(f"http://photos.partner.test:{partner}/missing", partner_policy())
    assert refused.value.reason == "http_404"


def _submit(client, api_key, media_url: str) -> str:
    response = client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": api_key(),
            "service_code": "other",
            "lat": str(DIJON[1]),
            "long": str(DIJON[0]),
            "media_url": media_url,
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()[0]["service_request_id"]


def test_a_submission_naming_a_media_url_queues_its_fetch_when_it_commits(
    client, api_key, session, redis_conn
):
    queue = Queue(worker_queues()[0], connection=redis_conn)
    queue.empty()
    _submit(client, api_key, "https://example.org/photo.jpg")
    report_id = session.scalar(select(Submission.report_id))
    job = queue.fetch_job(f"open311-media-{report_id}")
    assert (job.func_name, job.args) == ("worker.jobs.fetch_open311_media", (report_id,))
    assert (job.retries_left, job.retry_intervals) == (3, [30, 120, 600])
    assert queue.count == 1


def test_a_fetched_photo_goes_through_the_pipeline_and_becomes_the_media_url(
    client, api_key, session, partner, redis_conn
):
    queue = Queue(worker_queues()[0], connection=redis_conn)
    reference = _submit(client, api_key, f"http://photos.partner.test:{partner}/photo.jpg")
    submission = session.scalar(select(Submission))
    assert fetch_media(session, submission.report_id, partner_policy()) == "fetched"
    assert fetch_media(session, submission.report_id, partner_policy()) == "fetched"  # once
    (photo,) = session.scalars(select(Photo)).all()
    job = queue.fetch_job(f"photo-{photo.id}")  # queued when the photo committed
    assert (job.func_name, job.args) == ("worker.jobs.process_photo", (photo.id,))
    assert process_photo(session, photo.id) == "ready"
    (request,) = get_json(client, f"/requests/{reference}.json")
    assert "/v1/media/display/" in request["media_url"]


@pytest.mark.processes
def test_no_lock_is_held_on_the_submission_while_its_media_url_is_fetched(
    app, client, api_key, session, partner
):
    """A partner's server may take its 20 s: meanwhile the submission stays free (another
    connection locks it without waiting), and the fetch is still recorded once."""
    _submit(client, api_key, f"http://photos.partner.test:{partner}/held")
    report_id = session.scalar(select(Submission.report_id))
    session.rollback()
    HELD_ARRIVED.clear()
    HELD_RELEASE.clear()
    outcome = {}

    def worker_job():
        with app.app_context():
            outcome["status"] = fetch_media(db.session, report_id, partner_policy())
            db.session.remove()

    thread = threading.Thread(target=worker_job, daemon=True)
    thread.start()
    try:
        assert HELD_ARRIVED.wait(10), "the fetch never reached the partner's server"
        with db.engine.connect() as other:
            locked = other.execute(
                text(
                    "SELECT media_status FROM open311_submissions WHERE report_id = :id "
                    "FOR UPDATE NOWAIT"
                ),
                {"id": report_id},
            ).scalar_one()
            assert locked == "pending"
            other.rollback()
            # Nor does the fetching session sit in a transaction while it waits.
            waiting = other.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            assert waiting == 0
    finally:
        HELD_RELEASE.set()
        thread.join(30)
    assert outcome == {"status": "fetched"}
    assert len(session.scalars(select(Photo).where(Photo.report_id == report_id)).all()) == 1
    assert fetch_media(session, report_id, partner_policy()) == "fetched"  # once


def test_a_refused_media_url_is_recorded_and_makes_no_photo(client, api_key, session):
    _submit(client, api_key, "http://127.0.0.1:9/photo.jpg")
    submission = session.scalar(select(Submission))
    assert fetch_media(session, submission.report_id, Policy()) == "refused"
    session.refresh(submission)
    assert submission.media_error == "address_not_allowed"
    assert session.scalars(select(Photo)).all() == []


@pytest.mark.processes
def test_a_pending_fetch_whose_job_was_lost_is_found_by_the_sweep(client, api_key, session):
    from datetime import timedelta

    from app.open311.service import pending_media

    _submit(client, api_key, "https://example.org/photo.jpg")
    submission = session.scalar(select(Submission))
    assert pending_media(session, timedelta(seconds=0)) == [submission.report_id]
    assert pending_media(session, timedelta(days=1)) == []


def test_the_worker_job_fetches_with_the_configured_bounds(client, api_key, session):
    from worker.jobs import fetch_open311_media

    _submit(client, api_key, "http://[::1]/photo.jpg")
    submission = session.scalar(select(Submission))
    assert fetch_open311_media(submission.report_id) == "refused"
