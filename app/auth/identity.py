"""Who is calling: the request's token, resolved against our staff table, and role checks."""

import functools
from dataclasses import dataclass, field

from flask import current_app, g, request
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from app.auth.cache import MISS, IdentityCache, StaffRow, current_cache
from app.auth.tokens import Claims, TokenRejected, TokenVerifier, VerifierUnavailable
from app.errors import PROBLEM_DOC, Forbidden, Problem, Unauthorized
from app.extensions import db
from app.organisation.models import Crew, Desk
from app.users.models import ALL_ROLES, Role, User, user_desks

# Reporters that are not people: what Open311 partners file, and the city's sensor feeds.
# Their reports carry uids in these namespaces, apart from Firebase users: no token may name
# one (it would be that reporter, and read the contact details given with its reports).
OPEN311_NAMESPACE = "open311"
SENSOR_NAMESPACE = "sensor"
# What an erased resident's uid is replaced with where a record is kept (app/privacy): a
# tombstone that names nobody, and that no token may carry either.
ERASED_NAMESPACE = "erased"
INTERNAL_NAMESPACES = (OPEN311_NAMESPACE, SENSOR_NAMESPACE, ERASED_NAMESPACE)


def internal_uid(namespace: str, *parts) -> str:
    """The uid of an internal reporter: ``namespace:part:...``."""
    assert namespace in INTERNAL_NAMESPACES, namespace
    return ":".join((namespace, *(str(part) for part in parts)))


def is_internal_uid(uid: str) -> bool:
    """Whether ``uid`` is an internal reporter's, which no person signs in as."""
    return uid.partition(":")[0] in INTERNAL_NAMESPACES and ":" in uid


@dataclass(frozen=True)
class Identity:
    uid: str
    role: Role
    anonymous: bool
    email: str | None
    user_id: int | None = None
    display_name: str | None = None
    desks: tuple[str, ...] = field(default_factory=tuple)
    crew: str | None = None


def resolve(session: Session, claims: Claims, cache: IdentityCache | None = None) -> Identity:
    """The caller's identity: a staff role from our table, otherwise a resident. With
    ``cache``, the table is read only when the uid's row is not cached (app/auth/cache.py:
    what that costs in staleness)."""
    row = cache.get(claims.uid) if cache is not None else MISS
    if row is MISS:
        row = staff_row(session, claims.uid)
        if cache is not None:
            cache.put(claims.uid, row)
    if row is None or not row.active:
        return Identity(
            uid=claims.uid, role=Role.RESIDENT, anonymous=claims.anonymous, email=claims.email
        )
    return Identity(
        uid=claims.uid,
        role=Role(row.role),
        anonymous=claims.anonymous,
        email=claims.email or row.email,
        user_id=row.user_id,
        display_name=row.display_name,
        desks=row.desks,
        crew=row.crew,
    )


def staff_row(session: Session, uid: str) -> StaffRow | None:
    found = session.execute(_RESOLVE, {"uid": uid}).first()
    if found is None:
        return None
    return StaffRow(
        user_id=found.id,
        role=found.role.value if isinstance(found.role, Role) else found.role,
        active=found.active,
        email=found.email,
        display_name=found.display_name,
        desks=tuple(found.desks or ()),
        crew=found.crew,
    )


def _resolve_statement():
    """One round trip per request, no ORM objects: every authenticated call pays for it."""
    desks = (
        select(func.array_agg(aggregate_order_by(Desk.code, Desk.code)))
        .select_from(user_desks.join(Desk, Desk.id == user_desks.c.desk_id))
        .where(user_desks.c.user_id == User.id)
        .scalar_subquery()
    )
    return (
        select(
            User.id,
            User.role,
            User.active,
            User.email,
            User.display_name,
            desks.label("desks"),
            Crew.code.label("crew"),
        )
        .outerjoin(Crew, Crew.id == User.crew_id)
        .where(User.firebase_uid == bindparam("uid"))
    )


_RESOLVE = _resolve_statement()


# Who works every desk's reports; agents work only the desks they are assigned to.
ALL_DESKS_ROLES = (Role.SUPERVISOR, Role.ADMIN)


def works_desk(identity: Identity, desk_code: str | None) -> bool:
    """Whether ``identity`` may work the reports of the desk ``desk_code`` (None: a report
    not placed yet, which only supervisors and admins see)."""
    if identity.role in ALL_DESKS_ROLES:
        return True
    return identity.role == Role.AGENT and desk_code is not None and desk_code in identity.desks


def verifier() -> TokenVerifier:
    return current_app.extensions["signale.token_verifier"]


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


def current_identity() -> Identity:
    """The authenticated caller of this request (401 when there is none or it is invalid)."""
    if "identity" not in g:
        token = bearer_token()
        try:
            claims = verifier().verify(token)
        except TokenRejected as exc:
            if exc.expired:
                raise Unauthorized("token_expired") from exc
            raise Unauthorized("token_invalid", reason=exc.reason) from exc
        except VerifierUnavailable as exc:
            raise Problem("auth_unavailable", 503, headers={"Retry-After": "5"}) from exc
        if is_internal_uid(claims.uid):
            raise Unauthorized("token_uid_reserved")
        g.identity = resolve(db.session, claims, current_cache())
        g.token_expires_at = claims.expires_at
    return g.identity


def roles_required(blp, *roles: Role):
    """Decorate a view: authenticate, then allow only ``roles`` (all roles if none given).

    Also documents the security requirement and the 401/403 responses in OpenAPI.
    """
    allowed = tuple(roles) or ALL_ROLES

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            identity = current_identity()
            if identity.role not in allowed:
                raise Forbidden(
                    "forbidden_role",
                    role=identity.role.value,
                    allowed=", ".join(r.value for r in allowed),
                )
            return view(*args, **kwargs)

        documented = blp.doc(security=[{"firebase": []}])(wrapper)
        documented = blp.alt_response(
            401, description="Missing, invalid or expired token", **PROBLEM_DOC
        )(documented)
        documented = blp.alt_response(
            503, description="Token keys or a dependency unreachable: retry", **PROBLEM_DOC
        )(documented)
        if set(allowed) != set(ALL_ROLES):
            documented = blp.alt_response(
                403,
                description="Role not allowed: " + ", ".join(r.value for r in allowed),
                **PROBLEM_DOC,
            )(documented)
        return documented

    return decorator
