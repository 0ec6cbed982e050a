"""`flask users ...`: staff accounts and development tokens, through Click's runner on the
real database."""

import json

import pytest
from sqlalchemy import select

from app.auth.tokens import FirebaseTokenVerifier
from app.extensions import db
from app.users.models import Role, User
from tests.conftest import PROJECT_ID


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))

    return invoke


def staff(app, uid):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.firebase_uid == uid))
        result = (user.role, [d.code for d in user.desks]) if user else None
        db.session.remove()
        return result


def test_users_set_and_remove(app, cli):
    result = cli(
        "users", "set", "agent-7", "--role", "agent", "--desk", "voirie", "--desk", "proprete"
    )
    assert result.exit_code == 0, result.output
    assert staff(app, "agent-7") == (Role.AGENT, ["proprete", "voirie"])
    assert cli("users", "remove", "agent-7").exit_code == 0
    assert staff(app, "agent-7") is None


def test_users_set_explains_what_is_wrong(app, cli):
    result = cli("users", "set", "agent-8", "--role", "agent")
    assert result.exit_code == 1
    assert "needs at least one desk" in result.output
    assert staff(app, "agent-8") is None


def test_dev_token_mints_a_token_the_api_accepts_with_the_role(app, cli, crew_code):
    result = cli("users", "dev-token", "crew-9", "--role", "crew", "--crew", crew_code)
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert FirebaseTokenVerifier(PROJECT_ID).verify(token).uid == "crew-9"
    me = app.test_client().get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert json.loads(me.data)["crew"] == crew_code


def test_dev_token_is_refused_outside_emulator_mode(cli, monkeypatch):
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST")
    result = cli("users", "dev-token", "someone")
    assert result.exit_code != 0
    assert "FIREBASE_AUTH_EMULATOR_HOST" in result.output
