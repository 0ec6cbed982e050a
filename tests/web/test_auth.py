"""The console's sign-in (static/common/auth.js) in a real browser: the real Firebase JS SDK
(its compat scripts, as the console loads them) against the Auth emulator stand-in
(tools/auth_standin.py) on another origin, and the ID tokens it gets checked by Signale's
own verifier in emulator mode.

The page is a small one of the test's (tests/web/auth_page/) served from a temporary
directory with copies of the SDK's scripts and of auth.js, under a policy as strict as the
console's (script-src 'self', connect-src 'self' and the emulator only): what works here
works under the console's policy."""

import base64
import functools
import http.server
import json
import shutil
import threading
import time
from datetime import UTC, datetime

import pytest
import time_machine
from selenium.webdriver.support.ui import WebDriverWait

from app.auth.tokens import FirebaseTokenVerifier, mint_emulator_token
from tests.conftest import PROJECT_ID
from tests.servers import free_port
from tests.web.conftest import ROOT
from tests.web.test_browser import open_page, policy_refusals
from tools.auth_standin import AuthStandIn

pytestmark = pytest.mark.processes

PAGE = ROOT / "tests" / "web" / "auth_page"
FIREBASE = ROOT / "static" / "node_modules" / "firebase"
AUTH_JS = ROOT / "static" / "common" / "auth.js"
API_KEY = "fake-api-key"  # the emulator takes any key


class Clock:
    """The stand-in's clock: the host's, moved by ``offset`` seconds."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def clock():
    return Clock()


@pytest.fixture(scope="module")
def standin(clock):
    server = AuthStandIn(PROJECT_ID, now=clock).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dead_url():
    """An address where nothing listens (a stopped emulator), allowed by the page's policy."""
    return f"http://127.0.0.1:{free_port()}"


class _Page(http.server.SimpleHTTPRequestHandler):
    policy = ""

    def end_headers(self):
        self.send_header("Content-Security-Policy", self.policy)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def page_url(tmp_path_factory, standin, dead_url):
    folder = tmp_path_factory.mktemp("auth-page")
    for name in ("index.html", "harness.js"):
        shutil.copy(PAGE / name, folder / name)
    for name in ("firebase-app-compat.js", "firebase-auth-compat.js"):
        shutil.copy(FIREBASE / name, folder / name)
    shutil.copy(AUTH_JS, folder / "auth.js")
    handler = functools.partial(
        type(
            "Page",
            (_Page,),
            {
                "policy": (
                    "default-src 'none'; script-src 'self'; style-src 'self'; "
                    f"connect-src 'self' {standin.url} {dead_url}; img-src 'self' data:; "
                    "frame-ancestors 'none'"
                )
            },
        ),
        directory=str(folder),
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(browser, page_url, standin, clock):
    """A fresh page (nothing signed in), a stand-in with no account, clocks at the host's."""
    standin.reset()
    clock.offset = 0
    open_page(browser, page_url)
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return document.documentElement.dataset.harness") == "ready"
    )
    return browser


def config(emulator: str | None) -> dict:
    return {
        "firebase": {"apiKey": API_KEY, "projectId": PROJECT_ID, "authDomain": "localhost"},
        "auth_emulator": emulator,
        "demo_accounts": [],
        "tile_url": None,
    }


def call(browser, name: str, *args):
    """auth.js's ``name(*args)`` in the page: {"value": ...} or {"error": code, ...}."""
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "window.harness.call(arguments[0], ...arguments[1]).then(done);",
        name,
        list(args),
    )


def harness(browser, name: str, *args):
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.resolve(window.harness[arguments[0]](...arguments[1])).then(done);",
        name,
        list(args),
    )


def start(browser, standin) -> None:
    assert call(browser, "startAuth", config(standin.url)) == {"value": None}
    harness(browser, "listen")


def payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def verifier() -> FirebaseTokenVerifier:
    return FirebaseTokenVerifier(PROJECT_ID)


