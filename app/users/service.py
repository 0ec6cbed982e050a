"""Use cases of the users domain: managing staff accounts and their assignments."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.auth.cache import staff_changed
from app.auth.identity import INTERNAL_NAMESPACES, Identity, is_internal_uid
from app.errors import Forbidden, NotFound, Unprocessable
from app.organisation.service import crew_by_code, desks_by_code
from app.pagination import paginate
from app.users.models import Role, User

ROLE_NEEDS_DESKS = (Role.AGENT, Role.SUPERVISOR)
ROLE_WITHOUT_DESKS = (Role.PRIVACY_OFFICER,)


def list_users(
    session: Session,
    *,
    actor: Identity,
    role: Role | None,
    after: list | None,
    limit: int,
    request_id: str | None = None,
) -> dict:
    """A page of staff accounts, ordered by uid. The read is audited."""
    query = select(User).order_by(User.firebase_uid).limit(limit + 1)
    if role is not None:
        query = query.where(User.role == role)
    if after is not None:
        query = query.where(User.firebase_uid > str(after[0]))
    page = paginate(list(session.scalars(query)), limit, lambda u: [u.firebase_uid])
    _audit(
        session, actor, "user.list", "*", request_id, uids=[u.firebase_uid for u in page["items"]]
    )
    session.commit()
    return page


def get_user(session: Session, *, actor: Identity, uid: str, request_id: str | None = None) -> User:
    """One staff account. The read is audited."""
    user = _find(session, uid)
    _audit(session, actor, "user.read", uid, request_id)
    session.commit()
    return user


def put_user(
    session: Session,
    *,
    actor: Identity | None,
    uid: str,
    role: Role,
    display_name: str | None = None,
    email: str | None = None,
    desks: list[str] | None = None,
    crew: str | None = None,
    active: bool = True,
    request_id: str | None = None,
) -> tuple[User, bool]:
    """Create or replace a staff account; returns it and whether it was created.

    ``actor`` is None when an operator runs the CLI on the server.
    """
    desks = desks or []
    if not 0 < len(uid) <= 128:
        raise Unprocessable(
            "validation_failed",
            errors={"path": {"uid": ["a Firebase uid has 1 to 128 characters"]}},
        )
    if is_internal_uid(uid):  # no token may carry it: nobody could sign in as this account
        reserved = ", ".join(f"{namespace}:" for namespace in INTERNAL_NAMESPACES)
        raise Unprocessable(
            "validation_failed",
            errors={"path": {"uid": [f"uids starting with {reserved} are reserved"]}},
        )
    _check_assignment(role, desks, crew)
    user = session.scalar(select(User).where(User.firebase_uid == uid))
    if actor is not None and actor.uid == uid and (role != Role.ADMIN or not active):
        raise Forbidden("cannot_demote_self")
    created = user is None
    if created:
        user = User(firebase_uid=uid)
        session.add(user)
    user.role = role
    user.display_name = display_name
    user.email = email
    user.active = active
    user.desks = desks_by_code(session, desks) if desks else []
    user.crew = crew_by_code(session, crew) if crew else None
    if actor is not None:
        _audit(session, actor, "user.write", uid, request_id, role=role.value)
    staff_changed(session, uid)
    session.commit()
    return user, created


def remove_user(
    session: Session, *, actor: Identity | None, uid: str, request_id: str | None = None
) -> None:
    """Delete a staff account: the person keeps signing in, as a resident."""
    user = _find(session, uid)
    if actor is not None and actor.uid == uid:
        raise Forbidden("cannot_demote_self")
    session.delete(user)
    if actor is not None:
        _audit(session, actor, "user.delete", uid, request_id)
    staff_changed(session, uid)
    session.commit()


def _audit(session: Session, actor: Identity, action: str, uid: str, request_id, **details):
    audit.record(
        session,
        actor=actor,
        action=action,
        subject_type="user",
        subject_id=uid,
        request_id=request_id,
        **details,
    )


def _find(session: Session, uid: str) -> User:
    user = session.scalar(select(User).where(User.firebase_uid == uid))
    if user is None:
        raise NotFound("user_not_found", uid=uid)
    return user


def _check_assignment(role: Role, desks: list[str], crew: str | None) -> None:
    def invalid(field: str, detail: str):
        return Unprocessable(
            "role_assignment_invalid", detail=detail, errors={"json": {field: [detail]}}
        )

    if role == Role.RESIDENT:
        raise invalid("role", "residents have no staff account; DELETE the account instead")
    if role == Role.CREW:
        if not crew:
            raise invalid("crew", "a crew member must belong to a crew")
        if desks:
            raise invalid("desks", "a crew member works through their crew's desk, not desks")
    elif crew:
        raise invalid("crew", f"only crew members belong to a crew, not the {role.value} role")
    if role in ROLE_WITHOUT_DESKS and desks:
        raise invalid("desks", f"the {role.value} role works no desk: it reads no report")
    if role in ROLE_NEEDS_DESKS and not desks:
        raise invalid("desks", f"the {role.value} role needs at least one desk")
