"""The demo staff and history `make run` loads (``python -m tools.demo staff seed`` and
``history generate --if-empty``): every state, histories the triage table allows and the
service would have written, photos served, notifications where the service writes them,
accounts with the right roles; on the real database, at an injected ``now``, small."""

import io
from datetime import timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from flask import g
from geoalchemy2 import WKTElement
from PIL import Image
from sqlalchemy import func, select, update

from app.assets.models import Asset
from app.auth.tokens import mint_emulator_token
from app.categories.models import Category
from app.extensions import db
from app.notifications.models import Notification
from app.organisation.models import Crew, Desk
from app.photos.models import Photo
from app.reports.models import STATUSES, Report, ReportFollower, ReportSupporter
from app.triage import templates, transitions
from app.triage.models import ReportEvent
from app.triage.schemas import RESOLUTION_CODES
from app.users.models import Role, User
from tests.conftest import PROJECT_ID
from tools.demo import cli as demo_cli
from tools.generators import history, organisation, staff

SIZE = 160  # small: the states, desks and crews are all there at this size
# Street lights near Dijon's centre, for the sensor-opened tickets.
LIGHTS = [(f"SL-T{n}", 5.035 + n * 0.001, 47.322) for n in range(1, 9)]


@pytest.fixture
def organised(session):
    """The demo organisation, a few street lights and the demo staff, as `make run` has
    them before the history."""
    organisation.seed_rules(session)
    organisation.seed_crews(session)
    session.add_all(
        Asset(
            kind="street_light",
            reference=reference,
            geom=WKTElement(f"POINT({lon} {lat})", srid=4326),
            commune_insee="21231",
        )
        for reference, lon, lat in LIGHTS
    )
    session.commit()
    staff.seed_staff(session)
    return session


@pytest.fixture
def now(now):
    """The latest noon in Dijon before the database's clock: what a history draws (crews at
    work or not, the states reached by a given age) follows the hour it is generated at, so
    the seeded history is the same whatever the hour the test runs."""
    local = now.astimezone(ZoneInfo("Europe/Paris"))
    noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
    # Back in UTC: arithmetic on a Paris time is wall-clock arithmetic (an hour off across
    # a change of summer time).
    return (noon if noon <= local else noon - timedelta(days=1)).astimezone(now.tzinfo)


@pytest.fixture
def loaded(organised, now):
    counts = history.generate(organised, size=SIZE, now=now, seed=3)
    return counts


def by_report(session) -> dict[int, list[ReportEvent]]:
    events = {}
    for event in session.scalars(select(ReportEvent).order_by(ReportEvent.id)):
        events.setdefault(event.report_id, []).append(event)
    return events


def test_the_history_has_every_state_and_each_report_s_history_leads_to_it(session, loaded, now):
    reports = list(session.scalars(select(Report)))
    assert len(reports) == loaded["reports"] >= SIZE
    assert {r.status for r in reports} == set(STATUSES)
    events = by_report(session)
    crews = {c.id: c for c in session.scalars(select(Crew))}
    for report in reports:
        assert now - timedelta(days=history.DAYS) <= report.created_at <= now
        assert report.due_at == report.created_at + timedelta(
            hours=report.category.service_level_hours
        )
        mine = events.get(report.id, [])
        # Each action claimed a version; no event: as intake left it.
        assert report.version == 1 + len(mine)
        if not mine:
            assert report.status in ("new", "duplicate"), report.reference
            continue
        assert mine[-1].to_status == report.status, report.reference
        assert mine[0].from_status == "new"
        previous_at = report.created_at
        for before, event in zip([None, *mine], mine, strict=False):
            if before is not None:
                assert event.from_status == before.to_status
            assert previous_at <= event.created_at <= now
            previous_at = event.created_at
            # Every step is one the transition table allows its role from that state.
            entry = transitions.ENTRIES[event.action]
            assert any(
                Role(event.actor_role) in roles and event.from_status in froms
                for froms, _to, roles, *_ in entry.rows
            ), (event.action, event.actor_role, event.from_status)
            assert event.desk_id == report.desk_id
        if report.status in ("assigned", "in_progress"):
            assert crews[report.crew_id].desk_id == report.desk_id
            held_by = [e for e in mine if e.action == "assign"][-1].details["crew"][1]
            assert crews[report.crew_id].code == held_by
        if report.status in ("resolved", "closed"):
            resolution = [e for e in mine if e.action == "resolve"][-1]
            assert resolution.reason_code in RESOLUTION_CODES
            assert resolution.actor_uid == staff.crew_member_uid(crews[resolution.crew_id].code)
        if report.status == "rejected":
            assert mine[-1].reason_code in ("not_our_problem", "not_our_responsibility",
                                            "not_found_on_site")  # fmt: skip
    assert loaded["events"] == sum(len(e) for e in events.values())


