"""Running a state-changing use case at most once per Idempotency-Key.

The key's record is written in the same transaction as the work it protects, so either both
exist or neither does. A transaction-scoped advisory lock on (owner, scope, key) tells a
concurrent duplicate (409) from a retry after completion (the stored response, replayed).
A key lives for LIFETIME by the database's clock (app.clock), whichever server sees the retry.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import CTE, BigInteger, Integer, String, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Session

from app.errors import Conflict, Problem, Unprocessable
from app.idempotency.models import IdempotencyKey

LIFETIME = timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


_KEYS = IdempotencyKey.__table__


@dataclass(frozen=True)
class _Stored:
    id: int
    expired: bool
    fingerprint: str
    status_code: int
    body: dict
    location: str | None

    @classmethod
    def from_row(cls, row: list | None) -> "_Stored | None":
        if row is None:
            return None
        return cls(*row)


@dataclass(frozen=True)
class Outcome:
    status_code: int
    body: dict
    location: str | None
    replayed: bool


def fingerprint(payload) -> str:
    """A digest of the request payload that ignores key order and whitespace."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str:
    if key is None:
        raise Problem("idempotency_key_required", 400)
    key = key.strip().strip('"')
    if not _KEY.match(key):
        raise Problem("idempotency_key_invalid", 400)
    return key


def request_scope(method: str, path: str) -> str:
    """What a key is scoped to: the request's method and path (``POST /v1/reports``)."""
    return f"{method} {path}"


def answered(session: Session, *, owner: str, scope: str, key: str) -> bool:
    """Whether a completed request holds this key: a retry with it creates nothing (it gets
    the stored answer, or a 422 if its body differs), so abuse limits need not count it."""
    found = _KEYS.c
    return (
        session.scalar(
            select(found.id).where(
                found.owner == owner,
                found.scope == scope,
                found.key == key,
                found.expires_at > func.now(),
            )
        )
        is not None
    )


def lock_id(owner: str, scope: str, key: str) -> int:
    digest = hashlib.sha256(f"{owner}\n{scope}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def begin(
    session: Session, *, owner: str, scope: str, key: str, request_fingerprint: str
) -> Outcome | None:
    """Claim the key for this transaction: the stored outcome of an earlier identical request,
    or None when the work is to be done now. 409 while another request holds the key; 422 if
    the key was used for a different payload."""
    return begin_with(
        session, _BEGIN, owner=owner, scope=scope, key=key, request_fingerprint=request_fingerprint
    )[0]


def begin_statement(*columns):
    """The statement :func:`begin` runs with more ``columns`` after the claim's (the use
    case's own first reads, needing no lock): one round trip for both. Build it once."""
    return _begin_statement().add_columns(*columns)


def begin_with(
    session: Session, statement, *, owner: str, scope: str, key: str, request_fingerprint: str
):
    """:func:`begin` by ``statement`` (from :func:`begin_statement`); returns its outcome and
    the statement's row, whose added columns the caller reads."""
    row = session.execute(
        statement,
        {"lock": lock_id(owner, scope, key), "owner": owner, "scope": scope, "key": key},
    ).one()
    if not row.acquired:
        raise Conflict("idempotency_in_progress", headers={"Retry-After": "1"})
    record = _Stored.from_row(row.record)
    if record is not None and record.expired:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == record.id))
        record = None
    if record is None:
        return None, row
    if record.fingerprint != request_fingerprint:
        raise Unprocessable("idempotency_key_reused")
    return Outcome(record.status_code, record.body, record.location, replayed=True), row


def complete(
    session: Session,
    *,
    owner: str,
    scope: str,
    key: str,
    request_fingerprint: str,
    status_code: int,
    body: dict,
    location: str | None = None,
) -> Outcome:
    """Record the outcome in the caller's transaction (it commits with the work)."""
    values = {
        "owner": owner,
        "scope": scope,
        "key": key,
        "fingerprint": request_fingerprint,
        "status_code": status_code,
        "body": body,
        "location": location,
    }
    if session.execute(_COMPLETE, values).first() is None:
        raise Conflict("idempotency_in_progress", headers={"Retry-After": "1"})
    return Outcome(status_code, body, location, replayed=False)


def recorded_by(work, *, fields: dict, location) -> CTE:
    """The key's record written by the statement that does the work, instead of by
    :func:`complete` after it: an INSERT ... SELECT from ``work`` (the CTE of the work's
    INSERT ... RETURNING), the stored body (parameter ``body``, as the caller rendered it
    before the work) completed with ``fields`` (name -> column of ``work``), and
    ``location`` (an expression on ``work``). Parameters ``owner``, ``scope``, ``key``,
    ``fingerprint``, ``status_code``, ``body``. Its ``id`` column is empty when a twin
    committed the key first (the caller then answers 409, as :func:`complete` does)."""
    completed = bindparam("body", type_=JSONB).op("||")(
        func.jsonb_build_object(*(part for item in fields.items() for part in item))
    )
    values = select(
        bindparam("owner", type_=String),
        bindparam("scope", type_=String),
        bindparam("key", type_=String),
        bindparam("fingerprint", type_=String),
        bindparam("status_code", type_=Integer),
        completed,
        location,
        func.now() + LIFETIME,
    ).select_from(work)
    found = _KEYS.c
    columns = ("owner", "scope", "key", "fingerprint", "status_code", "body", "location")
    return (
        insert(IdempotencyKey)
        .from_select([*columns, "expires_at"], values)
        .on_conflict_do_nothing()
        .returning(found.id)
        .cte("idempotency_key")
    )


def _begin_statement():
    """The lock, then (in the same statement, so under it) the stored record: one round
    trip. Parameters ``lock``, ``owner``, ``scope``, ``key``."""
    found = _KEYS.c
    return select(
        func.pg_try_advisory_xact_lock(bindparam("lock", type_=BigInteger)).label("acquired"),
        select(
            func.json_build_array(
                found.id,
                found.expires_at <= func.now(),
                found.fingerprint,
                found.status_code,
                found.body,
                found.location,
            )
        )
        .where(
            found.owner == bindparam("owner"),
            found.scope == bindparam("scope"),
            found.key == bindparam("key"),
        )
        .scalar_subquery()
        .label("record"),
    )


# Built once: composing statements per request costs more than running these.
_BEGIN = _begin_statement()
# A twin that took the lock just after this one's snapshot has committed the key: the lock
# and the lookup share one statement, so the unique constraint decides (nothing returned).
_COMPLETE = (
    insert(IdempotencyKey)
    .values(expires_at=func.now() + LIFETIME)
    .on_conflict_do_nothing()
    .returning(IdempotencyKey.id)
)
