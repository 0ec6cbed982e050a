"""The erasure's rules, at the service: what the desk published stays, staff are refused."""

import pytest
from sqlalchemy import select

from app.auth.identity import Identity
from app.errors import Forbidden
from app.privacy import service
from app.reports.models import Report, ReportContact
from app.users.models import Role
from app.users.service import put_user
from tests.factories import make_report


def resident(uid: str) -> Identity:
    return Identity(uid=uid, role=Role.RESIDENT, anonymous=False, email=None)


def test_the_description_the_desk_published_stays_and_the_reporters_own_goes(session):
    report_id = make_report(
        session,
        reporter="bertille",
        description="Chez Bertille Fauchon, 3 rue Musette",
        public_description="Nid-de-poule devant le 3 rue Musette",
        address="3 rue Musette",
        answers={"size": "large", "unknown_question": "Bertille"},
        contact={"name": "Bertille Fauchon", "email": "b@example.fr"},
    )
    counts, files = service.erase(session, identity=resident("bertille"), request_id=None)
    assert counts["reports"] == counts["contacts"] == 1
    assert files == []
    report = session.get(Report, report_id)
    session.refresh(report)
    assert report.reporter_uid.startswith("erased:")
    assert report.description is None and report.address is None
    assert report.public_description == "Nid-de-poule devant le 3 rue Musette"
    # A choice stays; an answer to a question the category does not have goes.
    assert report.answers == {"size": "large"}
    assert session.scalar(select(ReportContact).where(ReportContact.report_id == report_id)) is None


def test_each_report_gets_its_own_tombstone(session):
    ids = [make_report(session, reporter="camille") for _ in range(2)]
    service.erase(session, identity=resident("camille"), request_id=None)
    uids = {session.get(Report, i).reporter_uid for i in ids}
    assert len(uids) == 2
    assert all(uid.startswith("erased:") and len(uid) == len("erased:") + 32 for uid in uids)


def test_a_deactivated_staff_account_is_still_refused(session):
    put_user(
        session, actor=None, uid="former-agent", role=Role.AGENT, desks=["voirie"], active=False
    )
    # Deactivated, the token resolves to a resident: the staff row is what refuses.
    with pytest.raises(Forbidden) as refused:
        service.erase(session, identity=resident("former-agent"), request_id=None)
    assert refused.value.code == "staff_account_not_erasable"
