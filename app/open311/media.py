"""Fetching the photo a partner named by ``media_url``, without becoming a proxy into our
network: http(s) only; every address the name resolves to must be public (no loopback,
private, link-local, shared or reserved address), checked again at each redirect; the
connection goes to the address that was checked (a second DNS answer cannot swap it);
the size and the total time are bounded.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

REDIRECTS = (301, 302, 303, 307, 308)
CHUNK = 64 * 1024


class Refused(Exception):
    """The URL was not fetched; ``reason`` says why (kept on the submission)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused("dns_failed") from exc
    return list(dict.fromkeys(info[4][0].split("%")[0] for info in found))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True)
class Policy:
    max_bytes: int = 20 * 1024 * 1024
    timeout_s: float = 20.0
    max_redirects: int = 3
    resolve: Callable[[str, int], list[str]] = field(default=resolve)
    allowed: Callable[[str], bool] = field(default=is_public)


class _PinnedHTTP(http.client.HTTPConnection):
    """Talks to ``host`` (Host header) at the address already checked."""

    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(_PinnedHTTP):
    def connect(self):
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def fetch(url: str, policy: Policy) -> bytes:
    """The body at ``url`` (after at most ``max_redirects``); Refused otherwise."""
    deadline = time.monotonic() + policy.timeout_s
    for _ in range(policy.max_redirects + 1):
        response, connection, sock = _get(url, policy, deadline)
        try:
            if response.status in REDIRECTS:
                location = response.getheader("Location")
                if not location:
                    raise Refused("redirect_without_location")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise Refused(f"http_{response.status}")
            return _read(response, sock, policy, deadline)
        finally:
            connection.close()
    raise Refused("too_many_redirects")


def _get(url: str, policy: Policy, deadline: float):
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused("invalid_url") from exc
    if parts.scheme not in ("http", "https"):
        raise Refused("scheme_not_allowed")
    if not parts.hostname:
        raise Refused("invalid_url")
    addresses = policy.resolve(parts.hostname, port)
    if not addresses:
        raise Refused("dns_failed")
    # All of them: a name answering one public and one private address is refused.
    if not all(policy.allowed(a) for a in addresses):
        raise Refused("address_not_allowed")
    pinned = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = pinned(parts.hostname, addresses[0], port, _remaining(deadline))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers={"Accept": "image/*", "User-Agent": "Signale"})
        # Kept: the connection lets go of its socket when the response reads to the close.
        sock = connection.sock
        return connection.getresponse(), connection, sock
    except TimeoutError as exc:
        connection.close()
        raise Refused("too_slow") from exc
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        raise Refused("connection_failed") from exc


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Refused("too_slow")
    return left


def _read(response, sock, policy: Policy, deadline: float) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise Refused("too_large")
    body = bytearray()
    try:
        while True:
            sock.settimeout(_remaining(deadline))
            chunk = response.read1(CHUNK)
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > policy.max_bytes:
                raise Refused("too_large")
    except TimeoutError as exc:
        raise Refused("too_slow") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise Refused("connection_failed") from exc