def test_a_demo_account_signs_in_with_a_custom_token_and_signale_accepts_its_id_token(
    page, standin
):
    start(page, standin)
    assert call(page, "idToken") == {"value": None}
    assert call(page, "signInAsDemo", "demo-agent") == {
        "value": {"uid": "demo-agent", "email": None, "anonymous": False}
    }
    token = call(page, "idToken")["value"]
    claims = verifier().verify(token)
    assert (claims.uid, claims.sign_in_provider, claims.email) == ("demo-agent", "custom", None)
    # The claims of the tokens Signale's own dev-token mints, no more, no fewer.
    assert payload(token).keys() == payload(mint_emulator_token(PROJECT_ID, "x")).keys()
    # The SDK spoke the emulator's protocol: the custom token, then the account's lookup.
    assert standin.calls == ["accounts:signInWithCustomToken", "accounts:lookup"]
    assert call(page, "signOutUser") == {"value": None}
    assert call(page, "idToken") == {"value": None}
    assert harness(page, "users") == [
        None,
        {"uid": "demo-agent", "email": None, "anonymous": False},
        None,
    ]
    assert policy_refusals(page) == []


def test_demo_accounts_exist_only_in_emulator_mode(page, standin):
    assert call(page, "signInAsDemo", "demo-agent") == {
        "error": "not_started",
        "firebaseCode": None,
        "name": "AuthError",
    }
    assert call(page, "startAuth", config(None)) == {"value": None}
    assert call(page, "signInAsDemo", "demo-agent")["error"] == "demo_unavailable"
    assert standin.calls == []


def test_an_account_signs_in_with_its_password_and_a_wrong_password_is_told_apart(page, standin):
    uid = standin.add_account(email="agent@dijon.test", password="bonjour-123")
    start(page, standin)
    wrong = call(page, "signInWithPassword", "agent@dijon.test", "bonsoir-123")
    assert (wrong["error"], wrong["firebaseCode"]) == ("invalid_credentials", "auth/wrong-password")
    unknown = call(page, "signInWithPassword", "nobody@dijon.test", "bonjour-123")
    assert (unknown["error"], unknown["firebaseCode"]) == (
        "invalid_credentials",
        "auth/user-not-found",
    )
    assert call(page, "signInWithPassword", "agent@dijon.test", "")["error"] == "missing_password"
    malformed = call(page, "signInWithPassword", "agent-at-dijon", "bonjour-123")
    assert (malformed["error"], malformed["firebaseCode"]) == (
        "invalid_email",
        "auth/invalid-email",
    )
    assert call(page, "idToken") == {"value": None}
    assert call(page, "signInWithPassword", "agent@dijon.test", "bonjour-123") == {
        "value": {"uid": uid, "email": "agent@dijon.test", "anonymous": False}
    }
    claims = verifier().verify(call(page, "idToken")["value"])
    assert (claims.uid, claims.sign_in_provider, claims.email) == (
        uid,
        "password",
        "agent@dijon.test",
    )


