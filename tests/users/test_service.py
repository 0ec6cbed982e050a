import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.audit.service import events_for
from app.auth.identity import Identity
from app.errors import Forbidden, NotFound, Unprocessable
from app.users import service
from app.users.models import Role, User

ADMIN = Identity(uid="admin-1", role=Role.ADMIN, anonymous=False, email=None)


def test_an_agent_is_created_with_desks_and_the_write_is_audited(session):
    user, created = service.put_user(
        session,
        actor=ADMIN,
        uid="agent-1",
        role=Role.AGENT,
        desks=["voirie", "eclairage"],
        email="a@dijon.fr",
    )
    assert created
    assert [d.code for d in user.desks] == ["eclairage", "voirie"]
    [event] = events_for(session, "user", "agent-1")
    assert (event.actor_uid, event.action) == ("admin-1", "user.write")


def test_putting_again_replaces_the_assignment(session):
    service.put_user(session, actor=ADMIN, uid="agent-1", role=Role.AGENT, desks=["voirie"])
    user, created = service.put_user(
        session, actor=ADMIN, uid="agent-1", role=Role.SUPERVISOR, desks=["proprete"]
    )
    assert not created
    assert user.role == Role.SUPERVISOR
    assert [d.code for d in user.desks] == ["proprete"]
    assert session.scalar(select(User).where(User.firebase_uid == "agent-1")) is user


@pytest.mark.parametrize(
    ("role", "desks", "crew", "field"),
    [
        (Role.RESIDENT, [], None, "role"),
        (Role.AGENT, [], None, "desks"),
        (Role.SUPERVISOR, [], None, "desks"),
        (Role.CREW, [], None, "crew"),
        (Role.CREW, ["voirie"], "voirie-nord", "desks"),
        (Role.AGENT, ["voirie"], "voirie-nord", "crew"),
        (Role.PRIVACY_OFFICER, ["voirie"], None, "desks"),
        (Role.PRIVACY_OFFICER, [], "voirie-nord", "crew"),
    ],
)
def test_inconsistent_assignments_are_refused_with_the_field_named(
    session, crew_code, role, desks, crew, field
):
    with pytest.raises(Unprocessable) as caught:
        service.put_user(session, actor=ADMIN, uid="x", role=role, desks=desks, crew=crew)
    assert caught.value.code == "role_assignment_invalid"
    assert field in caught.value.errors["json"]
    assert session.scalar(select(User).where(User.firebase_uid == "x")) is None


def test_a_privacy_officer_is_created_by_an_admin_with_no_desk_and_no_crew(session):
    user, created = service.put_user(
        session, actor=ADMIN, uid="cnil-1", role=Role.PRIVACY_OFFICER, email="cnil@dijon.fr"
    )
    assert created and user.role == Role.PRIVACY_OFFICER
    assert (user.desks, user.crew) == ([], None)
    [event] = events_for(session, "user", "cnil-1")
    assert (event.actor_uid, event.action) == ("admin-1", "user.write")


def test_unknown_desks_and_crews_are_named(session):
    with pytest.raises(Unprocessable) as caught:
        service.put_user(
            session, actor=ADMIN, uid="x", role=Role.AGENT, desks=["voirie", "nowhere", "moon"]
        )
    assert caught.value.code == "unknown_desk"
    assert caught.value.params["codes"] == "moon, nowhere"
    session.rollback()
    with pytest.raises(Unprocessable) as caught:
        service.put_user(session, actor=ADMIN, uid="x", role=Role.CREW, crew="ghost")
    assert caught.value.code == "unknown_crew"


def test_a_crew_member_belongs_to_a_crew(session, crew_code):
    user, _ = service.put_user(session, actor=None, uid="c1", role=Role.CREW, crew=crew_code)
    assert user.crew.code == crew_code
    assert user.crew.desk.code == "voirie"


def test_an_admin_cannot_demote_or_remove_themselves(session):
    service.put_user(session, actor=None, uid="admin-1", role=Role.ADMIN)
    with pytest.raises(Forbidden):
        service.put_user(session, actor=ADMIN, uid="admin-1", role=Role.AGENT, desks=["voirie"])
    session.rollback()
    with pytest.raises(Forbidden):
        service.put_user(session, actor=ADMIN, uid="admin-1", role=Role.ADMIN, active=False)
    session.rollback()
    with pytest.raises(Forbidden):
        service.remove_user(session, actor=ADMIN, uid="admin-1")
    session.rollback()
    assert session.scalar(select(User.role).where(User.firebase_uid == "admin-1")) == Role.ADMIN


def test_reads_of_staff_records_are_audited(session):
    service.put_user(session, actor=None, uid="agent-1", role=Role.AGENT, desks=["voirie"])
    service.get_user(session, actor=ADMIN, uid="agent-1", request_id="req-1")
    page = service.list_users(session, actor=ADMIN, role=None, after=None, limit=10)
    assert [u.firebase_uid for u in page["items"]] == ["agent-1"]
    actions = [
        (e.action, e.subject_id, e.request_id, e.details)
        for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    ]
    assert actions == [
        ("user.read", "agent-1", "req-1", {}),
        ("user.list", "*", None, {"uids": ["agent-1"]}),
    ]


def test_removing_a_missing_user_is_not_found(session):
    with pytest.raises(NotFound):
        service.remove_user(session, actor=ADMIN, uid="nobody")


def test_a_uid_longer_than_firebase_allows_is_refused(session):
    with pytest.raises(Unprocessable):
        service.put_user(session, actor=ADMIN, uid="u" * 129, role=Role.ADMIN)


def test_a_deactivated_staff_member_is_only_a_resident(session):
    from app.auth.identity import resolve
    from app.auth.tokens import Claims

    service.put_user(
        session, actor=None, uid="gone", role=Role.AGENT, desks=["voirie"], active=False
    )
    identity = resolve(
        session, Claims(uid="gone", sign_in_provider="password", email=None, email_verified=False)
    )
    assert identity.role == Role.RESIDENT
    assert identity.desks == ()
