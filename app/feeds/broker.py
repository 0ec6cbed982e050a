"""A context broker's NGSI-LD subscriptions (``/ngsi-ld/v1/subscriptions``), behind a
small adapter: :class:`SubscriptionClient` is what the use cases see, :class:`HttpBroker`
the real one (httpx, bounded in time and size). Every failure is a :class:`BrokerError`
with a stable code; a subscription the broker does not know is :class:`Forgotten`.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

import httpx

from app.errors import Unprocessable
from app.feeds.fetching import ssl_context
from app.feeds.ngsi_ld import KIND_TYPES

NGSI_LD_PREFIX = "/ngsi-ld/v1/"
SUBSCRIPTIONS_PATH = "/ngsi-ld/v1/subscriptions"
CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
# The header the broker sends back with each notification (endpoint.receiverInfo).
SECRET_HEADER = "X-Signale-Notification-Secret"
# Only a broker's feed can be subscribed to (a document or GBFS/GTFS source has no broker).
SUBSCRIBABLE_FORMATS = ("ngsi-ld",)
MAX_ANSWER_BYTES = 256 * 1024


class BrokerError(Exception):
    """The broker could not be asked or refused (``code`` is stable, ``detail`` human)."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class Forgotten(BrokerError):
    """The broker does not know this subscription (404): it has to be made again."""

    def __init__(self, detail: str = "the broker does not know this subscription"):
        super().__init__("subscription_forgotten", detail)


def check_subscribable(format_: str, subscribe: bool) -> bool:
    """``subscribe`` for a feed of ``format_``, or 422 when its source has no broker."""
    if subscribe and format_ not in SUBSCRIBABLE_FORMATS:
        raise Unprocessable(
            "feed_not_subscribable",
            format=format_,
            errors={"json": {"subscribe": ["only an ngsi-ld (broker) feed can subscribe"]}},
        )
    return bool(subscribe)


@dataclass(frozen=True)
class Target:
    """What a feed subscribes to: its broker and entity types, and the notified form."""

    broker_url: str
    entity_types: tuple[str, ...]
    key_values: bool

    @property
    def types_text(self) -> str:
        return ",".join(self.entity_types)


def target_of(source_url: str, kind: str) -> Target:
    """The broker of a feed's ``/ngsi-ld/v1/entities?type=...`` URL and the types it reads
    (those of the URL that its kind carries, else every type of the kind)."""
    parts = urlsplit(source_url)
    prefix = parts.path.split(NGSI_LD_PREFIX, 1)[0] if NGSI_LD_PREFIX in parts.path else ""
    broker_url = urlunsplit((parts.scheme, parts.netloc, prefix.rstrip("/"), "", ""))
    query = parse_qsl(parts.query)
    carried = KIND_TYPES.get(kind, ())
    asked = [t for key, value in query if key == "type" for t in value.split(",")]
    types = tuple(t for t in asked if t in carried) or carried
    options = {o for key, value in query if key == "options" for o in value.split(",")}
    return Target(broker_url, types, "keyValues" in options)


def subscription_body(
    target: Target, *, endpoint: str, secret: str, expires_at: datetime, throttling: int = 0
) -> dict:
    """An NGSI-LD (1.6+) Subscription: the feed's entity types, notified to ``endpoint``
    with the secret as a header, until ``expires_at``."""
    body = {
        "type": "Subscription",
        "description": "Signale: live state of the feed's equipment",
        "entities": [{"type": entity_type} for entity_type in target.entity_types],
        "notification": {
            "format": "keyValues" if target.key_values else "normalized",
            "endpoint": {
                "uri": endpoint,
                "accept": "application/json",
                "receiverInfo": [{"key": SECRET_HEADER, "value": secret}],
            },
        },
        "expiresAt": iso(expires_at),
        "@context": CORE_CONTEXT,
    }
    if throttling > 0:
        body["throttling"] = throttling
    return body


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class SubscriptionClient(Protocol):
    def create(self, broker_url: str, body: dict) -> str:
        """Make the subscription; returns the broker's id of it."""
        ...

    def get(self, broker_url: str, subscription_id: str) -> dict: ...

    def renew(self, broker_url: str, subscription_id: str, expires_at: datetime) -> None: ...

    def delete(self, broker_url: str, subscription_id: str) -> None: ...


