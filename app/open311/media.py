"""Fetching the photo a partner named by ``media_url``, without becoming a proxy into our
network: http(s) only; every address the name resolves to must be public (no loopback,
private, link-local, shared or reserved address, however IPv6 spells it), checked again
at each redirect; the
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


# Other IPv6 is public only in global unicast space (2000::/3) and outside these prefixes:
# Teredo (tunnels to an IPv4 address it hides), benchmarking and documentation (named here
# rather than left to the Python version's is_global).
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_NOT_PUBLIC_V6 = tuple(
    ipaddress.ip_network(prefix)
    for prefix in ("2001::/32", "2001:2::/48", "2001:db8::/32", "3fff::/20")
)
# NAT64's well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public(address: str) -> bool:
    """Whether a connection to ``address`` reaches only the public Internet, whatever the
    address's spelling: an IPv6 form that carries an IPv4 address (mapped, NAT64, 6to4) is
    judged by that IPv4 address; every other non-global form (IPv4-compatible, site-local,
    unique local, link-local, local-use NAT64, multicast...) is refused."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        return _public_v4(ip)
    if ip.ipv4_mapped is not None:
        return _public_v4(ip.ipv4_mapped)
    if ip in _NAT64:
        return _public_v4(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        return _public_v4(ip.sixtofour)
    return (
        ip in _GLOBAL_UNICAST
        and not any(ip in prefix for prefix in _NOT_PUBLIC_V6)
        and ip.is_global
    )


def _public_v4(ip: ipaddress.IPv4Address) -> bool:
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
