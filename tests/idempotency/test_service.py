"""The idempotency record on its own, against the race its single-statement claim leaves."""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from flask import current_app
from sqlalchemy import func

from app.errors import Conflict
from app.idempotency import service as idempotency
from app.idempotency.models import IdempotencyKey
from app.privacy.retention import purge

CLAIM = {"owner": "camille", "scope": "POST /v1/x", "key": "k-1", "request_fingerprint": "f" * 64}


@pytest.mark.processes
def test_a_twin_committed_after_the_snapshot_makes_the_second_a_conflict(session, database_url):
    """The lock and the lookup share one statement, so a twin can commit the key between this
    one's snapshot and its lock; the key's unique constraint then turns it into a 409."""
    assert idempotency.begin(session, **CLAIM) is None
    with psycopg.connect(database_url) as other:
        other.execute(
            "INSERT INTO idempotency_keys (owner, scope, key, fingerprint, status_code, body,"
            " expires_at) VALUES (%s, %s, %s, %s, 201, '{}', now() + interval '1 hour')",
            (CLAIM["owner"], CLAIM["scope"], CLAIM["key"], CLAIM["request_fingerprint"]),
        )
    with pytest.raises(Conflict) as raised:
        idempotency.complete(session, **CLAIM, status_code=201, body={"id": 2})
    assert raised.value.code == "idempotency_in_progress"
    session.rollback()
    replay = idempotency.begin(session, **CLAIM)
    assert replay is not None and replay.replayed and replay.body == {}
    assert session.query(IdempotencyKey).count() == 1


def test_an_expired_record_is_forgotten_and_the_work_done_again(session):
    idempotency.begin(session, **CLAIM)
    idempotency.complete(session, **CLAIM, status_code=201, body={"id": 1})
    session.execute(IdempotencyKey.__table__.update().values(expires_at=func.now()))
    session.commit()
    assert idempotency.begin(session, **CLAIM) is None
    idempotency.complete(session, **CLAIM, status_code=201, body={"id": 2})
    session.commit()
    assert idempotency.begin(session, **CLAIM).body == {"id": 2}


def test_a_key_lives_its_day_by_the_database_s_clock_whatever_the_server_s(session, time_machine):
    idempotency.begin(session, **CLAIM)
    idempotency.complete(session, **CLAIM, status_code=201, body={"id": 1})
    session.commit()
    # The retry reaches a server whose clock is two days ahead: still a replay, kept.
    time_machine.move_to(datetime.now(UTC) + timedelta(days=2), tick=True)
    replay = idempotency.begin(session, **CLAIM)
    assert replay is not None and replay.body == {"id": 1}
    session.rollback()
    # The retention schedule's purge (app.privacy.retention) keeps it too.
    assert purge(session, current_app.config, "idempotency_keys") == 0
    assert session.query(IdempotencyKey).count() == 1
