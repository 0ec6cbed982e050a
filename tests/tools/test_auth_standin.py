"""The Auth emulator stand-in (tools/auth_standin.py) over plain HTTP and through
firebase-admin: the emulator's paths and answers, CORS for the console's origin, Google's
error documents, the clock it is given, and ID tokens Signale's verifier accepts.

The browser's side (the Firebase JS SDK against it) is tests/web/test_auth.py."""

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

import firebase_admin
import pytest
from firebase_admin import auth as fb_auth

from app.auth.tokens import FirebaseTokenVerifier, TokenRejected, mint_emulator_token
from tests.conftest import PROJECT_ID
from tools.auth_standin import CUSTOM_TOKEN_AUDIENCE, AuthStandIn

pytestmark = pytest.mark.processes

T0 = 1_900_000_000  # the stand-in's clock in these tests: no test reads the host's
KEY = "fake-api-key"
ORIGIN = "http://127.0.0.1:8000"


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def standin(clock):
    server = AuthStandIn(PROJECT_ID, now=clock).start()
    yield server
    server.stop()


def request(
    standin, method: str, path: str, body=None, *, headers=None, form=False
) -> tuple[int, dict, dict]:
    """(status, headers, JSON body) of one request to the stand-in, sent from the console's
    origin."""
    data = None
    all_headers = {"Origin": ORIGIN, **(headers or {})}
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
    prepared = urllib.request.Request(
        standin.url + path, data=data, method=method, headers=all_headers
    )
    try:
        with urllib.request.urlopen(prepared, timeout=10) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def client(standin, method: str, body=None, **kwargs):
    path = f"/identitytoolkit.googleapis.com/v1/accounts:{method}?key={KEY}"
    return request(standin, "POST", path, body, **kwargs)


def refresh(standin, refresh_token: str, grant: str = "refresh_token"):
    body = {"grant_type": grant, "refresh_token": refresh_token}
    return request(
        standin, "POST", f"/securetoken.googleapis.com/v1/token?key={KEY}", body, form=True
    )


def claims_of(token: str) -> dict:
    header, payload, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "none", "typ": "JWT"}
    assert signature == ""
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def error_of(answer) -> tuple[int, str]:
    status, _headers, body = answer
    assert body["error"]["code"] == status
    return status, body["error"]["message"]


def custom_token(payload: dict) -> str:
    part = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{part}."


@pytest.fixture
def admin(standin, monkeypatch):
    """firebase-admin's auth client pointed at the stand-in, as `FIREBASE_AUTH_EMULATOR_HOST`
    points the service's."""
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", standin.host)
    app = firebase_admin.initialize_app(
        options={"projectId": PROJECT_ID}, name=f"standin-{uuid.uuid4().hex[:8]}"
    )
    yield fb_auth.Client(app)
    firebase_admin.delete_app(app)


def test_the_root_answers_as_the_emulator_s_does(standin):
    status, headers, body = request(standin, "GET", "/")
    assert status == 200
    assert body["authEmulator"]["ready"] is True
    assert body["project"] == PROJECT_ID
    assert headers["Access-Control-Allow-Origin"] == ORIGIN


