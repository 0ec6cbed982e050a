"""Notification titles are editable per kind, in French and English, by supervisors and
admins (as the triage message templates): an edited title reaches the next notifications;
a kind never edited keeps the shipped title."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.notifications.kinds import KINDS
from app.notifications.models import Device, Notification
from app.users.models import Role
from tests.factories import make_report
from tests.triage.helpers import act


def notifications(app) -> list[Notification]:
    with app.app_context():
        found = list(db.session.scalars(select(Notification).order_by(Notification.uid)))
        db.session.expunge_all()
        db.session.remove()
    return found


def english_device(app, uid: str) -> None:
    with app.app_context():
        db.session.add(Device(uid=uid, token=f"{uid}-phone", platform="ios", locale="en-US"))
        db.session.commit()
        db.session.remove()


def test_every_kind_is_listed_with_its_shipped_title_and_placeholders(client, auth):
    response = client.get("/v1/notification-titles", headers=auth(Role.AGENT))
    assert response.status_code == 200
    titles = {row["kind"]: row for row in response.get_json()}
    assert set(titles) == set(KINDS)
    resolved = titles["resolved"]
    assert (resolved["text_fr"], resolved["text_en"]) == KINDS["resolved"].title
    assert resolved["edited"] is False and resolved["updated_by"] is None
    assert resolved["placeholders"] == ["reference"]
    assert titles["area_alert"]["placeholders"] == ["area", "count"]


def test_an_edited_title_reaches_new_notifications_in_both_languages(app, client, auth):
    edited = {"text_fr": "On s'en occupe ({reference})", "text_en": "On it ({reference})"}
    supervisor = auth(Role.SUPERVISOR, uid="sue")
    response = client.put("/v1/notification-titles/acknowledged", headers=supervisor, json=edited)
    assert response.status_code == 200
    assert response.get_json()["edited"] is True and response.get_json()["updated_by"] == "sue"
    listed = client.get("/v1/notification-titles", headers=supervisor).get_json()
    assert {"kind": "acknowledged", **edited}.items() <= next(
        row for row in listed if row["kind"] == "acknowledged"
    ).items()

    fr_report = make_report(app, reporter="ana")
    en_report = make_report(app, reporter="bob")
    english_device(app, "bob")
    for report_id in (fr_report, en_report):
        assert act(client, auth(Role.AGENT), report_id, "acknowledge").status_code == 200
    ana, bob = notifications(app)
    assert ana.language == "fr" and ana.title == f"On s'en occupe ({ana.data['reference']})"
    assert bob.language == "en" and bob.title == f"On it ({bob.data['reference']})"


def test_kinds_not_edited_keep_the_shipped_title(app, client, auth):
    edited = {"text_fr": "Réparé", "text_en": "Fixed"}
    assert (
        client.put(
            "/v1/notification-titles/resolved", headers=auth(Role.ADMIN), json=edited
        ).status_code
        == 200
    )
    fr_report = make_report(app, reporter="ana")
    en_report = make_report(app, reporter="bob")
    english_device(app, "bob")
    for report_id in (fr_report, en_report):
        assert act(client, auth(Role.AGENT), report_id, "acknowledge").status_code == 200
    ana, bob = notifications(app)
    fr, en = KINDS["acknowledged"].title
    assert ana.title == fr.format(reference=ana.data["reference"])
    assert bob.title == en.format(reference=bob.data["reference"])


def test_editing_again_replaces_the_title(client, auth):
    supervisor = auth(Role.SUPERVISOR)
    url = "/v1/notification-titles/update"
    client.put(url, headers=supervisor, json={"text_fr": "Un", "text_en": "One"})
    again = client.put(url, headers=supervisor, json={"text_fr": "Deux", "text_en": "Two"})
    assert again.status_code == 200
    assert (again.get_json()["text_fr"], again.get_json()["text_en"]) == ("Deux", "Two")


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("resolved", {"text_fr": "Fini {desk}", "text_en": "Done"}, "text_fr"),
        ("resolved", {"text_fr": "Fini", "text_en": "Done {count}"}, "text_en"),
        ("resolved", {"text_fr": "Fini {reference!r}", "text_en": "Done"}, "text_fr"),
        ("resolved", {"text_fr": "Fini {", "text_en": "Done"}, "text_fr"),
        ("area_alert", {"text_fr": "{count} près de {area}", "text_en": "{reference}"}, "text_en"),
    ],
)
def test_an_unknown_placeholder_is_refused_with_those_allowed(client, auth, kind, body, field):
    response = client.put(f"/v1/notification-titles/{kind}", headers=auth(Role.ADMIN), json=body)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "invalid_title"
    assert list(problem["errors"]["json"]) == [field]
    allowed = "{area}, {count}" if kind == "area_alert" else "{reference}"
    assert allowed in problem["detail"]
    listed = client.get("/v1/notification-titles", headers=auth(Role.ADMIN)).get_json()
    assert not any(row["edited"] for row in listed)


def test_an_unknown_kind_is_refused(client, auth):
    response = client.put(
        "/v1/notification-titles/exploded",
        headers=auth(Role.ADMIN),
        json={"text_fr": "x", "text_en": "y"},
    )
    assert response.status_code == 422
    assert "kind" in response.get_json()["errors"]["path"]


def test_an_edited_area_alert_title_is_used(app, client, auth):
    from tests.notifications.test_area_alerts import minutes, run, subscribe

    edited = {"text_fr": "{count} à {area}", "text_en": "{count} in {area}"}
    assert (
        client.put(
            "/v1/notification-titles/area_alert", headers=auth(Role.ADMIN), json=edited
        ).status_code
        == 200
    )
    zoe = auth(Role.RESIDENT, uid="zoe")
    subscribe(app, client, zoe, {"commune": "21231"})
    make_report(app, created_at=minutes(5))
    assert run(app, minutes(20)) == 1
    [alert] = [n for n in notifications(app) if n.uid == "zoe"]
    assert alert.title == "1 à Dijon"
