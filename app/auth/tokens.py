"""The Firebase adapter: verifying ID tokens, and minting emulator tokens for development.

Production verification is firebase-admin's: RS256 signature against Google's published
keys, audience, issuer, expiry. In emulator mode (``FIREBASE_AUTH_EMULATOR_HOST`` set) the
Auth emulator issues unsigned tokens and firebase-admin skips the signature and expiry
checks; we still enforce the time claims so that development and tests behave as
production does for expired tokens.
"""

import base64
import json
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import firebase_admin
from firebase_admin import auth as fb_auth
from firebase_admin import exceptions as fb_exceptions

ISSUER_PREFIX = "https://securetoken.google.com/"


class TokenRejected(Exception):
    """The token cannot be accepted. ``expired`` tells a stale token from a bad one."""

    def __init__(self, reason: str, *, expired: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


class VerifierUnavailable(Exception):
    """Google's key service could not be reached: the token is neither good nor bad yet."""


@dataclass(frozen=True)
class Claims:
    uid: str
    sign_in_provider: str | None
    email: str | None
    email_verified: bool
    # When the token expires (seconds since the epoch): a long-lived answer (the console's
    # event stream) ends then, and the client comes back with a fresh token.
    expires_at: float | None = None

    @property
    def anonymous(self) -> bool:
        return self.sign_in_provider == "anonymous"


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Claims: ...


def emulator_mode() -> bool:
    return bool(os.environ.get("FIREBASE_AUTH_EMULATOR_HOST"))


class FirebaseTokenVerifier:
    """Verifies Firebase ID tokens with firebase-admin.

    A token verified is kept (up to ``max_remembered``, the least recently used dropped)
    with its claims: a client sends the same token with every request for up to an hour,
    and verifying it again (decoding, checks, the signature against Google's keys) cost
    about a tenth of a small staff read. What verification decides does not change for a
    token, but for its expiry, checked again at every use, and the emulator mode it was
    verified under: a token is taken from memory only in the same mode."""

    def __init__(
        self,
        project_id: str,
        clock_skew_seconds: int = 10,
        *,
        max_remembered: int = 10_000,
        clock: Callable[[], float] = time.time,
    ):
        self.project_id = project_id
        self.clock_skew = clock_skew_seconds
        self.clock = clock
        self.max_remembered = max_remembered
        self._verified: OrderedDict[str, tuple[bool, Claims]] = OrderedDict()
        self._lock = threading.Lock()
        name = f"signale-{project_id}"
        try:
            self._app = firebase_admin.get_app(name)
        except ValueError:
            # No credential is needed to verify ID tokens, only the project id.
            self._app = firebase_admin.initialize_app(options={"projectId": project_id}, name=name)

    def verify(self, token: str) -> Claims:
        emulated = emulator_mode()
        with self._lock:
            known = self._verified.get(token)
            if known is not None:
                self._verified.move_to_end(token)
        if known is not None and known[0] == emulated:
            claims = known[1]
            if claims.expires_at is None or claims.expires_at < self.clock() - self.clock_skew:
                raise TokenRejected("expired", expired=True)
            return claims
        claims = self._verify(token, emulated)
        with self._lock:
            self._verified[token] = (emulated, claims)
            while len(self._verified) > self.max_remembered:
                self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str, emulated: bool) -> Claims:
        try:
            claims = fb_auth.verify_id_token(
                token, app=self._app, clock_skew_seconds=self.clock_skew
            )
        except fb_auth.ExpiredIdTokenError as exc:
            raise TokenRejected("expired", expired=True) from exc
        except fb_auth.CertificateFetchError as exc:
            raise VerifierUnavailable(str(exc)) from exc
        except (fb_auth.InvalidIdTokenError, ValueError) as exc:
            raise TokenRejected(_short_reason(exc)) from exc
        except fb_exceptions.FirebaseError as exc:
            raise VerifierUnavailable(str(exc)) from exc
        if emulated:
            self._check_times(claims)
        return claims_of(claims)

    def _check_times(self, claims: dict) -> None:
        now = self.clock()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise TokenRejected("missing exp or iat claim")
        if exp < now - self.clock_skew:
            raise TokenRejected("expired", expired=True)
        if iat > now + self.clock_skew:
            raise TokenRejected("issued in the future")


# What a uid or an e-mail address may not hold: control characters (NUL cannot even be
# stored: PostgreSQL text refuses it) and lone UTF-16 surrogates (a JSON payload may spell
# "\ud800"; no encoder can write it). Firebase issues neither.
_UNUSABLE_TEXT = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def claims_of(decoded: dict) -> Claims:
    """The claims we use from a verified token's payload; TokenRejected when the identity
    they name could not be looked up or stored as it is."""
    for name in ("uid", "email"):
        value = decoded.get(name)
        if value is not None and (not isinstance(value, str) or _UNUSABLE_TEXT.search(value)):
            raise TokenRejected(f"malformed {name} claim")
    firebase = decoded.get("firebase") or {}
    if not isinstance(firebase, dict):
        raise TokenRejected("malformed firebase claim")
    provider = firebase.get("sign_in_provider")
    return Claims(
        uid=decoded["uid"],
        sign_in_provider=provider if isinstance(provider, str) else None,
        email=decoded.get("email"),
        email_verified=bool(decoded.get("email_verified")),
        expires_at=float(exp) if isinstance(exp := decoded.get("exp"), int | float) else None,
    )


def _short_reason(exc: Exception) -> str:
    # firebase-admin's messages are long and point to its docs; the first sentence is enough.
    text = str(exc).split(". ")[0].strip()
    if "b'" in text:  # do not echo token bytes back
        text = text.split(":")[0]
    return text[:160] or exc.__class__.__name__


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def mint_emulator_token(
    project_id: str,
    uid: str,
    *,
    anonymous: bool = False,
    email: str | None = None,
    lifetime_seconds: int = 3600,
    issued_at: float | None = None,
) -> str:
    """An ID token as the Firebase Auth emulator issues it (unsigned, ``alg: none``).

    Only emulator-mode verification accepts it; production verification rejects it.
    """
    iat = int(issued_at if issued_at is not None else time.time())
    provider = "anonymous" if anonymous else ("password" if email else "custom")
    payload = {
        "iss": ISSUER_PREFIX + project_id,
        "aud": project_id,
        "auth_time": iat,
        "user_id": uid,
        "sub": uid,
        "iat": iat,
        "exp": iat + lifetime_seconds,
        "firebase": {"identities": {}, "sign_in_provider": provider},
    }
    if email:
        payload["email"] = email
        payload["email_verified"] = True
        payload["firebase"]["identities"] = {"email": [email]}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(payload)}."
