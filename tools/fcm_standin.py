"""A stand-in for FCM's HTTP v1 send endpoint, on 127.0.0.1, for tests, ``make run`` and the
benchmark: firebase-admin's real client talks to it (``FCM_ENDPOINT``).

It implements ``POST /v1/projects/{project}/messages:send`` closely enough: a bearer token
is required, the message must name one token and carry string data, an accepted message
gets a ``projects/{project}/messages/{id}`` name, and errors are Google's error documents
with FCM's ``FcmError`` detail (UNREGISTERED, INVALID_ARGUMENT, UNAVAILABLE with
Retry-After, QUOTA_EXCEEDED, INTERNAL). Tokens can be told to fail (once, or for good), the
whole service can be taken down and brought back, and requests can be held in flight.
``GET /`` shows what it received (JSON: accepted messages, refused tokens, in arrival
order): where a developer looks for the pushes of ``make run``.

    python -m tools.fcm_standin --port 9098
"""

import argparse
import contextlib
import itertools
import json
import re
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# FCM error code -> (HTTP status, canonical status).
ERRORS = {
    "UNREGISTERED": (404, "NOT_FOUND"),
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT"),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED"),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED"),
    "UNAVAILABLE": (503, "UNAVAILABLE"),
    "INTERNAL": (500, "INTERNAL"),
}


class _Server(ThreadingHTTPServer):
    # send_each opens up to 500 connections at once: the default backlog (5) would reset
    # most of them, which FCM does not do.
    request_queue_size = 1024
    daemon_threads = True


_PATH = re.compile(r"^/v1/projects/(?P<project>[a-z0-9-]+)/messages:send$")


class FcmStandIn:
    def __init__(self, project_id: str = "demo-signale", *, port: int = 0, retry_after: int = 30):
        self.project_id = project_id
        self.retry_after = retry_after
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.accepted: list[dict] = []  # {"token", "name", "message"} in arrival order
        self.refused: list[tuple[str, str]] = []  # (token, error code)
        self.down = False
        self._once: dict[str, list[str]] = defaultdict(list)
        self._always: dict[str, str] = {}
        self._gate = threading.Event()
        self._gate.set()
        self._dropping = False
        self.in_flight = threading.Semaphore(0)  # released when a held request arrives
        self._server = _Server(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- control --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FcmStandIn":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._gate.set()
        self._server.shutdown()
        self._server.server_close()

    def fail(self, token: str, *codes: str) -> None:
        """Answer the token's next sends with these errors, in order, then accept."""
        with self._lock:
            self._once[token].extend(codes)

    def fail_always(self, token: str, code: str) -> None:
        with self._lock:
            self._always[token] = code

    def hold(self) -> None:
        """Keep requests in flight (each releases ``in_flight`` on arrival) until ``release``."""
        self._gate.clear()

    def release(self, *, drop: bool = False) -> None:
        """Let held requests go on; ``drop``: answer them without taking the messages, as
        when their connection was reset before FCM read them (a client killed)."""
        self._dropping = drop
        self._gate.set()

    def accepted_tokens(self) -> list[str]:
        with self._lock:
            return [a["token"] for a in self.accepted]

    def received(self) -> dict:
        """What ``GET /`` shows: the project, the messages accepted and the refusals."""
        with self._lock:
            return {
                "project": self.project_id,
                "accepted": list(self.accepted),
                "refused": [{"token": token, "error": code} for token, code in self.refused],
            }

    # --- protocol -------------------------------------------------------------------------

    def _answer(self, path: str, headers, raw: bytes) -> tuple[int, dict, dict]:
        match = _PATH.match(path)
        if match is None or match["project"] != self.project_id:
            return _error(404, "NOT_FOUND", None, f"no such project or method: {path}")
        if not (headers.get("Authorization") or "").startswith("Bearer "):
            return _error(401, "UNAUTHENTICATED", None, "Request is missing a bearer token.")
        if self.down:
            return _error(
                503,
                "UNAVAILABLE",
                "UNAVAILABLE",
                "The service is currently unavailable.",
                {"Retry-After": str(self.retry_after)},
            )
        try:
            message = json.loads(raw)["message"]
            token = message["token"]
            if not isinstance(token, str) or not token:
                raise ValueError("token")
            if any(k in message for k in ("topic", "condition")):
                raise ValueError("exactly one target")
            if any(not isinstance(v, str) for v in (message.get("data") or {}).values()):
                raise ValueError("data values must be strings")
        except (ValueError, KeyError, TypeError) as exc:
            return _error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", f"Invalid message: {exc}")
        with self._lock:
            code = self._always.get(token) or (
                self._once[token].pop(0) if self._once.get(token) else None
            )
            if code is not None:
                self.refused.append((token, code))
            else:
                name = f"projects/{self.project_id}/messages/0:{next(self._ids)}%standin"
                self.accepted.append({"token": token, "name": name, "message": message})
        if code is not None:
            status, canonical = ERRORS[code]
            extra = {"Retry-After": str(self.retry_after)} if status in (429, 503) else {}
            return _error(status, canonical, code, f"{code} ({token[:12]})", extra)
        return 200, {"name": name}, {}

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go in separate writes: without this, the client's delayed
            # ACK holds every keep-alive answer ~40 ms, which FCM does not.
            disable_nagle_algorithm = True

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not standin._gate.is_set():
                    standin.in_flight.release()
                    standin._gate.wait()
                    if standin._dropping:
                        self.close_connection = True
                        return
                self._reply(*standin._answer(self.path, self.headers, raw))

            def do_GET(self):
                if self.path.split("?", 1)[0] != "/":
                    self._reply(*_error(404, "NOT_FOUND", None, f"no such page: {self.path}"))
                    return
                self._reply(200, standin.received(), {})

            def _reply(self, status: int, body: dict, headers: dict) -> None:
                payload = json.dumps(body, ensure_ascii=False, indent=1).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler


def _error(status, canonical, fcm_code, message, headers=None):
    body = {"error": {"code": status, "message": message, "status": canonical}}
    if fcm_code:
        body["error"]["details"] = [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}
        ]
    return status, body, headers or {}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="FCM HTTP v1 stand-in on 127.0.0.1")
    parser.add_argument("--port", type=int, default=9098)
    parser.add_argument("--project", default="demo-signale")
    args = parser.parse_args(argv)
    try:
        standin = FcmStandIn(args.project, port=args.port)
    except OSError as exc:
        raise SystemExit(f"FCM stand-in: cannot listen on 127.0.0.1:{args.port}: {exc}") from exc
    print(
        f"FCM stand-in on {standin.url} (project {args.project}; what it received: "
        f"{standin.url}/); Ctrl-C stops it",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        standin._server.serve_forever()


if __name__ == "__main__":
    main()