def test_an_account_made_with_sign_up_signs_in_and_a_disabled_one_is_refused(page, standin):
    import urllib.request

    request = urllib.request.Request(
        f"{standin.url}/identitytoolkit.googleapis.com/v1/accounts:signUp?key={API_KEY}",
        data=json.dumps({"email": "crew@dijon.test", "password": "chantier-1"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        uid = json.load(response)["localId"]
    blocked = standin.add_account(email="gone@dijon.test", password="parti-123", disabled=True)
    start(page, standin)
    assert call(page, "signInWithPassword", "crew@dijon.test", "chantier-1")["value"]["uid"] == uid
    refused = call(page, "signInWithPassword", "gone@dijon.test", "parti-123")
    assert refused["error"] == "account_disabled"
    assert blocked != uid


def test_a_page_without_an_api_key_is_told_it_is_misconfigured(page, standin):
    broken = config(standin.url)
    broken["firebase"]["apiKey"] = ""
    started = call(page, "startAuth", broken)
    assert (started["error"], started["firebaseCode"]) == ("misconfigured", "auth/invalid-api-key")
    assert call(page, "signInAsDemo", "demo-agent")["error"] == "misconfigured"
    assert call(page, "idToken")["error"] == "misconfigured"
    assert standin.calls == []


def test_an_unreachable_emulator_is_told_as_such(page, dead_url):
    assert call(page, "startAuth", config(dead_url)) == {"value": None}
    failed = call(page, "signInAsDemo", "demo-agent")
    assert (failed["error"], failed["firebaseCode"]) == (
        "unreachable",
        "auth/network-request-failed",
    )
    assert call(page, "signInWithPassword", "a@dijon.test", "bonjour-123")["error"] == (
        "unreachable"
    )


def test_the_token_is_renewed_only_when_it_is_about_to_expire(page, standin, clock):
    start(page, standin)
    call(page, "signInAsDemo", "demo-supervisor")
    first = call(page, "idToken")["value"]
    issued = payload(first)
    # Half an hour later (in the page and at the emulator): the same token.
    clock.offset = 1800
    harness(page, "moveClock", 1800)
    assert call(page, "idToken")["value"] == first
    assert "token" not in standin.calls
    # 20 seconds before it expires: the SDK renews it with its refresh token.
    clock.offset = 3580
    harness(page, "moveClock", 3580)
    renewed = call(page, "idToken")["value"]
    assert renewed != first
    assert standin.calls.count("token") == 1
    claims = payload(renewed)
    assert claims["iat"] - issued["iat"] >= 3580
    assert claims["exp"] == claims["iat"] + 3600
    assert claims["auth_time"] == issued["auth_time"]  # the same sign-in
    assert call(page, "idToken")["value"] == renewed  # kept until it nears its end
    assert standin.calls.count("token") == 1
    # Signale, its clock where the emulator's is, takes the renewed token.
    with time_machine.travel(datetime.fromtimestamp(clock(), UTC), tick=False):
        assert verifier().verify(renewed).uid == "demo-supervisor"


def test_a_session_the_emulator_no_longer_renews_ends_in_the_page(page, standin, clock):
    start(page, standin)
    call(page, "signInAsDemo", "demo-crew")
    standin.disable("demo-crew")
    clock.offset = 3590
    harness(page, "moveClock", 3590)
    assert call(page, "idToken")["error"] == "account_disabled"
    # The SDK signed the account out: the page shows the sign-in again.
    assert harness(page, "users")[-1] is None
    assert call(page, "idToken") == {"value": None}


def test_anonymous_sign_in_gives_an_anonymous_token(page, standin):
    start(page, standin)
    signed = harness(page, "signInAnonymously")["value"]
    assert signed["anonymous"] is True
    token = call(page, "idToken")["value"]
    claims = verifier().verify(token)
    assert claims.uid == signed["uid"]
    assert (claims.sign_in_provider, claims.anonymous) == ("anonymous", True)
    assert harness(page, "users")[-1] == {"uid": signed["uid"], "email": None, "anonymous": True}


def test_nothing_of_the_session_is_stored_in_the_browser(page, standin):
    standin.add_account(uid="demo-admin-pw", email="admin@dijon.test", password="racine-123")
    start(page, standin)
    call(page, "signInAsDemo", "demo-admin")
    demo_token = call(page, "idToken")["value"]
    call(page, "signInWithPassword", "admin@dijon.test", "racine-123")
    password_token = call(page, "idToken")["value"]
    secrets = [demo_token, password_token, *standin.refresh_tokens(), "demo-admin"]
    assert len(secrets) == 5
    stored = harness(page, "stored")
    assert page.get_cookies() == []
    assert stored["cookies"] == ""
    for place in ("localStorage", "sessionStorage", "indexedDB"):
        for secret in secrets:
            assert secret not in stored[place], (place, stored[place][:300])
    # Nothing at all, in fact: Web Storage is empty, and the SDK's databases (made when it
    # probes what the browser offers) hold no row.
    assert (stored["localStorage"], stored["sessionStorage"]) == ("[]", "[]")
    rows = [line for line in stored["indexedDB"].splitlines() if ": " in line]
    assert all(line.endswith(": []") for line in rows), stored["indexedDB"]