def test_a_cors_preflight_allows_the_console_s_origin_its_headers_and_post(standin):
    asked = "content-type,x-client-version,x-firebase-gmpid"
    status, headers, _ = request(
        standin,
        "OPTIONS",
        f"/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key={KEY}",
        headers={"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": asked},
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert headers["Access-Control-Allow-Headers"] == asked
    assert "POST" in headers["Access-Control-Allow-Methods"].split(",")


def test_a_firebase_admin_custom_token_signs_in_and_the_id_token_is_accepted_by_signale(
    standin, admin, clock, time_machine
):
    token = admin.create_custom_token("demo-agent").decode()
    status, headers, body = client(standin, "signInWithCustomToken", {"token": token})
    assert status == 200, body
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert body["localId"] == "demo-agent" and body["isNewUser"] is True
    assert body["expiresIn"] == "3600"
    claims = claims_of(body["idToken"])
    assert claims == {
        "iss": f"https://securetoken.google.com/{PROJECT_ID}",
        "aud": PROJECT_ID,
        "auth_time": T0,
        "user_id": "demo-agent",
        "sub": "demo-agent",
        "iat": T0,
        "exp": T0 + 3600,
        "firebase": {"identities": {}, "sign_in_provider": "custom"},
    }
    # Exactly what Signale's own emulator tokens carry.
    assert claims == claims_of(mint_emulator_token(PROJECT_ID, "demo-agent", issued_at=T0))
    time_machine.move_to(T0 + 5, tick=False)
    assert FirebaseTokenVerifier(PROJECT_ID).verify(body["idToken"]).uid == "demo-agent"
    # Again: the same account, no longer new.
    again = client(standin, "signInWithCustomToken", {"token": token})[2]
    assert again["isNewUser"] is False


def test_custom_tokens_the_emulator_refuses_are_refused(standin, admin):
    id_token = client(standin, "signUp", {"returnSecureToken": True})[2]["idToken"]
    missing_uid = custom_token({"aud": CUSTOM_TOKEN_AUDIENCE})
    for token, message in [
        ("not-a-jwt", "INVALID_CUSTOM_TOKEN : Invalid assertion format"),
        (id_token, "INVALID_CUSTOM_TOKEN"),  # an ID token is no custom token
        (missing_uid, "MISSING_IDENTIFIER"),
        ("", "MISSING_CUSTOM_TOKEN"),
    ]:
        status, text = error_of(client(standin, "signInWithCustomToken", {"token": token}))
        assert status == 400 and text.startswith(message), (token, text)
    # The emulator's plain-JSON form is taken.
    status, _, body = client(standin, "signInWithCustomToken", {"token": '{"uid": "demo-x"}'})
    assert (status, body["localId"]) == (200, "demo-x")


def test_anonymous_sign_up_gives_an_anonymous_token(standin, time_machine):
    status, _, body = client(standin, "signUp", {"returnSecureToken": True})
    assert status == 200
    claims = claims_of(body["idToken"])
    assert claims["firebase"] == {"identities": {}, "sign_in_provider": "anonymous"}
    assert "email" not in claims and len(body["localId"]) == 28
    assert claims.keys() == claims_of(mint_emulator_token(PROJECT_ID, "x", anonymous=True)).keys()
    time_machine.move_to(T0, tick=False)
    verified = FirebaseTokenVerifier(PROJECT_ID).verify(body["idToken"])
    assert (verified.uid, verified.anonymous) == (body["localId"], True)
    # The SDK's lookup: no e-mail, no password, no provider: anonymous.
    [user] = client(standin, "lookup", {"idToken": body["idToken"]})[2]["users"]
    assert user["localId"] == body["localId"]
    assert user["providerUserInfo"] == [] and "passwordHash" not in user


def test_password_accounts_sign_up_and_sign_in_and_mistakes_get_the_emulator_s_codes(standin):
    status, _, body = client(
        standin, "signUp", {"email": "Agent@Dijon.test", "password": "bonjour-1"}
    )
    assert status == 200 and body["email"] == "agent@dijon.test"
    assert claims_of(body["idToken"])["firebase"]["sign_in_provider"] == "password"
    signed = client(
        standin, "signInWithPassword", {"email": "agent@dijon.test", "password": "bonjour-1"}
    )
    assert signed[0] == 200 and signed[2]["localId"] == body["localId"]
    claims = claims_of(signed[2]["idToken"])
    assert (claims["email"], claims["email_verified"]) == ("agent@dijon.test", False)
    assert claims["firebase"] == {
        "identities": {"email": ["agent@dijon.test"]},
        "sign_in_provider": "password",
    }
    assert claims.keys() == claims_of(mint_emulator_token(PROJECT_ID, "x", email="a@b.c")).keys()
    [user] = client(standin, "lookup", {"idToken": signed[2]["idToken"]})[2]["users"]
    assert user["email"] == "agent@dijon.test" and user["passwordHash"]
    assert user["providerUserInfo"][0]["providerId"] == "password"
    for method, body, message in [
        (
            "signInWithPassword",
            {"email": "agent@dijon.test", "password": "bonsoir-1"},
            "INVALID_PASSWORD",
        ),
        ("signInWithPassword", {"email": "nobody@dijon.test", "password": "x"}, "EMAIL_NOT_FOUND"),
        ("signInWithPassword", {"email": "agent@dijon.test"}, "MISSING_PASSWORD"),
        ("signInWithPassword", {"password": "bonjour-1"}, "INVALID_EMAIL"),
        ("signUp", {"email": "agent@dijon.test", "password": "bonjour-2"}, "EMAIL_EXISTS"),
        ("signUp", {"email": "not-an-address", "password": "bonjour-2"}, "INVALID_EMAIL"),
        ("signUp", {"email": "b@dijon.test", "password": "court"}, "WEAK_PASSWORD"),
        ("signUp", {"email": "b@dijon.test"}, "MISSING_PASSWORD"),
    ]:
        status, text = error_of(client(standin, method, body))
        assert status == 400 and text.split(" : ")[0] == message, (body, text)


def test_a_disabled_account_cannot_sign_in_nor_renew_its_token(standin):
    uid = standin.add_account(email="gone@dijon.test", password="parti-123")
    signed = client(
        standin, "signInWithPassword", {"email": "gone@dijon.test", "password": "parti-123"}
    )
    standin.disable(uid)
    answer = client(
        standin, "signInWithPassword", {"email": "gone@dijon.test", "password": "parti-123"}
    )
    assert error_of(answer)[1].split(" : ")[0] == "USER_DISABLED"
    assert error_of(refresh(standin, signed[2]["refreshToken"])) == (400, "USER_DISABLED")
    assert error_of(client(standin, "lookup", {"idToken": signed[2]["idToken"]})) == (
        400,
        "USER_DISABLED",
    )


def test_refresh_gives_a_new_token_at_the_stand_in_s_time_for_the_same_sign_in(standin, clock):
    signed = client(standin, "signInWithCustomToken", {"token": '{"uid": "demo-crew"}'})[2]
    clock.now = T0 + 3590
    status, headers, body = refresh(standin, signed["refreshToken"])
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert body["refresh_token"] == signed["refreshToken"]
    assert body["id_token"] == body["access_token"] != signed["idToken"]
    assert (body["expires_in"], body["token_type"], body["user_id"]) == (
        "3600",
        "Bearer",
        "demo-crew",
    )
    claims = claims_of(body["id_token"])
    assert (claims["iat"], claims["exp"], claims["auth_time"]) == (T0 + 3590, T0 + 7190, T0)
    assert claims["firebase"]["sign_in_provider"] == "custom"
    # The SDK sends a form; a JSON body is taken too, as Google does.
    path = f"/securetoken.googleapis.com/v1/token?key={KEY}"
    body = {"grant_type": "refresh_token", "refresh_token": signed["refreshToken"]}
    assert request(standin, "POST", path, body)[0] == 200
    assert error_of(refresh(standin, "made-up")) == (400, "INVALID_REFRESH_TOKEN")
    assert error_of(refresh(standin, signed["refreshToken"], "password")) == (
        400,
        "INVALID_GRANT_TYPE",
    )


def test_an_expired_or_foreign_id_token_is_refused_by_lookup(standin, clock):
    signed = client(standin, "signUp", {})[2]
    foreign = mint_emulator_token("another-project", signed["localId"], issued_at=T0)
    assert error_of(client(standin, "lookup", {"idToken": foreign})) == (400, "INVALID_ID_TOKEN")
    assert error_of(client(standin, "lookup", {"idToken": "x.y.z"})) == (400, "INVALID_ID_TOKEN")
    assert error_of(client(standin, "lookup", {})) == (400, "MISSING_ID_TOKEN")
    clock.now = T0 + 3601
    assert error_of(client(standin, "lookup", {"idToken": signed["idToken"]})) == (
        400,
        "TOKEN_EXPIRED",
    )


def test_requests_google_would_refuse_get_google_s_error_documents(standin):
    path = "/identitytoolkit.googleapis.com/v1/accounts:signUp"
    status, headers, body = request(standin, "POST", path, {})  # no API key
    assert status == 403 and body["error"]["status"] == "PERMISSION_DENIED"
    assert headers["Access-Control-Allow-Origin"] == ORIGIN  # the page can read why
    assert error_of(client(standin, "signUp", b"{not json"))[0] == 400
    assert error_of(client(standin, "signUp", [1, 2]))[0] == 400
    assert error_of(client(standin, "sendOobCode", {}))[0] == 404
    # Fields of the wrong type: 400, never a dropped connection.
    odd = mint_emulator_token(PROJECT_ID, "x", issued_at=T0).split(".")[1]
    odd_claims = json.loads(base64.urlsafe_b64decode(odd + "=" * (-len(odd) % 4)))
    odd_token = custom_token({**odd_claims, "sub": ["x"]})
    assert error_of(client(standin, "lookup", {"idToken": odd_token}))[0] == 400
    assert (
        error_of(client(standin, "signInWithPassword", {"email": ["a"], "password": 1}))[0] == 400
    )
    assert error_of(client(standin, "signUp", {"email": 1, "password": "bonjour-1"}))[0] == 400
    uid_list = {"token": '{"uid": ["a"]}'}
    assert error_of(client(standin, "signInWithCustomToken", uid_list))[0] == 400
    owner = {"Authorization": "Bearer owner"}
    lookup = f"/identitytoolkit.googleapis.com/v1/projects/{PROJECT_ID}/accounts:lookup"
    assert error_of(request(standin, "POST", lookup, {"localId": 5}, headers=owner))[0] == 400
    assert error_of(request(standin, "GET", "/elsewhere"))[0] == 404
    assert error_of(request(standin, "POST", "/elsewhere", {}))[0] == 404


def test_firebase_admin_creates_and_finds_accounts_that_then_sign_in(standin, admin):
    created = admin.create_user(
        uid="agent-1", email="agent1@dijon.test", password="bonjour-1", email_verified=True
    )
    assert (created.uid, created.email, created.email_verified) == (
        "agent-1",
        "agent1@dijon.test",
        True,
    )
    assert admin.get_user_by_email("agent1@dijon.test").uid == "agent-1"
    with pytest.raises(fb_auth.UidAlreadyExistsError):
        admin.create_user(uid="agent-1")
    with pytest.raises(fb_auth.EmailAlreadyExistsError):
        admin.create_user(email="agent1@dijon.test", password="bonjour-2")
    with pytest.raises(fb_auth.UserNotFoundError):
        admin.get_user("nobody")
    signed = client(
        standin, "signInWithPassword", {"email": "agent1@dijon.test", "password": "bonjour-1"}
    )
    assert claims_of(signed[2]["idToken"])["email_verified"] is True
    # Only firebase-admin's "owner" may create accounts this way, for this project only.
    path = f"/identitytoolkit.googleapis.com/v1/projects/{PROJECT_ID}/accounts"
    assert error_of(request(standin, "POST", path, {"localId": "x"}))[0] == 403
    other = "/identitytoolkit.googleapis.com/v1/projects/other/accounts"
    owner = {"Authorization": "Bearer owner"}
    assert error_of(request(standin, "POST", other, {}, headers=owner))[0] == 404


def test_the_emulator_s_reset_forgets_every_account_and_session(standin):
    signed = client(standin, "signUp", {"email": "a@dijon.test", "password": "bonjour-1"})[2]
    assert request(standin, "DELETE", f"/emulator/v1/projects/{PROJECT_ID}/accounts")[0] == 200
    assert error_of(refresh(standin, signed["refreshToken"]))[1] == "INVALID_REFRESH_TOKEN"
    assert (
        error_of(
            client(
                standin, "signInWithPassword", {"email": "a@dijon.test", "password": "bonjour-1"}
            )
        )[1]
        == "EMAIL_NOT_FOUND"
    )
    assert request(standin, "GET", "/")[2]["accounts"] == 0
    assert request(standin, "DELETE", "/emulator/v1/projects/other/accounts")[0] == 404


def test_a_token_from_the_stand_in_is_rejected_once_expired_by_signale(standin, time_machine):
    signed = client(standin, "signUp", {})[2]
    time_machine.move_to(T0 + 3600 + 60, tick=False)
    with pytest.raises(TokenRejected) as rejected:
        FirebaseTokenVerifier(PROJECT_ID).verify(signed["idToken"])
    assert rejected.value.expired
