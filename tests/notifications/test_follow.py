"""Following a report: a resident who follows it is told of its public changes, and is
not once they unfollow (a supporter included)."""

from sqlalchemy import select

from app.extensions import db
from app.notifications.models import Notification
from app.reports.models import ReportFollower
from app.users.models import Role
from tests.factories import make_report
from tests.triage.helpers import act


def told(app, uid) -> list[str]:
    with app.app_context():
        kinds = db.session.scalars(
            select(Notification.kind).where(Notification.uid == uid).order_by(Notification.id)
        ).all()
        db.session.remove()
    return list(kinds)


def followers(app, report_id) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(
            select(ReportFollower.uid, ReportFollower.reason).where(
                ReportFollower.report_id == report_id
            )
        ).all()
        db.session.remove()
    return dict(rows)


def test_a_follower_is_told_of_a_triage_action_and_no_longer_once_unfollowed(app, client, auth):
    report_id = make_report(app, reporter="ana")
    ben = auth(Role.RESIDENT, uid="ben")
    response = client.post(f"/v1/reports/{report_id}/follow", headers=ben)
    assert response.status_code == 200
    assert response.get_json() == {"report_id": report_id, "following": True}
    assert followers(app, report_id) == {"ben": "follow"}

    assert act(client, auth(Role.AGENT), report_id, "acknowledge").status_code == 200
    assert told(app, "ben") == ["acknowledged"]

    assert client.delete(f"/v1/reports/{report_id}/follow", headers=ben).status_code == 204
    assert followers(app, report_id) == {}
    message = {"fr": "Passage lundi", "en": "Coming on Monday"}
    response = act(client, auth(Role.AGENT), report_id, "public_update", {"message": message})
    assert response.status_code == 200
    assert told(app, "ben") == ["acknowledged"]
    assert told(app, "ana") == ["acknowledged", "update"]


def test_following_twice_is_one_follow_and_unfollowing_when_not_following_is_fine(
    app, client, auth
):
    report_id = make_report(app, reporter="ana")
    ben = auth(Role.RESIDENT, uid="ben")
    for _ in range(2):
        assert client.post(f"/v1/reports/{report_id}/follow", headers=ben).status_code == 200
    assert followers(app, report_id) == {"ben": "follow"}
    for _ in range(2):
        assert client.delete(f"/v1/reports/{report_id}/follow", headers=ben).status_code == 204
    act(client, auth(Role.AGENT), report_id, "acknowledge")
    assert told(app, "ben") == []


def test_following_ones_own_report_is_a_no_op_success_and_the_reporter_is_still_told(
    app, client, auth
):
    report_id = make_report(app, reporter="ana")
    ana = auth(Role.RESIDENT, uid="ana")
    response = client.post(f"/v1/reports/{report_id}/follow", headers=ana)
    assert response.status_code == 200 and response.get_json()["following"] is True
    assert followers(app, report_id) == {}
    assert client.delete(f"/v1/reports/{report_id}/follow", headers=ana).status_code == 204
    act(client, auth(Role.AGENT), report_id, "acknowledge")
    assert told(app, "ana") == ["acknowledged"]


def test_a_supporter_who_unfollows_is_no_longer_told_but_still_counts(app, client, auth):
    report_id = make_report(app, reporter="ana")
    ben = auth(Role.RESIDENT, uid="ben")
    assert client.post(f"/v1/reports/{report_id}/support", headers=ben).status_code == 200
    assert followers(app, report_id) == {"ben": "supporter"}
    assert client.delete(f"/v1/reports/{report_id}/follow", headers=ben).status_code == 204
    act(client, auth(Role.AGENT), report_id, "acknowledge")
    assert told(app, "ben") == []
    report = client.get(f"/v1/reports/{report_id}", headers=ben).get_json()
    assert report["support_count"] == 1


def test_following_an_unknown_report_is_a_404_problem(app, client, auth):
    ben = auth(Role.RESIDENT, uid="ben")
    for method in ("post", "delete"):
        response = getattr(client, method)("/v1/reports/999999/follow", headers=ben)
        assert response.status_code == 404
        assert response.content_type == "application/problem+json"
        assert response.get_json()["code"] == "report_not_found"
