"""NGSI-LD subscriptions for the feed simulator (tools/simulator.py): the broker's side.

``POST/GET/PATCH/DELETE /ngsi-ld/v1/subscriptions[/{id}]`` (NGSI-LD 1.6 JSON: ``type``
Subscription, ``entities`` by type, ``notification.endpoint.uri`` with ``receiverInfo``
headers, ``expiresAt``, ``throttling``), kept in memory. A notifier compares, at each tick,
the entity documents the simulator serves for every subscribed type with those of the
previous tick, and POSTs a Notification of the changed ones (in the subscription's format,
with its receiverInfo as headers) to each active subscriber. It diffs whatever the city
serves, so any state the simulator adds (equipment obeying commands) is notified as well.

For tests: :meth:`SubscriptionStore.forget` drops every subscription (a broker restarted
without persistence), ``refuse`` makes the subscription endpoints answer that HTTP status
(a broker down), and :meth:`SubscriptionStore.tick` runs one pass of the notifier without
its thread.
"""

import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

SUBSCRIPTIONS_PATH = "/ngsi-ld/v1/subscriptions"
NOTIFY_TIMEOUT_SECONDS = 5
# At most this many entities in one notification (a broker batches; 3,000 lights flipping at
# dusk go in a few).
BATCH = 500


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Invalid(ValueError):
    pass


def _checked(body) -> dict:
    """The subscription ``body`` describes, or Invalid (what NGSI-LD calls BadRequestData)."""
    if not isinstance(body, dict) or body.get("type") != "Subscription":
        raise Invalid("type must be Subscription")
    entities = body.get("entities")
    if (
        not isinstance(entities, list)
        or not entities
        or not all(isinstance(e, dict) and isinstance(e.get("type"), str) for e in entities)
    ):
        raise Invalid("entities must be a non-empty array of {type}")
    notification = body.get("notification")
    endpoint = notification.get("endpoint") if isinstance(notification, dict) else None
    uri = endpoint.get("uri") if isinstance(endpoint, dict) else None
    if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
        raise Invalid("notification.endpoint.uri must be an http(s) URI")
    info = endpoint.get("receiverInfo", [])
    if not isinstance(info, list) or not all(
        isinstance(i, dict) and isinstance(i.get("key"), str) and isinstance(i.get("value"), str)
        for i in info
    ):
        raise Invalid("receiverInfo must be an array of {key, value}")
    if notification.get("format", "normalized") not in ("normalized", "keyValues"):
        raise Invalid("notification.format must be normalized or keyValues")
    _expiry(body)
    return body


