"""The FCM adapter: sends pushes through firebase-admin's messaging client (``send_each``,
FCM HTTP v1), and says per message whether FCM accepted it, refused the token for good, or
failed in a way worth retrying.

Configuration selects the endpoint and the credentials. Production uses Google's endpoint
with a service account (``FCM_CREDENTIALS``: the JSON file's path, or
``application-default``). Tests, ``make run`` and the benchmark may point the same client at
a stand-in (``FCM_ENDPOINT``, ``FCM_CREDENTIALS=static-token``; refused in production):
firebase-admin has no emulator setting for messaging, so the one URL it builds is replaced
on its messaging service, checked at start so that an upgrade changing it fails loudly.
"""

import email.utils
import hashlib
import logging
import time
import warnings
from dataclasses import dataclass
from typing import Protocol

import firebase_admin
import google.oauth2.credentials
import requests
from firebase_admin import credentials as fb_credentials
from firebase_admin import exceptions as fb_exceptions
from firebase_admin import messaging
from urllib3.util import retry

log = logging.getLogger(__name__)

GOOGLE_ENDPOINT = "https://fcm.googleapis.com"
STATIC_TOKEN = "static-token"
APPLICATION_DEFAULT = "application-default"
MAX_BATCH = 500  # send_each's own limit

# FCM error codes (the FcmError detail, else the canonical status) after which the token
# is dropped: it will never work again. Every other error is retried later (UNAVAILABLE,
# INTERNAL, QUOTA_EXCEEDED, timeouts, TRANSPORT: no answer at all...) up to a limit.
TOKEN_GONE = frozenset({"UNREGISTERED", "INVALID_ARGUMENT", "SENDER_ID_MISMATCH"})
_FCM_CODES = {
    messaging.UnregisteredError: "UNREGISTERED",
    messaging.QuotaExceededError: "QUOTA_EXCEEDED",
    messaging.SenderIdMismatchError: "SENDER_ID_MISMATCH",
    messaging.ThirdPartyAuthError: "THIRD_PARTY_AUTH_ERROR",
}


@dataclass(frozen=True)
class Push:
    token: str
    title: str
    body: str
    data: dict[str, str]
    collapse_key: str


@dataclass(frozen=True)
class Outcome:
    """What FCM said of one push: its message id, or an error code (and Retry-After)."""

    message_id: str | None = None
    error: str | None = None
    detail: str | None = None
    retry_after: float | None = None

    @property
    def accepted(self) -> bool:
        return self.message_id is not None


class PushSender(Protocol):
    def send(self, pushes: list[Push]) -> list[Outcome]: ...


class _StaticToken(fb_credentials.Base):
    """A fixed bearer token: for a stand-in of FCM, never for Google's endpoint."""

    def __init__(self, token: str):
        self._credential = google.oauth2.credentials.Credentials(token)

    def get_credential(self):
        return self._credential


class FirebaseSender:
    """Pushes through firebase-admin's messaging client, to ``endpoint``."""

    def __init__(
        self,
        *,
        project_id: str,
        credentials: str,
        endpoint: str = GOOGLE_ENDPOINT,
        timeout_seconds: float = 10,
    ):
        endpoint = endpoint.rstrip("/")
        credential = _credential(credentials)
        key = hashlib.sha256(f"{project_id}\n{credentials}\n{endpoint}".encode()).hexdigest()
        name = f"signale-fcm-{key[:16]}"
        try:
            self._app = firebase_admin.get_app(name)
        except ValueError:
            self._app = firebase_admin.initialize_app(
                credential,
                options={"projectId": project_id, "httpTimeout": timeout_seconds},
                name=name,
            )
        service = messaging._get_messaging_service(self._app)
        expected = f"{GOOGLE_ENDPOINT}/v1/projects/{project_id}/messages:send"
        ours = f"{endpoint}/v1/projects/{project_id}/messages:send"
        # The same app again (a second sender in this process): already pointed there.
        if getattr(service, "_fcm_url", None) not in (expected, ours):
            raise RuntimeError(
                "firebase-admin's messaging URL changed: review app/notifications/fcm.py"
            )
        service._fcm_url = ours
        # Retries are the outbox's (backoff, Retry-After, attempts kept on the row), not
        # firebase-admin's: its default sleeps through 503s inside the worker, honouring
        # Retry-After, and would repeat a POST whose answer was lost. Only a connection
        # never made is retried here.
        once = requests.adapters.HTTPAdapter(
            pool_connections=10,
            pool_maxsize=MAX_BATCH,
            max_retries=retry.Retry(total=1, connect=1, read=0, status=0, redirect=0),
        )
        session = service._client.session
        session.mount(endpoint, once)
        _read_environment_once(session, endpoint)
        self._service = service
        self.endpoint = endpoint

    def send(self, pushes: list[Push]) -> list[Outcome]:
        """One outcome per push, in order (at most 500 per call, as send_each)."""
        if not pushes:
            return []
        if len(pushes) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} pushes per call")
        batch = messaging.send_each([_message(p) for p in pushes], app=self._app)
        return [_outcome(response) for response in batch.responses]


