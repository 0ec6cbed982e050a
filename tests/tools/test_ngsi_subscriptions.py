"""The feed simulator's NGSI-LD subscriptions (tools/ngsi_subscriptions.py), over HTTP: the
endpoints as a broker answers them, and the notifier sending what changed to a receiver on
127.0.0.1 with the subscription's receiverInfo headers."""

import json
import threading
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tools import simulator as sim

LIGHTS = [sim.Streetlight(f"SL-7{n:05d}", 5.03 + n * 5e-4, 47.32) for n in range(3)]
TUESDAY = sim.datetime(2026, 11, 24, tzinfo=sim.PARIS)
PATH = "/ngsi-ld/v1/subscriptions"


@pytest.fixture
def broker():
    clock = {"now": TUESDAY.replace(hour=17, minute=29)}
    server = sim.Broker(("127.0.0.1", 0), sim.City(LIGHTS), lambda: clock["now"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.clock_setting = clock
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver():
    """A notification endpoint on 127.0.0.1: what it received, (headers, body) each."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.received = received
    server.uri = f"http://127.0.0.1:{server.server_address[1]}/notify"
    yield server
    server.shutdown()
    server.server_close()


def call(broker, method: str, path: str, document=None) -> tuple[int, dict, object]:
    data = None if document is None else json.dumps(document).encode()
    request = urllib.request.Request(
        broker.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
            return response.status, dict(response.headers), json.loads(body) if body else None
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, dict(error.headers), json.loads(body) if body else None


def subscription(uri: str, *, format_="keyValues", expires=None, types=("Streetlight",)) -> dict:
    body = {
        "type": "Subscription",
        "entities": [{"type": t} for t in types],
        "notification": {
            "format": format_,
            "endpoint": {"uri": uri, "receiverInfo": [{"key": "X-Secret", "value": "s3cret"}]},
        },
    }
    if expires:
        body["expiresAt"] = expires
    return body


def test_a_subscription_is_made_read_changed_and_deleted(broker):
    status, headers, _ = call(broker, "POST", PATH, subscription("http://127.0.0.1:9/n"))
    assert status == 201
    location = headers["Location"]
    assert location.startswith(f"{PATH}/urn:ngsi-ld:Subscription:")
    status, _, found = call(broker, "GET", location)
    assert status == 200
    assert found["entities"] == [{"type": "Streetlight"}]
    assert call(broker, "PATCH", location, {"expiresAt": "2030-01-01T00:00:00Z"})[0] == 204
    assert call(broker, "GET", location)[2]["expiresAt"] == "2030-01-01T00:00:00Z"
    assert call(broker, "DELETE", location)[0] == 204
    assert call(broker, "GET", location)[0] == 404
    assert call(broker, "PATCH", location, {"expiresAt": "2030-01-01T00:00:00Z"})[0] == 404


@pytest.mark.parametrize(
    "change",
    [
        {"type": "Entity"},
        {"entities": []},
        {"notification": {"endpoint": {"uri": "ftp://x"}}},
        {"expiresAt": "soon"},
    ],
)
def test_a_subscription_the_broker_cannot_use_is_refused(broker, change):
    status, _, problem = call(broker, "POST", PATH, {**subscription("http://x/n"), **change})
    assert status == 400
    assert problem["type"].endswith("BadRequestData")
    assert broker.subscriptions.subscriptions == {}


def test_a_broker_that_forgets_or_is_down(broker):
    location = call(broker, "POST", PATH, subscription("http://127.0.0.1:9/n"))[1]["Location"]
    broker.subscriptions.forget()
    assert call(broker, "GET", location)[0] == 404
    broker.subscriptions.refuse = 503
    assert call(broker, "POST", PATH, subscription("http://127.0.0.1:9/n"))[0] == 503


@pytest.mark.parametrize("format_", ["keyValues", "normalized"])
def test_the_changed_entities_are_notified_with_the_receiver_info(broker, receiver, format_):
    call(broker, "POST", PATH, subscription(receiver.uri, format_=format_))
    store = broker.subscriptions
    assert store.tick() == 0  # the starting point: nothing notified
    assert store.tick() == 0  # nothing changed
    # Dusk (17:30): every light turns on.
    broker.clock_setting["now"] += timedelta(minutes=2)
    assert store.tick() == 1
    ((headers, notification),) = receiver.received
    assert headers["X-Secret"] == "s3cret"
    assert notification["type"] == "Notification"
    assert notification["subscriptionId"] in store.subscriptions
    assert notification["notifiedAt"] == "2026-11-24T16:31:00.000Z"
    assert len(notification["data"]) == len(LIGHTS)
    power = notification["data"][0]["powerState"]
    assert power == ("on" if format_ == "keyValues" else {"type": "Property", "value": "on"})


def test_an_expired_subscription_or_another_type_is_not_notified(broker, receiver):
    call(broker, "POST", PATH, subscription(receiver.uri, expires="2026-11-24T16:30:00Z"))
    call(broker, "POST", PATH, subscription(receiver.uri, types=("OffStreetParking",)))
    store = broker.subscriptions
    store.tick()
    broker.clock_setting["now"] += timedelta(minutes=2)
    # Both changed (the lights at dusk, the car parks with their minute's sample), but the
    # lights' subscription has expired.
    assert store.tick() == 1
    assert receiver.received
    assert all(
        entity["type"] == "OffStreetParking"
        for _, notification in receiver.received
        for entity in notification["data"]
    )