class HttpBroker:
    """The subscriptions of a broker over HTTP(S): each request bounded by ``timeout``."""

    def __init__(self, timeout: float = 10.0, *, user_agent: str = "Signale feed subscriber"):
        self.timeout = timeout
        self.user_agent = user_agent

    def create(self, broker_url: str, body: dict) -> str:
        response = self._request(
            "POST",
            broker_url + SUBSCRIPTIONS_PATH,
            document=body,
            content_type="application/ld+json",
        )
        if response.status_code not in (200, 201):
            raise BrokerError("http_status", f"creation answered HTTP {response.status_code}")
        # NGSI-LD: 201 with the new subscription's URI in Location; some brokers echo it.
        location = response.headers.get("Location", "")
        subscription_id = unquote(location.rstrip("/").rsplit("/", 1)[-1]) if location else None
        if not subscription_id:
            subscription_id = _json(response).get("id")
        if not isinstance(subscription_id, str) or not 0 < len(subscription_id) <= 256:
            raise BrokerError("bad_answer", "the broker gave no id for the subscription")
        return subscription_id

    def get(self, broker_url: str, subscription_id: str) -> dict:
        response = self._request("GET", self._url(broker_url, subscription_id))
        if response.status_code == 404:
            raise Forgotten()
        if response.status_code != 200:
            raise BrokerError("http_status", f"reading answered HTTP {response.status_code}")
        return _json(response)

    def renew(self, broker_url: str, subscription_id: str, expires_at: datetime) -> None:
        response = self._request(
            "PATCH",
            self._url(broker_url, subscription_id),
            document={"expiresAt": iso(expires_at), "@context": CORE_CONTEXT},
            content_type="application/ld+json",
        )
        if response.status_code == 404:
            raise Forgotten()
        if response.status_code not in (200, 204):
            raise BrokerError("http_status", f"renewal answered HTTP {response.status_code}")

    def delete(self, broker_url: str, subscription_id: str) -> None:
        response = self._request("DELETE", self._url(broker_url, subscription_id))
        if response.status_code not in (200, 204, 404):  # 404: gone already
            raise BrokerError("http_status", f"deletion answered HTTP {response.status_code}")

    @staticmethod
    def _url(broker_url: str, subscription_id: str) -> str:
        return f"{broker_url}{SUBSCRIPTIONS_PATH}/{quote(subscription_id, safe=':')}"

    def _request(self, method: str, url: str, *, document=None, content_type: str = ""):
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            with httpx.Client(timeout=self.timeout, verify=ssl_context()) as client:
                request = client.build_request(
                    method,
                    url,
                    headers=headers,
                    content=None if document is None else _encode(document),
                )
                response = client.send(request, stream=True)
                try:
                    body = b""
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > MAX_ANSWER_BYTES:
                            raise BrokerError("too_large", "the broker's answer is too large")
                finally:
                    response.close()
                return httpx.Response(response.status_code, headers=response.headers, content=body)
        except httpx.InvalidURL as exc:
            raise BrokerError("invalid_url", str(exc)[:300]) from exc
        except httpx.TimeoutException as exc:
            raise BrokerError("timeout", f"no answer in time ({exc.__class__.__name__})") from exc
        except httpx.HTTPError as exc:
            raise BrokerError("unreachable", f"{exc.__class__.__name__}: {exc}"[:300]) from exc


def _encode(document) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def _json(response) -> dict:
    try:
        document = response.json()
    except ValueError as exc:
        raise BrokerError("bad_answer", "the broker's answer is not JSON") from exc
    if not isinstance(document, dict):
        raise BrokerError("bad_answer", "the broker's answer is not a JSON object")
    return document
