"""A stand-in for the Firebase Auth emulator, on 127.0.0.1, for `make run` and the tests: the
Firebase JS SDK (the console's sign-in, static/common/auth.js) and firebase-admin talk to
it as they talk to the emulator (``connectAuthEmulator``, ``FIREBASE_AUTH_EMULATOR_HOST``).

It speaks the subset of the emulator's REST protocol those clients use, at the emulator's
paths (``/identitytoolkit.googleapis.com/v1/...?key=``, ``/securetoken.googleapis.com/v1/
token?key=``):

- ``accounts:signInWithCustomToken``: the unsigned custom tokens (``alg: none``) that
  firebase-admin's emulated signer makes (the emulator does not check signatures; it checks
  the audience and the uid); an unknown uid gets an account, as with Firebase;
- ``accounts:signUp``: with e-mail and password, a password account; with neither, an
  anonymous one;
- ``accounts:signInWithPassword``, ``accounts:lookup`` (by ID token);
- ``token`` (grant ``refresh_token``): a new ID token, same refresh token;
- the emulator's own account creation for firebase-admin (``create_user``: ``POST
  /identitytoolkit.googleapis.com/v1/projects/{project}/accounts`` as ``Bearer owner``), its
  lookup by uid or e-mail (``get_user``), and its reset
  (``DELETE /emulator/v1/projects/{project}/accounts``).

Errors are Google's error documents whose ``message`` is the server code the SDK maps to
its own (``INVALID_PASSWORD`` -> ``auth/wrong-password``, ...). Every answer carries CORS
headers (preflights included): the console's page is on another origin. The ID tokens are
unsigned, with the claims of ``app.auth.tokens.mint_emulator_token`` (issuer, audience,
subject, ``firebase.sign_in_provider`` custom, password or anonymous, the e-mail when the
account has one), which Signale accepts in emulator mode only. Time comes from ``now``
(seconds since the epoch), so that tests can move it. ``GET /`` answers as the emulator's
does (the launcher waits for it).

Not implemented: e-mail links, phone, identity providers, multi-factor, tenants, account
updates, custom claims, and password policies beyond six characters.

    python -m tools.auth_standin --port 9099 --project demo-signale
"""

import argparse
import base64
import binascii
import contextlib
import hashlib
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ISSUER_PREFIX = "https://securetoken.google.com/"  # as app.auth.tokens
# The audience firebase-admin writes in custom tokens, which the emulator insists on.
CUSTOM_TOKEN_AUDIENCE = (
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
)
ID_TOKEN_LIFETIME = 3600
MIN_PASSWORD_LENGTH = 6  # Firebase's default
_UID_ALPHABET = string.ascii_letters + string.digits
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AuthError(Exception):
    """An error answered as Google does: ``message`` is the code the SDKs map."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
}


def error_document(message: str, status: int = 400) -> dict:
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "reason": "invalid", "domain": "global"}],
            "status": _STATUS.get(status, "UNKNOWN"),
        }
    }


@dataclass
class Account:
    uid: str
    created_at: float
    email: str | None = None
    password_hash: str | None = None
    salt: str = field(default_factory=lambda: secrets.token_hex(8))
    email_verified: bool = False
    disabled: bool = False
    display_name: str | None = None
    last_login_at: float | None = None

    def hash(self, password: str) -> str:
        return hashlib.sha256(f"{self.salt}:{password}".encode()).hexdigest()

    def set_password(self, password: str) -> None:
        self.password_hash = self.hash(password)

    def password_matches(self, password: str) -> bool:
        return self.password_hash is not None and secrets.compare_digest(
            self.password_hash, self.hash(password)
        )


@dataclass(frozen=True)
class Session:
    """What a refresh token stands for: who, signed in how, since when."""

    uid: str
    provider: str  # custom, password or anonymous
    auth_time: int


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_part(part: str) -> dict:
    raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return value


def decode_unverified(token: str) -> tuple[dict, dict]:
    """A JWT's header and payload, without checking any signature (as the emulator)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("a JWT has three parts")
    return _decode_part(parts[0]), _decode_part(parts[1])


