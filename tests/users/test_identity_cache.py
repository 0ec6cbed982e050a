"""The callers' staff rows cached per process (app/auth/cache.py): a request whose caller is
cached sends nothing to PostgreSQL, a change made through the API takes effect at once in
the process that made it, and everywhere else within IDENTITY_CACHE_SECONDS."""

import pytest

from app.auth.cache import EXTENSION, MISS, IdentityCache, StaffRow, staff_changed
from app.extensions import db
from app.users.models import Role
from app.users.service import put_user
from tests.conftest import make_app


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(app):
    cache = app.extensions[EXTENSION]
    before = cache.clock
    cache.clock = FakeClock()
    yield cache.clock
    cache.clock = before


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_cached_caller_costs_no_statement_and_no_transaction(client, token_for, statements):
    headers = bearer(token_for(Role.AGENT, uid="agent-cached"))
    with statements() as first:
        assert client.get("/v1/me", headers=headers).get_json()["role"] == "agent"
    assert any("FROM users" in sql for sql in first)
    with statements() as second:
        me = client.get("/v1/me", headers=headers).get_json()
    assert (me["role"], me["desks"]) == ("agent", ["voirie"])
    assert second == []  # not even a BEGIN/SAVEPOINT: no connection was taken


def test_a_resident_is_cached_too_and_the_tokens_claims_are_never(client, token_for, statements):
    uid = "resident-cached"
    client.get("/v1/me", headers=bearer(token_for(Role.RESIDENT, uid=uid, email="a@example.fr")))
    with statements() as seen:
        me = client.get(
            "/v1/me", headers=bearer(token_for(Role.RESIDENT, uid=uid, email="b@example.fr"))
        ).get_json()
    assert seen == []
    assert (me["role"], me["email"]) == ("resident", "b@example.fr")  # from this token


def test_a_demotion_through_the_api_takes_effect_at_once_in_this_process(client, auth, token_for):
    headers = bearer(token_for(Role.AGENT, uid="agent-demoted"))
    assert client.get("/v1/desks/voirie/queue", headers=headers).status_code == 200
    changed = client.put(
        "/v1/admin/users/agent-demoted",
        headers=auth(Role.ADMIN),
        json={"role": "agent", "desks": ["eclairage"]},
    )
    assert changed.status_code == 200
    assert client.get("/v1/desks/voirie/queue", headers=headers).status_code == 403
    assert client.get("/v1/desks/eclairage/queue", headers=headers).status_code == 200
    deactivated = client.put(
        "/v1/admin/users/agent-demoted",
        headers=auth(Role.ADMIN),
        json={"role": "agent", "desks": ["eclairage"], "active": False},
    )
    assert deactivated.status_code == 200
    assert client.get("/v1/desks/eclairage/queue", headers=headers).status_code == 403
    assert client.get("/v1/me", headers=headers).get_json()["role"] == "resident"


def test_a_removal_through_the_api_takes_effect_at_once_in_this_process(client, auth, token_for):
    headers = bearer(token_for(Role.SUPERVISOR, uid="supervisor-removed"))
    assert client.get("/v1/supervision/desks", headers=headers).status_code == 200
    removed = client.delete("/v1/admin/users/supervisor-removed", headers=auth(Role.ADMIN))
    assert removed.status_code == 204
    assert client.get("/v1/supervision/desks", headers=headers).status_code == 403


def test_another_process_sees_a_change_within_the_bound(app, database_url, token_for, clock):
    """Two application instances are two processes' caches over one database: a change made
    through one is seen by the other once its entry is IDENTITY_CACHE_SECONDS old."""
    other = make_app(database_url)
    other_clock = FakeClock()
    other.extensions[EXTENSION].clock = other_clock
    other_client, this_client = other.test_client(), app.test_client()
    headers = bearer(token_for(Role.AGENT, uid="agent-elsewhere"))
    assert other_client.get("/v1/desks/voirie/queue", headers=headers).status_code == 200
    bound = other.config["IDENTITY_CACHE_SECONDS"]
    assert bound == 5.0  # the documented default (README, app/config.py)

    with app.app_context():
        put_user(
            db.session,
            actor=None,
            uid="agent-elsewhere",
            role=Role.AGENT,
            desks=["voirie"],
            active=False,
        )
        db.session.remove()
    assert this_client.get("/v1/desks/voirie/queue", headers=headers).status_code == 403
    other_clock.now += bound - 0.1
    assert other_client.get("/v1/desks/voirie/queue", headers=headers).status_code == 200
    other_clock.now += 0.1
    assert other_client.get("/v1/desks/voirie/queue", headers=headers).status_code == 403


def test_a_committed_change_drops_its_uid_only_and_a_rolled_back_one_nothing(app, token_for):
    cache = app.extensions[EXTENSION]
    row = StaffRow(1, "agent", True, None, None, ("voirie",), None)
    for uid in ("kept", "changed", "rolled-back"):
        cache.put(uid, row)
    with app.app_context():
        token_for(Role.AGENT, uid="changed")  # put_user, committed
        staff_changed(db.session, "rolled-back")
        db.session.rollback()
        db.session.remove()
    assert cache.get("kept") is row and cache.get("rolled-back") is row
    assert cache.get("changed") is MISS


def test_with_the_cache_off_every_request_reads_the_table(database_url, token_for, statements):
    uncached = make_app(database_url, IDENTITY_CACHE_SECONDS=0)
    client = uncached.test_client()
    headers = bearer(token_for(Role.AGENT, uid="agent-uncached"))
    client.get("/v1/me", headers=headers)
    # Every app's sessions run on the test's connection (tests/conftest.py's isolation).
    with statements() as seen:
        assert client.get("/v1/me", headers=headers).get_json()["role"] == "agent"
    assert any("FROM users" in sql for sql in seen)


def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_read():
    clock = FakeClock()
    cache = IdentityCache(5, max_entries=2, clock=clock)
    cache.put("a", None)
    cache.put("b", None)
    cache.put("a", None)  # refreshed: "b" is now the oldest
    cache.put("c", None)
    assert cache.get("b") is MISS
    assert cache.get("a") is None and cache.get("c") is None