def test_the_actors_are_the_demo_staff_of_the_report_s_desk_and_crew(session, loaded):
    users = {u.firebase_uid: u for u in session.scalars(select(User))}
    desks = {d.id: d.code for d in session.scalars(select(Desk))}
    crews = {c.id: c.code for c in session.scalars(select(Crew))}
    reports = {r.id: r for r in session.scalars(select(Report))}
    for event in session.scalars(select(ReportEvent)):
        if event.actor_role == "resident":
            # A resident's reopen: the reporter's own.
            assert event.action == "reopen"
            assert event.actor_uid == reports[event.report_id].reporter_uid
            continue
        user = users[event.actor_uid]
        assert user.role.value == event.actor_role
        if user.role == Role.AGENT:
            assert desks[event.desk_id] in [d.code for d in user.desks]
        if user.role == Role.CREW:
            assert user.crew.code == crews[event.crew_id]


def test_residents_are_told_of_public_events_as_the_service_tells_them(session, loaded):
    events = {e.id: e for e in session.scalars(select(ReportEvent))}
    reports = {r.id: r for r in session.scalars(select(Report))}
    notified = {}
    for notification in session.scalars(select(Notification)):
        notified.setdefault(notification.event_id, []).append(notification)
    assert notified
    supporters = {}
    for supporter in session.scalars(select(ReportSupporter)):
        supporters.setdefault(supporter.report_id, []).append(supporter)
    for event in events.values():
        told = notified.get(event.id, [])
        if not event.public:
            assert told == []
            continue
        report = reports[event.report_id]
        expected = {
            s.uid for s in supporters.get(report.id, []) if s.created_at <= event.created_at
        }
        if not report.reporter_uid.startswith("sensor:"):
            expected.add(report.reporter_uid)
        expected.discard(event.actor_uid)
        assert {n.uid for n in told} == expected, report.reference
        for notification in told:
            kind = event.to_status if event.from_status != event.to_status else "update"
            assert notification.kind == kind
            assert notification.created_at == event.created_at
            assert notification.data == {
                "report_id": str(report.id),
                "reference": report.reference,
                "status": event.to_status,
                "kind": kind,
            }
            assert report.reference in notification.title
            words = event.message_en if notification.language == "en" else event.message_fr
            assert notification.body == words


def test_the_messages_are_the_templates_the_pipeline_publishes(session, loaded):
    """What residents read is what app.triage.templates.publish writes for the same step."""
    checked = 0
    for event in session.scalars(
        select(ReportEvent).where(ReportEvent.public, ReportEvent.action != "public_update")
    ):
        report = session.get(Report, event.report_id)
        again = SimpleNamespace(
            details=event.details,
            action=event.action,
            from_status=event.from_status,
            to_status=event.to_status,
            reason_code=event.reason_code,
        )
        templates.publish(session, report, again, {})
        assert (again.public, again.message_fr, again.message_en) == (
            True,
            event.message_fr,
            event.message_en,
        )
        checked += 1
    assert checked > 50