class AuthStandIn:
    def __init__(
        self,
        project_id: str = "demo-signale",
        *,
        port: int = 0,
        now: Callable[[], float] = time.time,
        token_lifetime: int = ID_TOKEN_LIFETIME,
    ):
        self.project_id = project_id
        self.now = now
        self.token_lifetime = token_lifetime
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._sessions: dict[str, Session] = {}  # refresh token -> session
        self.calls: list[str] = []  # the methods asked for, in arrival order
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- control --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def host(self) -> str:
        """What ``FIREBASE_AUTH_EMULATOR_HOST`` names: host and port, no scheme."""
        return self.url.removeprefix("http://")

    def start(self) -> "AuthStandIn":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_account(
        self,
        *,
        uid: str | None = None,
        email: str | None = None,
        password: str | None = None,
        email_verified: bool = False,
        disabled: bool = False,
        display_name: str | None = None,
    ) -> str:
        """Create an account as the emulator's account creation does; returns its uid."""
        with self._lock:
            return self._create(
                uid=uid,
                email=email,
                password=password,
                email_verified=email_verified,
                disabled=disabled,
                display_name=display_name,
            ).uid

    def disable(self, uid: str) -> None:
        with self._lock:
            self._accounts[uid].disabled = True

    def refresh_tokens(self) -> list[str]:
        """The refresh tokens handed out so far (tests look for them where they must not be)."""
        with self._lock:
            return list(self._sessions)

    def reset(self) -> None:
        """Forget every account and session (the emulator's ``DELETE .../accounts``), and
        what was asked so far."""
        with self._lock:
            self._accounts.clear()
            self._sessions.clear()
            self.calls.clear()

    # --- accounts and tokens --------------------------------------------------------------

    def _create(self, *, uid=None, email=None, password=None, **attributes) -> Account:
        if uid is not None and (not isinstance(uid, str) or not 0 < len(uid) <= 128):
            raise AuthError("INVALID_LOCAL_ID")
        if uid in self._accounts:
            raise AuthError("DUPLICATE_LOCAL_ID")
        if email is not None:
            if not isinstance(email, str) or not _EMAIL.match(email):
                raise AuthError("INVALID_EMAIL")
            email = email.lower()
            if self._by_email(email):
                raise AuthError("EMAIL_EXISTS")
        if password is not None and (
            not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH
        ):
            raise AuthError(
                f"WEAK_PASSWORD : Password should be at least {MIN_PASSWORD_LENGTH} characters"
            )
        while uid is None or uid in self._accounts:
            uid = "".join(secrets.choice(_UID_ALPHABET) for _ in range(28))
        account = Account(uid=uid, created_at=self.now(), email=email, **attributes)
        if password is not None:
            account.set_password(password)
        self._accounts[uid] = account
        return account

    def _by_email(self, email: str) -> Account | None:
        email = email.lower()
        return next((a for a in self._accounts.values() if a.email == email), None)

    def _id_token(self, account: Account, session: Session, now: int) -> str:
        payload = {
            "iss": ISSUER_PREFIX + self.project_id,
            "aud": self.project_id,
            "auth_time": session.auth_time,
            "user_id": account.uid,
            "sub": account.uid,
            "iat": now,
            "exp": now + self.token_lifetime,
            "firebase": {"identities": {}, "sign_in_provider": session.provider},
        }
        if account.email:
            payload["email"] = account.email
            payload["email_verified"] = account.email_verified
            payload["firebase"]["identities"] = {"email": [account.email]}
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."

    def _sign_in(self, account: Account, provider: str) -> dict:
        """A new session for the account: its ID token and refresh token."""
        if account.disabled:
            raise AuthError(
                "USER_DISABLED : The user account has been disabled by an administrator."
            )
        now = int(self.now())
        account.last_login_at = now
        session = Session(account.uid, provider, now)
        refresh_token = secrets.token_urlsafe(48)
        self._sessions[refresh_token] = session
        return {
            "localId": account.uid,
            "idToken": self._id_token(account, session, now),
            "refreshToken": refresh_token,
            "expiresIn": str(self.token_lifetime),
        }

    def _account_of_id_token(self, token) -> Account:
        if not isinstance(token, str) or not token:
            raise AuthError("MISSING_ID_TOKEN")
        try:
            _header, payload = decode_unverified(token)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise AuthError("INVALID_ID_TOKEN") from None
        if payload.get("iss") != ISSUER_PREFIX + self.project_id or payload.get("aud") != (
            self.project_id
        ):
            raise AuthError("INVALID_ID_TOKEN")
        exp = payload.get("exp")
        if not isinstance(exp, int | float) or exp < self.now():
            raise AuthError("TOKEN_EXPIRED")
        account = self._accounts.get(payload.get("sub"))
        if account is None:
            raise AuthError("USER_NOT_FOUND")
        if account.disabled:
            raise AuthError("USER_DISABLED")
        return account

    def _user_info(self, account: Account) -> dict:
        ms = lambda seconds: str(int(seconds * 1000))  # noqa: E731
        info = {
            "localId": account.uid,
            "emailVerified": account.email_verified,
            "createdAt": ms(account.created_at),
            "providerUserInfo": [],
            "validSince": str(int(account.created_at)),
            "disabled": account.disabled,
        }
        if account.last_login_at is not None:
            info["lastLoginAt"] = ms(account.last_login_at)
        if account.display_name:
            info["displayName"] = account.display_name
        if account.email:
            info["email"] = account.email
        if account.password_hash:
            # The SDK tells an anonymous account from others by this field's presence.
            info["passwordHash"] = f"fakeHash:salt={account.salt}"
            info["salt"] = account.salt
            info["providerUserInfo"] = [
                {
                    "providerId": "password",
                    "email": account.email,
                    "federatedId": account.email,
                    "rawId": account.email,
                }
            ]
        return info

    # --- the methods ----------------------------------------------------------------------

    def sign_in_with_custom_token(self, body: dict) -> dict:
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise AuthError("MISSING_CUSTOM_TOKEN")
        if token.startswith("{"):  # the emulator also takes the payload as plain JSON
            try:
                payload = json.loads(token)
            except ValueError:
                raise AuthError("INVALID_CUSTOM_TOKEN : Invalid assertion format") from None
            if not isinstance(payload, dict):
                raise AuthError("INVALID_CUSTOM_TOKEN : Invalid assertion format")
        else:
            try:
                _header, payload = decode_unverified(token)
            except (ValueError, binascii.Error, UnicodeDecodeError):
                raise AuthError("INVALID_CUSTOM_TOKEN : Invalid assertion format") from None
            if payload.get("aud") != CUSTOM_TOKEN_AUDIENCE:
                raise AuthError(
                    f"INVALID_CUSTOM_TOKEN : ((Invalid aud (audience): {payload.get('aud')} "
                    "Note: Firebase ID Tokens / third-party tokens cannot be used with "
                    "signInWithCustomToken.))"
                )
        uid = payload.get("uid")
        if uid is None or uid == "":
            raise AuthError("MISSING_IDENTIFIER")
        if not isinstance(uid, str) or len(uid) > 128:
            raise AuthError("INVALID_CUSTOM_TOKEN : ((The uid must be a string of at most 128))")
        account = self._accounts.get(uid)
        is_new = account is None
        if is_new:
            account = self._create(uid=uid)
        answer = self._sign_in(account, "custom")
        return {"kind": "identitytoolkit#VerifyCustomTokenResponse", "isNewUser": is_new, **answer}

    def sign_up(self, body: dict) -> dict:
        if body.get("idToken"):
            # Linking an anonymous account to a password is not part of this stand-in.
            raise AuthError("OPERATION_NOT_ALLOWED : linking accounts is not supported here")
        email, password = body.get("email"), body.get("password")
        if email is None and password is None:
            account = self._create(display_name=body.get("displayName"))
            provider = "anonymous"
        else:
            if not email:
                raise AuthError("MISSING_EMAIL")
            if not password:
                raise AuthError("MISSING_PASSWORD")
            account = self._create(email=email, password=password)
            provider = "password"
        answer = self._sign_in(account, provider)
        if account.email:
            answer["email"] = account.email
        return {"kind": "identitytoolkit#SignupNewUserResponse", **answer}

    def sign_in_with_password(self, body: dict) -> dict:
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not _EMAIL.match(email):
            raise AuthError("INVALID_EMAIL")
        if not isinstance(password, str) or not password:
            raise AuthError("MISSING_PASSWORD")
        account = self._by_email(email)
        if account is None:
            raise AuthError("EMAIL_NOT_FOUND")
        if not account.password_matches(password):
            raise AuthError("INVALID_PASSWORD")
        answer = self._sign_in(account, "password")
        return {
            "kind": "identitytoolkit#VerifyPasswordResponse",
            "email": account.email,
            "displayName": account.display_name or "",
            "registered": True,
            **answer,
        }

    def lookup(self, body: dict) -> dict:
        account = self._account_of_id_token(body.get("idToken"))
        return {
            "kind": "identitytoolkit#GetAccountInfoResponse",
            "users": [self._user_info(account)],
        }

    def refresh(self, form: dict) -> dict:
        grant, refresh_token = form.get("grant_type"), form.get("refresh_token")
        if grant != "refresh_token":
            raise AuthError("INVALID_GRANT_TYPE" if grant else "MISSING_GRANT_TYPE")
        if not refresh_token:
            raise AuthError("MISSING_REFRESH_TOKEN")
        session = self._sessions.get(refresh_token)
        if session is None:
            raise AuthError("INVALID_REFRESH_TOKEN")
        account = self._accounts.get(session.uid)
        if account is None:
            raise AuthError("USER_NOT_FOUND")
        if account.disabled:
            raise AuthError("USER_DISABLED")
        id_token = self._id_token(account, session, int(self.now()))
        return {
            "access_token": id_token,
            "expires_in": str(self.token_lifetime),
            "token_type": "Bearer",
            "refresh_token": refresh_token,
            "id_token": id_token,
            "user_id": account.uid,
            "project_id": self.project_id,
        }

    def admin_create(self, body: dict) -> dict:
        account = self._create(
            uid=body.get("localId"),
            email=body.get("email"),
            password=body.get("password"),
            email_verified=bool(body.get("emailVerified")),
            disabled=bool(body.get("disabled")),
            display_name=body.get("displayName"),
        )
        answer = {"kind": "identitytoolkit#SignupNewUserResponse", "localId": account.uid}
        if account.email:
            answer["email"] = account.email
        return answer

    def admin_lookup(self, body: dict) -> dict:
        found = []
        for uid in body.get("localId") or []:
            if isinstance(uid, str) and uid in self._accounts:
                found.append(self._accounts[uid])
        for email in body.get("email") or []:
            account = self._by_email(email) if isinstance(email, str) else None
            if account is not None and account not in found:
                found.append(account)
        answer = {"kind": "identitytoolkit#GetAccountInfoResponse"}
        if found:
            answer["users"] = [self._user_info(a) for a in found]
        return answer

    # --- HTTP -----------------------------------------------------------------------------

    _CLIENT = {
        "accounts:signInWithCustomToken": sign_in_with_custom_token,
        "accounts:signUp": sign_up,
        "accounts:signInWithPassword": sign_in_with_password,
        "accounts:lookup": lookup,
    }
    _ADMIN = {"accounts": admin_create, "accounts:lookup": admin_lookup}
    _CLIENT_PATH = re.compile(r"^/identitytoolkit\.googleapis\.com/v1/(?P<method>accounts:\w+)$")
    _ADMIN_PATH = re.compile(
        r"^/identitytoolkit\.googleapis\.com/v1/projects/(?P<project>[^/]+)/"
        r"(?P<method>accounts(:\w+)?)$"
    )
    _RESET_PATH = re.compile(r"^/emulator/v1/projects/(?P<project>[^/]+)/accounts$")

    def _answer_post(self, path: str, query: dict, headers, raw: bytes) -> dict:
        if path == "/securetoken.googleapis.com/v1/token":
            self._require_key(query)
            content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
            if content_type == "application/json":
                form = self._json(raw)
            else:
                form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
            with self._lock:
                self.calls.append("token")
                return self.refresh(form)
        if match := self._CLIENT_PATH.match(path):
            method = self._CLIENT.get(match["method"])
            if method is None:
                raise AuthError(f"Method not found: {match['method']}", 404)
            self._require_key(query)
            body = self._json(raw)
            with self._lock:
                self.calls.append(match["method"])
                return method(self, body)
        if match := self._ADMIN_PATH.match(path):
            method = self._ADMIN.get(match["method"])
            if method is None:
                raise AuthError(f"Method not found: {match['method']}", 404)
            self._require_owner(match["project"], headers)
            body = self._json(raw)
            with self._lock:
                self.calls.append(f"projects.{match['method']}")
                return method(self, body)
        raise AuthError(f"Not found: POST {path}", 404)

    def _require_key(self, query: dict) -> None:
        if not (query.get("key") or [""])[0]:
            raise AuthError("The request is missing a valid API key.", 403)

    def _require_owner(self, project: str, headers) -> None:
        # The emulator takes "Bearer owner" (firebase-admin's emulator credentials) as admin.
        if (headers.get("Authorization") or "") != "Bearer owner":
            raise AuthError(
                "INSUFFICIENT_PERMISSION : Only authenticated requests can specify "
                "target_project_id.",
                403,
            )
        if project != self.project_id:
            raise AuthError(f"PROJECT_NOT_FOUND : this stand-in serves {self.project_id}", 404)

    @staticmethod
    def _json(raw: bytes) -> dict:
        try:
            body = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise AuthError("Invalid JSON payload received.") from None
        if not isinstance(body, dict):
            raise AuthError("Invalid JSON payload received. Expected an object.")
        return body

    def status(self) -> dict:
        """What ``GET /`` shows, as the emulator's root does (plus what it is)."""
        with self._lock:
            accounts = len(self._accounts)
        return {
            "authEmulator": {"ready": True, "standIn": "tools/auth_standin.py"},
            "project": self.project_id,
            "accounts": accounts,
        }

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_OPTIONS(self):
                # A CORS preflight: whatever the page's origin asks, as the emulator's cors().
                self.send_response(204)
                self._cors()
                self.send_header("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
                requested = self.headers.get("Access-Control-Request-Headers")
                if requested:
                    self.send_header("Access-Control-Allow-Headers", requested)
                    self.send_header("Vary", "Access-Control-Request-Headers")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlsplit(self.path)
                try:
                    body = standin._answer_post(url.path, parse_qs(url.query), self.headers, raw)
                except AuthError as error:
                    self._reply(error.status, error_document(error.message, error.status))
                    return
                except (TypeError, AttributeError, ValueError) as error:
                    # A field of the wrong type (a list for a uid, say): Google answers 400.
                    message = f"INVALID_ARGUMENT : {error.__class__.__name__}"
                    self._reply(400, error_document(message))
                    return
                self._reply(200, body)

            def do_GET(self):
                if urlsplit(self.path).path != "/":
                    self._reply(404, error_document(f"Not found: GET {self.path}", 404))
                    return
                self._reply(200, standin.status())

            def do_DELETE(self):
                match = standin._RESET_PATH.match(urlsplit(self.path).path)
                if match is None or match["project"] != standin.project_id:
                    self._reply(404, error_document(f"Not found: DELETE {self.path}", 404))
                    return
                standin.reset()
                self._reply(200, {})

            def _cors(self):
                self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
                self.send_header("Vary", "Origin")

            def _reply(self, status: int, body: dict) -> None:
                payload = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self._cors()
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Firebase Auth emulator stand-in on 127.0.0.1")
    parser.add_argument("--port", type=int, default=9099)
    parser.add_argument("--project", default="demo-signale")
    args = parser.parse_args(argv)
    try:
        standin = AuthStandIn(args.project, port=args.port)
    except OSError as exc:
        raise SystemExit(
            f"Auth emulator stand-in: cannot listen on 127.0.0.1:{args.port}: {exc}"
        ) from exc
    print(
        f"Auth emulator stand-in on {standin.url} (project {args.project}); Ctrl-C stops it",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        standin._server.serve_forever()


if __name__ == "__main__":
    main()