def _expiry(body: dict) -> datetime | None:
    value = body.get("expiresAt")
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise Invalid("expiresAt must be an ISO 8601 date-time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SubscriptionStore:
    """The simulator's subscriptions and their notifier.

    ``snapshot(entity_type)``: the key-value entities the simulator serves now;
    ``normalize(entity)``: an entity's normalized form; ``clock``: the simulator's time.
    """

    def __init__(
        self,
        snapshot: Callable[[str], list[dict]],
        normalize: Callable[[dict], dict],
        clock: Callable[[], datetime],
    ):
        self.snapshot = snapshot
        self.normalize = normalize
        self.clock = clock
        self.subscriptions: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.previous: dict[str, dict[str, str]] = {}  # type -> entity id -> its JSON
        self.refuse: int | None = None  # answer every subscription request with this status
        # What was sent: (subscription id, notification, HTTP status or the error's name).
        self.sent: list[tuple[str, dict, object]] = []
        self.stopped = threading.Event()

    # --- the endpoints ----------------------------------------------------------------------

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, object, dict]:
        """Answer one request under /ngsi-ld/v1/subscriptions: (status, document, headers)."""
        if self.refuse:
            return self.refuse, _problem("InternalError", "the broker is unavailable"), {}
        rest = path[len(SUBSCRIPTIONS_PATH) :].strip("/")
        try:
            if not rest:
                if method == "POST":
                    return self._create(body)
                if method == "GET":
                    with self.lock:
                        return 200, list(self.subscriptions.values()), {}
                return 405, _problem("OperationNotSupported", method), {}
            subscription_id = urllib.request.unquote(rest)
            with self.lock:
                found = self.subscriptions.get(subscription_id)
                if found is None:
                    return 404, _problem("ResourceNotFound", subscription_id), {}
                if method == "GET":
                    return 200, found, {}
                if method == "DELETE":
                    del self.subscriptions[subscription_id]
                    return 204, None, {}
                if method == "PATCH":
                    changes = _json(body)
                    if not isinstance(changes, dict):
                        raise Invalid("a JSON object of the attributes to change")
                    changes = {k: v for k, v in changes.items() if k not in ("id", "@context")}
                    _checked({**found, **changes})
                    found.update(changes)
                    return 204, None, {}
            return 405, _problem("OperationNotSupported", method), {}
        except Invalid as exc:
            return 400, _problem("BadRequestData", str(exc)), {}

    def _create(self, body: bytes):
        subscription = _checked(_json(body))
        subscription = {k: v for k, v in subscription.items() if k != "@context"}
        subscription_id = subscription.get("id") or f"urn:ngsi-ld:Subscription:{uuid.uuid4()}"
        with self.lock:
            if subscription_id in self.subscriptions:
                return 409, _problem("AlreadyExists", subscription_id), {}
            subscription["id"] = subscription_id
            self.subscriptions[subscription_id] = subscription
        return 201, None, {"Location": f"{SUBSCRIPTIONS_PATH}/{subscription_id}"}

    def forget(self) -> None:
        """Drop every subscription, as a broker restarted without its database would."""
        with self.lock:
            self.subscriptions.clear()

    # --- the notifier -----------------------------------------------------------------------

    def active(self, moment: datetime) -> list[dict]:
        with self.lock:
            return [
                dict(s)
                for s in self.subscriptions.values()
                if s.get("isActive", True) and ((expiry := _expiry(s)) is None or expiry > moment)
            ]

    def tick(self) -> int:
        """Notify each active subscriber of the entities of its types that changed since the
        last tick (none the first time a type is watched); returns notifications sent."""
        moment = self.clock()
        subscriptions = self.active(moment)
        types = {e["type"] for s in subscriptions for e in s["entities"]}
        changed: dict[str, list[dict]] = {}
        for entity_type in types:
            current = {e["id"]: e for e in self.snapshot(entity_type)}
            encoded = {i: json.dumps(e, sort_keys=True) for i, e in current.items()}
            before = self.previous.get(entity_type)
            self.previous[entity_type] = encoded
            if before is not None:
                changed[entity_type] = [
                    current[i] for i, text in encoded.items() if before.get(i) != text
                ]
        for gone in set(self.previous) - types:  # no longer watched: seen afresh next time
            del self.previous[gone]
        sent = 0
        for subscription in subscriptions:
            entities = [
                entity for e in subscription["entities"] for entity in changed.get(e["type"], ())
            ]
            for start in range(0, len(entities), BATCH):
                self.notify(subscription, entities[start : start + BATCH], moment)
                sent += 1
        return sent

    def notify(self, subscription: dict, entities: list[dict], moment: datetime) -> None:
        notification = subscription["notification"]
        key_values = notification.get("format") == "keyValues"
        document = {
            "id": f"urn:ngsi-ld:Notification:{uuid.uuid4()}",
            "type": "Notification",
            "subscriptionId": subscription["id"],
            "notifiedAt": iso(moment),
            "data": [e if key_values else self.normalize(e) for e in entities],
        }
        endpoint = notification["endpoint"]
        headers = {"Content-Type": "application/json"}
        headers.update({i["key"]: i["value"] for i in endpoint.get("receiverInfo", [])})
        request = urllib.request.Request(
            endpoint["uri"],
            data=json.dumps(document, separators=(",", ":")).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=NOTIFY_TIMEOUT_SECONDS) as response:
                status: object = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError) as exc:
            status = exc.__class__.__name__
        with self.lock:
            self.sent.append((subscription["id"], document, status))
            del self.sent[:-1000]
            if subscription["id"] in self.subscriptions:
                self.subscriptions[subscription["id"]]["lastNotification"] = iso(moment)

    def run(self, interval: float = 1.0) -> threading.Thread:
        """Start the notifier: a tick every ``interval`` seconds until :meth:`stop`."""

        def loop():
            while not self.stopped.wait(interval):
                try:
                    self.tick()
                except Exception as exc:  # a demo notifier keeps going
                    print(f"feed simulator: notifier: {exc!r}", flush=True)

        thread = threading.Thread(target=loop, name="ngsi-ld-notifier", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopped.set()

    def forget_every(self, interval: float) -> threading.Thread:
        """Test option: :meth:`forget` every ``interval`` seconds until :meth:`stop`."""

        def loop():
            while not self.stopped.wait(interval):
                self.forget()

        thread = threading.Thread(target=loop, name="ngsi-ld-forgetter", daemon=True)
        thread.start()
        return thread


def _json(body: bytes):
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise Invalid("the body is not JSON") from exc


def _problem(kind: str, detail: str) -> dict:
    return {
        "type": f"https://uri.etsi.org/ngsi-ld/errors/{kind}",
        "title": kind,
        "detail": detail,
    }