def test_supporters_duplicates_and_sensor_tickets_are_as_intake_and_support_leave_them(
    session, loaded
):
    reports = list(session.scalars(select(Report)))
    for report in reports:
        supporters = list(
            session.scalars(select(ReportSupporter).where(ReportSupporter.report_id == report.id))
        )
        assert report.support_count == len(supporters)
        assert report.anonymous_support_count == sum(s.anonymous for s in supporters)
        followers = set(
            session.scalars(select(ReportFollower.uid).where(ReportFollower.report_id == report.id))
        )
        assert followers == {s.uid for s in supporters}
    duplicates = [r for r in reports if r.status == "duplicate"]
    assert duplicates
    for duplicate in duplicates:
        original = session.get(Report, duplicate.duplicate_of_id)
        assert original.category_id == duplicate.category_id
        assert original.created_at < duplicate.created_at
        assert duplicate.routing["duplicate"]["report_id"] == original.id
        assert duplicate.reporter_uid in set(
            session.scalars(
                select(ReportSupporter.uid).where(ReportSupporter.report_id == original.id)
            )
        )
    sensor = [r for r in reports if r.source == "sensor"]
    assert sensor
    references = {reference for reference, *_ in LIGHTS}
    for ticket in sensor:
        assert ticket.reporter_uid == f"sensor:{history.SENSOR_FEED}"
        assert ticket.category.code == "streetlight_out"
        assert session.get(Asset, ticket.asset_id).reference in references
        assert "Panne signalée automatiquement" in ticket.description
    assert any(t.status in ("new", "acknowledged", "assigned", "in_progress") for t in sensor)
    # French first, a few in English.
    languages = {r.language for r in reports}
    assert languages == {"fr", "en"}