def _read_environment_once(session: requests.Session, endpoint: str) -> None:
    """Proxies and CA bundle from the environment (HTTPS_PROXY, NO_PROXY,
    REQUESTS_CA_BUNDLE...), read here once rather than by requests at every push: about a
    quarter of the CPU time of sending went there (and to ~/.netrc, whose credentials would
    replace the bearer token anyway)."""
    # As requests reads them (a second sender of the same app reads them again).
    session.proxies, session.verify, session.trust_env = {}, True, True
    settings = session.merge_environment_settings(endpoint, {}, None, None, None)
    session.proxies = settings["proxies"]
    session.verify = settings["verify"]
    session.trust_env = False


def _credential(setting: str) -> fb_credentials.Base:
    if setting == STATIC_TOKEN:
        return _StaticToken("signale-stand-in")
    if setting == APPLICATION_DEFAULT:
        return fb_credentials.ApplicationDefault()
    return fb_credentials.Certificate(setting)


def _message(push: Push) -> messaging.Message:
    with warnings.catch_warnings():
        # firebase-admin 7.7 deprecates `token` for `fid` (Firebase installation ids); the
        # apps register FCM registration tokens, which FCM HTTP v1 takes as `token`.
        warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
        return _build(push)


def _build(push: Push) -> messaging.Message:
    return messaging.Message(
        token=push.token,
        notification=messaging.Notification(title=push.title, body=push.body),
        data=push.data,
        # A phone shows only the latest notification of a report.
        android=messaging.AndroidConfig(collapse_key=push.collapse_key),
        apns=messaging.APNSConfig(headers={"apns-collapse-id": push.collapse_key}),
        webpush=messaging.WebpushConfig(headers={"Topic": push.collapse_key}),
    )


def _outcome(response: messaging.SendResponse) -> Outcome:
    if response.success:
        return Outcome(message_id=response.message_id)
    error = response.exception
    code = _FCM_CODES.get(type(error))
    if code is None and isinstance(error, fb_exceptions.FirebaseError):
        code = error.code
        if code == fb_exceptions.UNAVAILABLE and error.http_response is None:
            code = "TRANSPORT"  # no answer at all: the connection failed
    return Outcome(
        error=code or "UNKNOWN",
        detail=str(error)[:300],
        retry_after=_retry_after(getattr(error, "http_response", None)),
    )


def _retry_after(response) -> float | None:
    """Retry-After in seconds (delta-seconds or HTTP-date), if the answer had one."""
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def from_config(config) -> PushSender | None:
    """The configured sender, or None when no FCM credentials are set (in-app feed only)."""
    setting = config.get("FCM_CREDENTIALS") or ""
    if not setting:
        return None
    return FirebaseSender(
        project_id=config.get("FCM_PROJECT_ID") or config["FIREBASE_PROJECT_ID"],
        credentials=setting,
        endpoint=config.get("FCM_ENDPOINT") or GOOGLE_ENDPOINT,
        timeout_seconds=float(config.get("FCM_TIMEOUT_SECONDS", 10)),
    )
