"""A stand-in feed source served over real HTTP on 127.0.0.1, in a thread of the test."""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass
class Route:
    body: bytes = b"[]"
    status: int = 200
    headers: dict = field(default_factory=dict)
    hang: bool = False  # never answer (until the test ends)
    endless: bool = False  # stream bytes until the client hangs up
    pages: list | None = None  # a broker: serve these entities by limit/offset
    before: Callable[[int], None] | None = None  # called with a page's offset, before it


class FeedSource:
    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.released = threading.Event()
        source = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                source.requests.append(self.path)
                route = source.routes.get(urlsplit(self.path).path)
                if route is None:
                    self.send_error(404)
                    return
                if route.hang:
                    source.released.wait(30)
                    return
                if route.endless:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    chunk = b"[" + b" " * 65536
                    try:
                        while not source.released.is_set():
                            self.wfile.write(chunk)
                    except OSError:
                        pass
                    return
                body = route.body
                if route.pages is not None:
                    query = parse_qs(urlsplit(self.path).query)
                    limit = int(query.get("limit", ["1000"])[0])
                    offset = int(query.get("offset", ["0"])[0])
                    if route.before is not None:
                        route.before(offset)
                    body = json.dumps(route.pages[offset : offset + limit]).encode()
                self.send_response(route.status)
                self.send_header("Content-Type", "application/json")
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in route.headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def serve(self, path: str, document=None, **options) -> str:
        """Serve ``document`` (JSON-encoded unless bytes) at ``path``; returns its URL."""
        if document is not None:
            options["body"] = (
                document if isinstance(document, bytes) else json.dumps(document).encode()
            )
        self.routes[path] = Route(**options)
        return self.url(path)


@pytest.fixture
def feed_source():
    source = FeedSource()
    source.thread.start()
    yield source
    source.released.set()
    source.server.shutdown()
    source.server.server_close()