def test_photos_are_served_to_the_report_s_desk(session, loaded, client):
    photo = session.scalar(select(Photo).where(Photo.kind == "report").order_by(Photo.id).limit(1))
    after = session.scalar(select(Photo).where(Photo.kind == "after").limit(1))
    assert photo is not None and after is not None
    report = session.get(Report, photo.report_id)
    agent = staff.agent_uid(
        next(d for d, covered in staff.AGENT_DESKS.items() if report.desk.code in covered)
    )
    token = mint_emulator_token(PROJECT_ID, agent)
    answer = client.get(f"/v1/reports/{report.id}", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.json
    shown = [p for p in answer.json["photos"] if p["id"] == photo.id]
    assert shown and shown[0]["status"] == "ready"
    for url in (shown[0]["url"], shown[0]["thumbnail_url"]):
        image = client.get(url)
        assert image.status_code == 200 and image.mimetype == "image/jpeg"
        picture = Image.open(io.BytesIO(image.data))
        assert max(picture.size) <= 2048
        assert not picture.getexif()  # the pipeline stripped the metadata
    assert session.scalar(select(func.count()).select_from(Photo)) == loaded["photos"]


def test_the_history_goes_on_under_the_service(session, loaded, client):
    """A demo crew member starts a ticket the history assigned to their crew: the version,
    crew and state are what the real pipeline expects."""
    report = session.scalar(
        select(Report).where(Report.status == "assigned").order_by(Report.id).limit(1)
    )
    crew = session.get(Crew, report.crew_id)
    token = mint_emulator_token(PROJECT_ID, staff.crew_member_uid(crew.code))
    answer = client.post(
        f"/v1/reports/{report.id}/actions/start",
        json={},
        headers={"Authorization": f"Bearer {token}", "If-Match": f'"{report.version}"'},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] == "in_progress"
    # Another crew's member may not.
    other = session.scalar(
        select(Crew).where(Crew.id != crew.id, Crew.desk_id == crew.desk_id).limit(1)
    ) or session.scalar(select(Crew).where(Crew.id != crew.id).limit(1))
    token = mint_emulator_token(PROJECT_ID, staff.crew_member_uid(other.code))
    # The test's application context (the session fixture's) is the requests' too: forget
    # the caller the first request resolved, as a new request's context would.
    g.pop("identity", None)
    refused = client.post(
        f"/v1/reports/{report.id}/actions/resolve",
        json={"resolution": "repaired"},
        headers={"Authorization": f"Bearer {token}", "If-Match": answer.headers["ETag"]},
    )
    assert refused.status_code == 403


def test_staff_accounts_have_their_roles_desks_and_crews_and_seeding_again_changes_nothing(
    organised,
):
    session = organised
    desks = sorted(session.scalars(select(Desk.code)))
    crews = sorted(session.scalars(select(Crew.code)))
    first = {u.firebase_uid: u for u in session.scalars(select(User))}
    staff.seed_staff(session)
    again = {u.firebase_uid: u for u in session.scalars(select(User))}
    assert sorted(again) == sorted(first)
    assert all(uid.startswith("demo-") for uid in again)
    assert again["demo-agent-voirie"].role == Role.AGENT
    assert [d.code for d in again["demo-agent-voirie"].desks] == ["voirie"]
    assert sorted(d.code for d in again["demo-agent-eclairage"].desks) == [
        "circulation",
        "eclairage",
    ]
    assert sorted(d.code for d in again["demo-supervisor"].desks) == desks
    assert again["demo-supervisor"].role == Role.SUPERVISOR
    assert again["demo-admin"].role == Role.ADMIN and again["demo-admin"].desks == []
    members = {uid: u for uid, u in again.items() if u.role == Role.CREW}
    assert sorted(u.crew.code for u in members.values()) == crews
    assert all(uid == f"demo-crew-{u.crew.code}" for uid, u in members.items())
    # Every desk is someone's (an agent's), the fallback desk included.
    covered = {d.code for u in again.values() if u.role == Role.AGENT for d in u.desks}
    assert covered == set(desks)


@pytest.fixture
def demo(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(demo_cli, args=list(args))


def test_if_empty_loads_the_history_once(organised, demo):
    first = demo("history", "generate", "--if-empty", "--size", "40")
    assert first.exit_code == 0, first.output
    assert "history: " in first.output and "reports" in first.output
    counts = [
        organised.scalar(select(func.count()).select_from(table))
        for table in (Report, ReportEvent, Notification, Photo)
    ]
    assert counts[0] >= 40
    second = demo("history", "generate", "--if-empty", "--size", "40")
    assert second.exit_code == 0, second.output
    assert "kept (already loaded)" in second.output
    assert [
        organised.scalar(select(func.count()).select_from(table))
        for table in (Report, ReportEvent, Notification, Photo)
    ] == counts


def test_the_history_command_seeds_the_staff_it_needs_when_there_is_none(session, demo):
    organisation.seed_rules(session)
    organisation.seed_crews(session)
    result = demo("history", "generate", "--if-empty", "--size", "20")
    assert result.exit_code == 0, result.output
    assert "demo accounts (demo-*)" in result.output
    actors = set(
        session.scalars(select(ReportEvent.actor_uid).where(ReportEvent.actor_role != "resident"))
    )
    accounts = set(session.scalars(select(User.firebase_uid)))
    assert actors and actors <= accounts


def test_the_staff_command_lists_the_accounts_it_put(organised, demo):
    result = demo("staff", "seed")
    assert result.exit_code == 0, result.output
    assert "demo-agent-voirie: agent (voirie)" in result.output
    assert "demo-admin: admin (-)" in result.output
    # Once there (make run's start-ups after the first), they are left as admins edited them.
    organised.execute(update(User).where(User.firebase_uid == "demo-admin").values(active=False))
    organised.commit()
    kept = demo("staff", "seed", "--if-empty")
    assert kept.exit_code == 0 and "kept (demo accounts exist)" in kept.output
    assert organised.scalar(select(User.active).where(User.firebase_uid == "demo-admin")) is False


def test_without_an_active_category_nothing_is_written_and_the_command_says_why(organised, demo):
    organised.execute(update(Category).values(active=False))
    organised.commit()
    result = demo("history", "generate", "--size", "20")
    assert result.exit_code == 1
    assert "no active category" in result.output
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0
