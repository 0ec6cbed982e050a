"""What each action does beyond the state: who may reach which report, crews, desks,
categories routed again, merges moving supporters and followers."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.assets.service import put_asset
from app.extensions import db
from app.organisation.models import Crew
from app.organisation.service import create_rule, put_crew
from app.reports.models import STATUSES, Report, ReportFollower, ReportSupporter
from app.reports.service import add_support
from app.triage import access, transitions
from app.users.models import Role
from tests.factories import DIJON, add_event, make_report
from tests.triage.helpers import act, database_now, etag_of, history

# Around central Dijon (as tests/routing/test_choice.py): DIJON is in WEST only.
WEST = [[[5.00, 47.30], [5.10, 47.30], [5.10, 47.35], [5.00, 47.35], [5.00, 47.30]]]
EAST = [[[5.05, 47.30], [5.15, 47.30], [5.15, 47.35], [5.05, 47.35], [5.05, 47.30]]]


def polygon(rings):
    return {"type": "Polygon", "coordinates": rings}


@pytest.fixture
def setup(app):
    """Run ``fn(session)`` in an app context and commit."""

    def run(fn):
        with app.app_context():
            result = fn(db.session)
            db.session.commit()
            db.session.remove()
        return result

    return run


def crew_named(setup, code, desk, **fields):
    setup(lambda s: put_crew(s, code=code, name=code, desk=desk, **fields))


# --- who may reach which report -------------------------------------------------------------


def test_an_agent_acts_only_on_reports_of_their_desks_a_supervisor_on_any(app, client, auth):
    report_id = make_report(app, desk="allo-mairie", crew=None)
    response = act(client, auth(Role.AGENT), report_id, "acknowledge")
    assert response.status_code == 403
    assert response.get_json()["code"] == "not_your_desk"
    # The fixture's supervisor has voirie and eclairage; supervisors work every desk.
    assert act(client, auth(Role.SUPERVISOR), report_id, "acknowledge").status_code == 200


def test_a_crew_acts_only_on_tickets_assigned_to_it(app, client, auth, setup):
    crew_named(setup, "voirie-sud", "voirie")
    theirs = make_report(app, status="assigned", crew="voirie-nord")
    other = make_report(app, status="assigned", crew="voirie-sud")
    crew = auth(Role.CREW)
    response = act(client, crew, other, "start", staff_headers=auth(Role.AGENT))
    assert response.status_code == 403
    assert response.get_json()["code"] == "not_your_crew_ticket"
    assert act(client, crew, theirs, "start").status_code == 200


def test_admins_do_not_work_tickets(app, client, auth):
    response = act(client, auth(Role.ADMIN), make_report(app), "acknowledge")
    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden_role"


def test_the_reporter_or_a_supporter_may_reopen_a_resolved_report_others_may_not(
    app, client, auth, setup
):
    report_id = make_report(app, status="resolved", reporter="ana")
    setup(lambda s: add_support(s, report_id, "ben"))
    stranger = act(client, auth(Role.RESIDENT, uid="carl"), report_id, "reopen", {"reason": "x"})
    assert stranger.status_code == 403
    assert stranger.get_json()["code"] == "not_reporter_or_supporter"
    supporter = auth(Role.RESIDENT, uid="ben")
    # A resident's message and note are not taken: only their reason, kept for staff.
    body = {"reason": "Toujours là", "message": {"fr": "Pirate"}, "note": "n"}
    response = act(client, supporter, report_id, "reopen", body)
    assert response.status_code == 200
    assert response.get_json()["status"] == "reopened"
    event = history(client, auth(Role.AGENT), report_id)[-1]
    assert event["details"] == {"reason": "Toujours là"}
    assert event["internal_note"] is None
    assert "Pirate" not in str(event["message"])


def resolved_days_ago(app, days: float, *, closed: bool = False, reporter: str = "ana") -> int:
    """A report its crew resolved ``days`` ago by the database's clock (which stamps events);
    with ``closed``, closed by the desk two minutes later."""
    resolved_at = func.now() - timedelta(days=days)
    report_id = make_report(app, status="closed" if closed else "resolved", reporter=reporter)
    add_event(
        app,
        report_id,
        resolved_at,
        "resolve",
        "in_progress",
        "resolved",
        actor_uid="crew-1",
        actor_role="crew",
        reason_code="repaired",
    )
    if closed:
        add_event(app, report_id, resolved_at + timedelta(minutes=2), "close", "resolved", "closed")
    return report_id


@pytest.mark.parametrize("closed", [False, True], ids=["resolved", "closed"])
def test_a_resident_cannot_reopen_more_than_30_days_after_resolution(app, client, auth, closed):
    report_id = resolved_days_ago(app, 31, closed=closed)
    resident = auth(Role.RESIDENT, uid="ana")
    response = act(client, resident, report_id, "reopen", {"reason": "Toujours là"})
    assert response.status_code == 409
    assert response.get_json()["code"] == "reopen_window_over"
    assert response.get_json()["resolved_at"]
    # The desk still may.
    assert act(client, auth(Role.AGENT), report_id, "reopen", {"reason": "r"}).status_code == 200


@pytest.mark.parametrize("closed", [False, True], ids=["resolved", "closed"])
def test_a_resident_reopens_within_30_days(app, client, auth, closed):
    # Closed by the desk after the resolution: the "resolved" message's promise still holds.
    report_id = resolved_days_ago(app, 29, closed=closed)
    before = etag_of(client, auth(Role.AGENT), report_id)
    response = act(client, auth(Role.RESIDENT, uid="ana"), report_id, "reopen", {"reason": "r"})
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert (answer["id"], answer["status"]) == (report_id, "reopened")
    assert answer["version"] == int(before.strip('"')) + 1
    assert response.headers["ETag"] == f'"{answer["version"]}"'
    event = history(client, auth(Role.AGENT), report_id)[-1]
    assert (event["action"], event["from_status"], event["to_status"]) == (
        "reopen",
        "closed" if closed else "resolved",
        "reopened",
    )
    assert (event["actor_uid"], event["actor_role"]) == ("ana", "resident")
    assert event["details"] == {"reason": "r"} and event["public"] is True
    assert "rouvert" in event["message"]["fr"]
    with app.app_context():
        assert db.session.get(Report, report_id).status == "reopened"
        db.session.remove()


def test_a_note_or_public_update_after_the_resolution_does_not_extend_the_reopen_window(
    app, client, auth
):
    report_id = resolved_days_ago(app, 31)
    # The desk writes on the resolved report since: the report stays resolved.
    add_event(app, report_id, func.now() - timedelta(days=2), "note", "resolved", "resolved")
    add_event(
        app,
        report_id,
        func.now() - timedelta(days=1),
        "public_update",
        "resolved",
        "resolved",
        public=True,
        message_fr="Contrôle fait",
        message_en="Checked",
    )
    response = act(client, auth(Role.RESIDENT, uid="ana"), report_id, "reopen", {"reason": "r"})
    assert (response.status_code, response.get_json()["code"]) == (409, "reopen_window_over")


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_what_a_resident_may_do_now_honours_the_reopen_window(status):
    resolved_at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    asked = []

    def timing(days: float) -> access.Timing:
        def since(state):
            asked.append(state)
            return resolved_at

        return access.Timing(now=resolved_at + timedelta(days=days), since=since)

    resident, agent = Role.RESIDENT, Role.AGENT
    assert transitions.allowed_actions(status, resident, timing(29)) == ("reopen",)
    assert transitions.allowed_actions(status, resident, timing(30)) == ("reopen",)
    assert transitions.allowed_actions(status, resident, timing(30.01)) == ()
    assert asked == ["resolved"] * 3
    # The desk has no time limit: its window is never asked for.
    assert "reopen" in transitions.allowed_actions(status, agent, timing(400))
    assert asked == ["resolved"] * 3


@pytest.mark.parametrize("closed", [False, True], ids=["resolved", "closed"])
def test_a_409_after_the_reopen_window_does_not_offer_the_reopen_again(app, client, auth, closed):
    report_id = resolved_days_ago(app, 31, closed=closed)
    response = act(client, auth(Role.RESIDENT, uid="ana"), report_id, "reopen", {"reason": "r"})
    answer = response.get_json()
    assert (response.status_code, answer["code"]) == (409, "reopen_window_over")
    assert answer["current_status"] == ("closed" if closed else "resolved")
    assert answer["allowed_actions"] == []


def imported(app, *, status: str = "resolved", created_days_ago: float, **fields) -> int:
    """A report brought in from another system in ``status``: its history never says it
    entered it."""
    return make_report(
        app,
        status=status,
        reporter="ana",
        created_at=func.now() - timedelta(days=created_days_ago),
        **fields,
    )


def test_an_imported_report_s_reopen_window_counts_from_its_creation_not_a_later_note(
    app, client, auth
):
    old = imported(app, created_days_ago=40)
    # The desk writes on it today: the report's updated_at moves, its window does not.
    assert act(client, auth(Role.AGENT), old, "note", {"note": "Vu"}).status_code == 200
    resident = auth(Role.RESIDENT, uid="ana")
    response = act(client, resident, old, "reopen", {"reason": "r"})
    assert (response.status_code, response.get_json()["code"]) == (409, "reopen_window_over")
    assert response.get_json()["resolved_at"].startswith(
        (database_now(app) - timedelta(days=40)).date().isoformat()
    )
    recent = imported(app, created_days_ago=10)
    assert act(client, resident, recent, "reopen", {"reason": "r"}).status_code == 200


@pytest.mark.parametrize(("closed_days_ago", "expected"), [(31, 409), (10, 200)])
def test_an_imported_report_s_reopen_window_counts_from_its_last_state_change(
    app, client, auth, closed_days_ago, expected
):
    # Imported resolved long ago (no resolution in its history), closed by the desk since.
    report_id = imported(app, status="closed", created_days_ago=60)
    add_event(
        app, report_id, func.now() - timedelta(days=closed_days_ago), "close", "resolved", "closed"
    )
    add_event(app, report_id, func.now() - timedelta(days=1), "note", "closed", "closed")
    response = act(client, auth(Role.RESIDENT, uid="ana"), report_id, "reopen", {"reason": "r"})
    assert response.status_code == expected, response.get_json()


def test_problems_name_states_and_actions_in_words_never_by_their_codes(app, client, auth):
    codes = re.compile(r"\b(" + "|".join((*STATUSES, *transitions.ACTIONS)) + r")\b")
    rejected = make_report(app, status="rejected", reporter="ana")
    resident = auth(Role.RESIDENT, uid="ana")
    french = act(client, {**resident, "Accept-Language": "fr"}, rejected, "reopen", {"reason": "r"})
    assert (french.status_code, french.get_json()["code"]) == (409, "transition_not_allowed")
    detail = french.get_json()["detail"]
    assert "« rouvrir »" in detail and "« refusé »" in detail and "résolu, clos" in detail
    assert codes.search(detail) is None, detail
    # The codes stay in the members a client reads.
    assert french.get_json()["current_status"] == "rejected"
    assert french.get_json()["allowed_actions"] == []
    working = make_report(app, status="in_progress", reporter="ana")
    english = act(client, {**resident, "Accept-Language": "en"}, working, "reopen", {"reason": "r"})
    detail = english.get_json()["detail"]
    assert "“being worked on”" in detail and "Actions allowed now: none" in detail
    assert "in_progress" not in detail
    # A stale version names the state in words too.
    agent = auth(Role.AGENT)
    stale = act(
        client, {**agent, "Accept-Language": "fr"}, working, "note", {"note": "n"}, etag='"0"'
    )
    assert stale.status_code == 412
    assert "« en cours d'intervention »" in stale.get_json()["detail"]


def test_the_reopen_window_counts_by_the_database_s_clock(app, client, auth, time_machine):
    report_id = resolved_days_ago(app, 1)
    # Resolved yesterday; this server (and the identity provider that issues the resident's
    # token) believes it is a month later: only the database's clock counts.
    time_machine.move_to(datetime.now(UTC) + timedelta(days=30), tick=True)
    response = act(client, auth(Role.RESIDENT, uid="ana"), report_id, "reopen", {"reason": "r"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "reopened"


# --- crews ----------------------------------------------------------------------------------


def test_assign_takes_a_crew_of_the_reports_desk_only(app, client, auth, setup):
    crew_named(setup, "eclairage-1", "eclairage")
    agent = auth(Role.AGENT)
    report_id = make_report(app, crew=None)
    for crew, code in (("eclairage-1", "crew_not_of_desk"), ("nobody", "unknown_crew")):
        response = act(client, agent, report_id, "assign", {"crew": crew})
        assert response.status_code == 422
        assert response.get_json()["code"] == code
    response = act(client, agent, report_id, "assign", {"crew": "voirie-nord"})
    assert response.status_code == 200
    assert response.get_json()["status"] == "assigned"
    assert history(client, agent, report_id)[-1]["details"] == {"crew": [None, "voirie-nord"]}


def test_hand_back_returns_the_ticket_to_the_desk_without_its_crew(app, client, auth):
    report_id = make_report(app, status="in_progress")
    crew = auth(Role.CREW)
    agent = auth(Role.AGENT)
    body = {"reason": "needs_equipment", "note": "Il faut une nacelle"}
    response = act(client, crew, report_id, "hand_back", body, staff_headers=agent)
    assert response.status_code == 200
    assert response.get_json()["status"] == "acknowledged"
    with app.app_context():
        assert db.session.get(Report, report_id).crew_id is None
        db.session.remove()
    # Not theirs any more.
    assert (
        act(client, crew, report_id, "note", {"note": "n"}, staff_headers=agent).status_code == 403
    )
    event = history(client, agent, report_id)[-1]
    assert (event["reason_code"], event["internal_note"]) == (
        "needs_equipment",
        "Il faut une nacelle",
    )
    # Residents see the ticket went back to the desk, not the crew's reason.
    public = history(client, auth(Role.RESIDENT), report_id)[-1]
    assert public["to_status"] == "acknowledged" and public["reason_code"] is None


# --- re-routing -----------------------------------------------------------------------------


def test_reroute_forces_the_desk_and_chooses_among_its_crews(app, client, auth, setup):
    crew_named(setup, "ecl-west", "eclairage", skills=["pothole"], zone=polygon(WEST))
    crew_named(setup, "ecl-east", "eclairage", skills=["pothole"], zone=polygon(EAST))
    crew_named(setup, "ecl-tags", "eclairage", skills=["graffiti"], zone=polygon(WEST))
    agent, supervisor = auth(Role.AGENT), auth(Role.SUPERVISOR)
    report_id = make_report(app, status="acknowledged")
    response = act(client, agent, report_id, "reroute", {"desk": "eclairage"})
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["status"], report["desk"]["code"]) == ("new", "eclairage")
    assert report["routing"]["desk"]["rule"] == "forced"
    assert report["routing"]["crew"]["crew"] == "ecl-west"
    event = history(client, supervisor, report_id)[-1]
    assert event["desk"]["code"] == "voirie"  # the desk that had it when it was sent on
    assert event["details"] == {
        "desk": ["voirie", "eclairage"],
        "crew": ["voirie-nord", "ecl-west"],
    }
    assert "Éclairage public" in event["message"]["fr"]
    # Now the other desk's: the voirie agent no longer reaches it; the same desk is refused.
    assert act(client, agent, report_id, "acknowledge").status_code == 403
    same = act(client, supervisor, report_id, "reroute", {"desk": "eclairage"})
    assert (same.status_code, same.get_json()["code"]) == (422, "reroute_same_desk")
    unknown = act(client, supervisor, report_id, "reroute", {"desk": "nowhere"})
    assert (unknown.status_code, unknown.get_json()["code"]) == (422, "unknown_desk")


def test_change_category_routes_the_report_again_in_full(app, client, auth, setup):
    lon, lat = DIJON
    setup(
        lambda s: create_rule(
            s,
            {
                "name": "Éclairage",
                "priority": 10,
                "desk": "eclairage",
                "category": "streetlight_damaged",
            },
        )
    )
    crew_named(setup, "ecl-west", "eclairage", skills=["streetlight_damaged"], zone=polygon(WEST))
    crew_named(setup, "ecl-roads", "eclairage", skills=["pothole"], zone=polygon(WEST))
    # A street light ~11 m away, a school ~55 m away.
    setup(
        lambda s: put_asset(
            s,
            "SL-1",
            {
                "kind": "street_light",
                "status": "in_service",
                "location": {"lon": lon, "lat": lat + 0.0001},
            },
        )
    )
    setup(
        lambda s: put_asset(
            s,
            "SCHOOL-1",
            {
                "kind": "poi",
                "status": "in_service",
                "name": "École Voltaire",
                "attributes": {"poi": "school"},
                "location": {"lon": lon + 0.0007, "lat": lat},
            },
        )
    )
    agent = auth(Role.AGENT)
    report_id = make_report(app, status="acknowledged", priority=3)
    response = act(client, agent, report_id, "change_category", {"category": "streetlight_damaged"})
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["category"]["code"] == "streetlight_damaged"
    assert (report["status"], report["desk"]["code"]) == ("new", "eclairage")
    assert report["routing"]["desk"]["rule"]["name"] == "Éclairage"
    assert report["routing"]["crew"]["crew"] == "ecl-west"
    assert report["routing"]["asset"]["reference"] == "SL-1"
    # 24 h service level: high (2), one step more urgent near the school.
    assert report["priority"] == 1
    assert "École Voltaire" in report["routing"]["service_level"]["why"]
    with app.app_context():
        saved = db.session.get(Report, report_id)
        assert saved.asset_id is not None
        assert saved.due_at == saved.created_at + timedelta(hours=24)
        assert db.session.scalar(select(Crew.code).where(Crew.id == saved.crew_id)) == "ecl-west"
        db.session.remove()
    details = history(client, auth(Role.SUPERVISOR), report_id)[-1]["details"]
    assert details["category"] == ["pothole", "streetlight_damaged"]
    assert details["desk"] == ["voirie", "eclairage"]
    assert details["priority"] == [3, 1]
    same = act(
        client,
        auth(Role.SUPERVISOR),
        report_id,
        "change_category",
        {"category": "streetlight_damaged"},
    )
    assert (same.status_code, same.get_json()["code"]) == (422, "same_category")


# --- merge ----------------------------------------------------------------------------------


def test_merge_moves_supporters_and_followers_and_both_histories_tell_it(app, client, auth, setup):
    original = make_report(app, status="assigned", reporter="ana")
    merged = make_report(app, status="acknowledged", reporter="bob")
    joined_earlier = make_report(app, status="duplicate", reporter="dan", duplicate_of_id=merged)

    def supporters_and_followers(s):
        add_support(s, original, "sam")  # already supports the original
        add_support(s, merged, "sam")
        add_support(s, merged, "sue")
        add_support(s, merged, "ana")  # the original's reporter supported this one
        s.add(ReportFollower(report_id=merged, uid="fay", reason="follow"))

    setup(supporters_and_followers)
    agent = auth(Role.AGENT)
    response = act(client, agent, merged, "merge", {"into": original, "note": "Même trou"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "duplicate"
    assert response.get_json()["duplicate_of"]["id"] == original
    assert response.get_json()["support_count"] == 0
    with app.app_context():
        s = db.session
        supporters = set(
            s.scalars(select(ReportSupporter.uid).where(ReportSupporter.report_id == original))
        )
        followers = set(
            s.scalars(select(ReportFollower.uid).where(ReportFollower.report_id == original))
        )
        left = s.scalars(
            select(ReportSupporter.uid).where(ReportSupporter.report_id == merged)
        ).all()
        left += s.scalars(
            select(ReportFollower.uid).where(ReportFollower.report_id == merged)
        ).all()
        target = s.get(Report, original)
        assert (target.support_count, target.version) == (3, 2)
        assert s.get(Report, joined_earlier).duplicate_of_id == original
        s.remove()
    # bob's voice (the merged report's reporter) goes over; ana reported the original.
    assert supporters == {"sam", "sue", "bob"}
    assert followers == {"sam", "sue", "bob", "fay"}
    assert left == []
    # Both histories tell it, to residents too.
    resident = auth(Role.RESIDENT, uid="bob")
    on_merged = history(client, resident, merged)[-1]
    assert (on_merged["action"], on_merged["to_status"]) == ("merge", "duplicate")
    assert "DIJ-" in on_merged["message"]["fr"]
    on_original = history(client, resident, original)[-1]
    assert (on_original["action"], on_original["to_status"]) == ("merge", "assigned")
    assert "has joined this one" in on_original["message"]["en"]
    staff = history(client, agent, original)[-1]["details"]
    # New supporters of the original: sue and bob (sam already was).
    assert staff["merged"]["id"] == merged and staff["supporters_moved"] == 2


def test_an_agent_merges_only_into_a_report_of_their_own_desks(app, client, auth):
    report_id = make_report(app, status="acknowledged")  # voirie, the agent's desk
    other_desk = make_report(app, status="acknowledged", desk="eclairage", crew=None)
    supervisor = auth(Role.SUPERVISOR)  # voirie and eclairage
    other_etag = etag_of(client, supervisor, other_desk)
    response = act(client, auth(Role.AGENT), report_id, "merge", {"into": other_desk})
    assert response.status_code == 403
    assert response.get_json()["code"] == "not_your_desk"
    assert "eclairage" in response.get_json()["detail"]
    # Neither report changed: no event, no new version for the other desk.
    assert etag_of(client, supervisor, other_desk) == other_etag
    assert history(client, supervisor, other_desk)[1:] == []
    assert history(client, supervisor, report_id)[1:] == []
    # A supervisor of both desks may.
    response = act(client, supervisor, report_id, "merge", {"into": other_desk})
    assert response.status_code == 200
    assert response.get_json()["duplicate_of"]["id"] == other_desk
    assert history(client, supervisor, other_desk)[-1]["action"] == "merge"


def test_merge_needs_another_report_still_being_dealt_with(app, client, auth):
    agent = auth(Role.AGENT)
    report_id = make_report(app)
    closed = make_report(app, status="closed")
    for into, status, code in (
        (report_id, 422, "merge_into_itself"),
        (closed, 409, "merge_target_closed"),
        (999999, 422, "merge_target_not_found"),
    ):
        response = act(client, agent, report_id, "merge", {"into": into})
        assert (response.status_code, response.get_json()["code"]) == (status, code)


def test_reopening_a_duplicate_unlinks_it(app, client, auth):
    original = make_report(app)
    report_id = make_report(app, status="duplicate", duplicate_of_id=original)
    response = act(client, auth(Role.AGENT), report_id, "reopen", {"reason": "Autre lampadaire"})
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["duplicate_of"]) == (
        "reopened",
        None,
    )


def test_change_category_points_out_a_possible_duplicate_without_merging(app, client, auth):
    other = make_report(app, category="graffiti", status="acknowledged")
    report_id = make_report(app, status="acknowledged")
    response = act(client, auth(Role.AGENT), report_id, "change_category", {"category": "graffiti"})
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["status"], report["duplicate_of"]) == ("new", None)
    assert report["routing"]["duplicate"]["report_id"] == other
    assert report["routing"]["duplicate"]["why"].startswith("possible duplicate, not merged")
