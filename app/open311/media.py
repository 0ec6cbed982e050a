"""Fetching the photo a partner named by ``media_url``, without becoming a proxy into our
network: http(s) only; every address the name resolves to must be public (no loopback,
private, link-local, shared or reserved address, however IPv6 spells it), checked again
at each redirect; the connection goes to the address that was checked (a second DNS answer
cannot swap it); the size is bounded, and so is the total time: one deadline for the whole
fetch (name resolution, connection, TLS, request, status line, headers, body, redirects),
checked before every read and write, so a server sending a byte a second cannot hold the
worker past it.
"""

import http.client
import io
import ipaddress
import select
import socket
import ssl
import threading
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


class _DeadlineSocket:
    """A connected socket whose every send and receive may wait only what is left before
    the deadline (a socket timeout alone bounds each call, not their sum)."""

    def __init__(self, sock: socket.socket, deadline: float):
        self._sock = sock
        self.deadline = deadline
        # As socket.socket does: http.client closes the connection while its response
        # still reads the body to the end, so the file descriptor lives until both are closed.
        self._readers = 0
        self._closed = False

    def sendall(self, data) -> None:
        self._sock.settimeout(_remaining(self.deadline))
        self._sock.sendall(data)

    def recv_into(self, buffer) -> int:
        self._sock.settimeout(_remaining(self.deadline))
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str = "rb", *args, **kwargs):
        # http.client reads the status line, the headers and the body through this file.
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def reader_closed(self) -> None:
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self._sock.close()

    def close(self) -> None:
        self._closed = True
        if self._readers <= 0:
            self._sock.close()


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: _DeadlineSocket):
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._sock.reader_closed()
        super().close()


class _PinnedHTTP(http.client.HTTPConnection):
    """Talks to ``host`` (Host header) at the address already checked, within the deadline."""

    def __init__(self, host: str, address: str, port: int, deadline: float):
        super().__init__(host, port, timeout=_remaining(deadline))
        self.address = address
        self.deadline = deadline

    def connect(self):
        sock = socket.create_connection((self.address, self.port), _remaining(self.deadline))
        try:
            self.sock = _DeadlineSocket(self._secure(sock), self.deadline)
        except BaseException:
            sock.close()
            raise

    def _secure(self, sock: socket.socket) -> socket.socket:
        return sock


class _PinnedHTTPS(_PinnedHTTP):
    def _secure(self, sock: socket.socket) -> socket.socket:
        context = ssl.create_default_context()
        tls = context.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
        # The handshake's reads and writes, each waited for within the deadline.
        tls.setblocking(False)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                select.select([tls], [], [], _remaining(self.deadline))
            except ssl.SSLWantWriteError:
                select.select([], [tls], [], _remaining(self.deadline))
        tls.setblocking(True)
        return tls


def fetch(url: str, policy: Policy) -> bytes:
    """The body at ``url`` (after at most ``max_redirects``); Refused otherwise."""
    deadline = time.monotonic() + policy.timeout_s
    for _ in range(policy.max_redirects + 1):
        response, connection = _get(url, policy, deadline)
        try:
            if response.status in REDIRECTS:
                location = response.getheader("Location")
                if not location:
                    raise Refused("redirect_without_location")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise Refused(f"http_{response.status}")
            return _read(response, policy)
        finally:
            response.close()
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
    addresses = _resolve_within(policy.resolve, parts.hostname, port, deadline)
    if not addresses:
        raise Refused("dns_failed")
    # All of them: a name answering one public and one private address is refused.
    if not all(policy.allowed(a) for a in addresses):
        raise Refused("address_not_allowed")
    pinned = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = pinned(parts.hostname, addresses[0], port, deadline)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", path, headers={"Accept": "image/*", "User-Agent": "Signale"})
        return connection.getresponse(), connection
    except Refused:
        connection.close()
        raise
    except TimeoutError as exc:
        connection.close()
        raise Refused("too_slow") from exc
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        raise Refused("connection_failed") from exc


def _resolve_within(resolve, host: str, port: int, deadline: float) -> list[str]:
    """``resolve(host, port)`` within the deadline. The system resolver cannot be
    interrupted: past the deadline its thread is left to finish alone, and nothing waits."""
    outcome: dict = {}

    def run():
        try:
            outcome["addresses"] = resolve(host, port)
        except Exception as exc:  # raised again in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=f"resolve {host}", daemon=True)
    thread.start()
    thread.join(_remaining(deadline))
    if thread.is_alive():
        raise Refused("too_slow")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["addresses"]


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Refused("too_slow")
    return left


def _read(response, policy: Policy) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise Refused("too_large")
    body = bytearray()
    try:
        while True:
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
