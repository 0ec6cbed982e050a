"""ID-token verification through the real firebase-admin library."""

import time

import pytest

from app import ConfigurationError
from app.auth.tokens import FirebaseTokenVerifier, TokenRejected, mint_emulator_token
from tests.conftest import PROJECT_ID, make_app


@pytest.fixture
def verifier():
    return FirebaseTokenVerifier(PROJECT_ID, clock_skew_seconds=10)


def test_an_emulator_token_is_verified_and_carries_the_sign_in_provider(verifier):
    claims = verifier.verify(mint_emulator_token(PROJECT_ID, "u1", email="a@example.fr"))
    assert claims.uid == "u1"
    assert claims.email == "a@example.fr"
    assert claims.anonymous is False


def test_an_anonymous_sign_in_is_recognised(verifier):
    assert verifier.verify(mint_emulator_token(PROJECT_ID, "anon", anonymous=True)).anonymous


def test_an_expired_token_is_rejected_as_expired(verifier):
    token = mint_emulator_token(
        PROJECT_ID, "u1", issued_at=time.time() - 7200, lifetime_seconds=3600
    )
    with pytest.raises(TokenRejected) as caught:
        verifier.verify(token)
    assert caught.value.expired


def test_a_token_expired_within_the_clock_skew_is_still_accepted(verifier):
    token = mint_emulator_token(
        PROJECT_ID, "u1", issued_at=time.time() - 3605, lifetime_seconds=3600
    )
    assert verifier.verify(token).uid == "u1"


def test_a_token_issued_in_the_future_is_rejected(verifier):
    with pytest.raises(TokenRejected) as caught:
        verifier.verify(mint_emulator_token(PROJECT_ID, "u1", issued_at=time.time() + 600))
    assert not caught.value.expired


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 5000])
def test_garbage_is_rejected(verifier, token):
    with pytest.raises(TokenRejected):
        verifier.verify(token)


def test_a_token_for_another_firebase_project_is_rejected(verifier):
    with pytest.raises(TokenRejected) as caught:
        verifier.verify(mint_emulator_token("someone-elses-project", "u1"))
    assert "aud" in caught.value.reason


def test_outside_emulator_mode_an_unsigned_emulator_token_is_rejected(verifier, monkeypatch):
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    with pytest.raises(TokenRejected) as caught:
        verifier.verify(mint_emulator_token(PROJECT_ID, "u1"))
    assert "kid" in caught.value.reason


def test_production_refuses_to_start_in_emulator_mode(database_url):
    with pytest.raises(ConfigurationError, match="FIREBASE_AUTH_EMULATOR_HOST"):
        make_app(database_url, SIGNALE_ENV="production")


def test_production_starts_without_emulator_mode(database_url, monkeypatch):
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    app = make_app(database_url, SIGNALE_ENV="production", FIREBASE_AUTH_EMULATOR_HOST="")
    response = app.test_client().get(
        "/v1/me", headers={"Authorization": "Bearer " + mint_emulator_token(PROJECT_ID, "u1")}
    )
    assert response.status_code == 401
    assert response.get_json()["code"] == "token_invalid"


def test_a_token_verified_once_is_still_refused_once_expired():
    """Verified tokens are remembered with their claims; the expiry is checked at every use
    all the same (the clock injected)."""
    now = [time.time()]
    verifier = FirebaseTokenVerifier(PROJECT_ID, clock_skew_seconds=10, clock=lambda: now[0])
    token = mint_emulator_token(PROJECT_ID, "u1", issued_at=now[0], lifetime_seconds=3600)
    assert verifier.verify(token).uid == "u1"
    now[0] += 3600 + 5  # within the skew
    assert verifier.verify(token).uid == "u1"
    now[0] += 10
    with pytest.raises(TokenRejected) as caught:
        verifier.verify(token)
    assert caught.value.expired


def test_a_token_remembered_under_the_emulator_is_verified_again_outside_it(verifier, monkeypatch):
    token = mint_emulator_token(PROJECT_ID, "u1")
    assert verifier.verify(token).uid == "u1"
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    with pytest.raises(TokenRejected) as caught:
        verifier.verify(token)
    assert "kid" in caught.value.reason


def test_a_refused_token_is_refused_every_time_and_memory_is_bounded():
    verifier = FirebaseTokenVerifier(PROJECT_ID, max_remembered=2)
    other_project = mint_emulator_token("someone-elses-project", "u1")
    for _ in range(2):
        with pytest.raises(TokenRejected):
            verifier.verify(other_project)
    tokens = [mint_emulator_token(PROJECT_ID, f"u{n}") for n in range(3)]
    assert [verifier.verify(token).uid for token in tokens] == ["u0", "u1", "u2"]
    assert list(verifier._verified) == tokens[1:]
