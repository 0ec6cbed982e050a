"""The context broker, as the command dispatcher speaks to it: an adapter.

:class:`HttpBroker` speaks NGSI-LD over HTTP (``PATCH /ngsi-ld/v1/entities/{id}/attrs``,
``GET /ngsi-ld/v1/entities/{id}``); tests drive it against the simulator and a stand-in
that loses requests, answers 500 or never applies a command (tools/sim_equipment.py).
"""

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import httpx

CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
API_ROOT = "/ngsi-ld/v1/"


@dataclass(frozen=True)
class Outcome:
    """A broker's answer to one PATCH: ``accepted``; or ``refused`` for good (a 4xx: the
    entity or the attribute is unknown, the value invalid), or a transient ``error``."""

    accepted: bool = False
    refused: bool = False
    error: str | None = None
    retry_after: float | None = None


class Unreachable(Exception):
    """The broker could not be asked (down, timeout, 5xx)."""


class Broker(Protocol):
    def patch(self, base_url: str, entity_id: str, attributes: dict) -> Outcome: ...

    def command_of(self, base_url: str, entity_id: str) -> str | None:
        """The id in the entity's ``command`` attribute on the broker (None: none);
        Unreachable when it cannot say."""


def base_of(source_url: str) -> str | None:
    """The broker's root (``http://host:port``, with any path prefix) from a feed's URL of
    ``.../ngsi-ld/v1/entities?type=...``; None when the URL is not an NGSI-LD API's."""
    at = source_url.find(API_ROOT)
    return source_url[:at] if at > 0 else None


def _entity_url(base_url: str, entity_id: str, suffix: str = "") -> str:
    return f"{base_url.rstrip('/')}{API_ROOT}entities/{quote(entity_id, safe='')}{suffix}"


class HttpBroker:
    """NGSI-LD over HTTP, one client (its connection pool) shared by the sending threads."""

    def __init__(self, timeout: float = 10.0, client: httpx.Client | None = None):
        self.client = client or httpx.Client(
            timeout=timeout, limits=httpx.Limits(max_connections=64, max_keepalive_connections=64)
        )

    def close(self) -> None:
        self.client.close()

    def patch(self, base_url: str, entity_id: str, attributes: dict) -> Outcome:
        try:
            response = self.client.patch(
                _entity_url(base_url, entity_id, "/attrs"),
                json=attributes,
                headers={"Link": f'<{CORE_CONTEXT}>; rel="http://www.w3.org/ns/json-ld#context"'},
            )
        except httpx.HTTPError as exc:
            return Outcome(error=f"{exc.__class__.__name__}"[:200])
        if response.is_success:
            return Outcome(accepted=True)
        detail = _detail(response)
        if response.status_code in (408, 425, 429) or response.status_code >= 500:
            return Outcome(
                error=f"HTTP {response.status_code}: {detail}"[:300],
                retry_after=_retry_after(response),
            )
        return Outcome(refused=True, error=f"HTTP {response.status_code}: {detail}"[:300])

    def command_of(self, base_url: str, entity_id: str) -> str | None:
        try:
            response = self.client.get(
                _entity_url(base_url, entity_id), params={"attrs": "command"}
            )
        except httpx.HTTPError as exc:
            raise Unreachable(exc.__class__.__name__) from exc
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise Unreachable(f"HTTP {response.status_code}")
        try:
            entity = response.json()
        except ValueError as exc:
            raise Unreachable("not JSON") from exc
        command = entity.get("command") if isinstance(entity, dict) else None
        if isinstance(command, dict) and command.get("type") == "Property":
            command = command.get("value")
        if isinstance(command, dict) and isinstance(command.get("id"), str):
            return command["id"]
        return None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or ""
    if isinstance(body, dict):
        return str(body.get("title") or body.get("detail") or "")[:200]
    return ""


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
