"""GET /v1/supervision/desks: every desk's open work, lateness and 30-day service level.

Service-level tests call the use case at a fixed instant (``AT``); the API tests use the
database's clock at the test's start (the ``now`` fixture), which is the service's ``now()``
for the whole test transaction."""

from datetime import UTC, datetime, timedelta

import pytest

from app.reports.models import OPEN_STATUSES
from app.supervision import service
from app.users.models import Role
from tests.factories import add_event

AT = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
WINDOW = timedelta(days=30)
TICK = timedelta(microseconds=1)
ZERO_OPEN = dict.fromkeys(OPEN_STATUSES, 0)


def desk(overview: dict, code: str) -> dict:
    (found,) = [d for d in overview["desks"] if d["desk"]["code"] == code]
    return found


def resolved_at(app, report_id: int, at: datetime, *, before: str = "in_progress") -> None:
    """The report resolved at ``at`` (its status set to resolved by the history fixture's
    rule: the event as triage writes it; the caller sets the status)."""
    add_event(app, report_id, at, "resolve", before, "resolved", actor_role="crew")


def overview_at(session, at=AT, **kwargs) -> dict:
    return service.desks_overview(session, now=at, **kwargs)


# --- overdue and the oldest open report, at a fixed instant ---


def test_overdue_is_an_open_report_due_strictly_before_now(app, session, add_report):
    add_report(now=AT, status="new", due_in_hours=0)  # due exactly now: not yet
    add_report(now=AT, status="new", due_at=AT - TICK, due_in_hours=None)  # a microsecond late
    add_report(now=AT, status="assigned", due_in_hours=-30)
    add_report(now=AT, status="acknowledged", due_in_hours=None)  # no due date: never late
    add_report(now=AT, status="closed", due_in_hours=-30)  # closed: not open work
    add_report(now=AT, status="rejected", due_in_hours=-30)
    voirie = desk(overview_at(session), "voirie")
    assert voirie["counts"] == {**ZERO_OPEN, "new": 2, "assigned": 1, "acknowledged": 1}
    assert voirie["open"] == 4
    assert voirie["overdue"] == 2
    # A microsecond later, the report due exactly at AT is late too.
    assert desk(overview_at(session, AT + TICK), "voirie")["overdue"] == 3


def test_the_overdue_count_agrees_with_the_desk_queue_counts(client, auth, add_report, now):
    for hours in (-48, -1, 0, 1, 48):
        add_report(due_in_hours=hours)
        add_report(status="in_progress", due_in_hours=hours)
    supervisor = auth(Role.SUPERVISOR)
    counts = client.get("/v1/desks/voirie/queue/counts", headers=supervisor).get_json()
    voirie = desk(client.get("/v1/supervision/desks", headers=supervisor).get_json(), "voirie")
    assert voirie["overdue"] == counts["total_overdue"] == 4
    assert voirie["open"] == counts["total"] == 10
    assert {s: n for s, n in voirie["counts"].items() if n} == {
        s: n for s, n in counts["counts"].items() if n
    }


def test_the_oldest_open_report_and_its_age(session, add_report):
    add_report(now=AT, created_hours_ago=500, status="closed")  # older, but closed
    oldest = add_report(now=AT, created_hours_ago=50, reference="DIJ-2026-000050")
    add_report(now=AT, created_hours_ago=5)
    add_report(now=AT, created_hours_ago=80, desk="eclairage")
    voirie = desk(overview_at(session), "voirie")
    assert voirie["oldest_open"] == {
        "id": oldest,
        "reference": "DIJ-2026-000050",
        "created_at": AT - timedelta(hours=50),
        "age_seconds": 50 * 3600,
    }
    assert desk(overview_at(session), "eclairage")["oldest_open"]["age_seconds"] == 80 * 3600


def test_every_desk_is_listed_and_an_empty_one_has_zeros_and_no_service_level(session):
    overview = overview_at(session)
    codes = [d["desk"]["code"] for d in overview["desks"]]
    assert codes == sorted(codes)
    assert {"voirie", "eclairage", "allo-mairie"} <= set(codes)
    assert desk(overview, "allo-mairie")["is_fallback"] is True
    for each in overview["desks"]:
        assert each["counts"] == ZERO_OPEN
        assert (each["open"], each["overdue"], each["oldest_open"]) == (0, 0, None)
        assert each["service_level"] == {"resolved": 0, "within_service_level": 0, "share": None}
    assert overview["window"] == {"days": 30, "since": AT - WINDOW, "until": AT}


# --- the 30-day window and the service level ---


def test_the_window_includes_its_first_instant_and_now_and_nothing_outside(
    app, session, add_report
):
    def resolved(at):
        report = add_report(
            now=AT, status="resolved", created_hours_ago=24 * 40, due_at=AT, due_in_hours=None
        )
        resolved_at(app, report, at)
        return report

    resolved(AT - WINDOW)  # the window's first instant: in
    resolved(AT)  # now: in
    resolved(AT - WINDOW - TICK)  # a microsecond before: out
    resolved(AT + TICK)  # after now (seen from AT): out
    level = desk(overview_at(session), "voirie")["service_level"]
    assert (level["resolved"], level["within_service_level"]) == (2, 2)


def test_service_level_is_resolved_by_the_due_date_included(app, session, add_report):
    for due in (AT - timedelta(days=2), AT - timedelta(days=2) - TICK):
        report = add_report(
            now=AT, status="resolved", created_hours_ago=24 * 5, due_at=due, due_in_hours=None
        )
        resolved_at(app, report, AT - timedelta(days=2))
    # Without a due date: by creation plus the category's service level (pothole: 168 h).
    late = add_report(now=AT, status="closed", created_hours_ago=24 * 10, due_in_hours=None)
    resolved_at(app, late, AT - timedelta(hours=24 * 10 - 168) + TICK)
    add_event(app, late, AT - timedelta(hours=1), "close", "resolved", "closed")
    on_time = add_report(now=AT, status="closed", created_hours_ago=24 * 10, due_in_hours=None)
    resolved_at(app, on_time, AT - timedelta(hours=24 * 10 - 168))
    level = desk(overview_at(session), "voirie")["service_level"]
    assert level == {"resolved": 4, "within_service_level": 2, "share": 0.5}


def test_the_last_resolution_counts_and_a_reopened_report_is_not_resolved(app, session, add_report):
    # Resolved late before the window, reopened, resolved again in the window on time for
    # its (new) due date: it counts, by its last resolution.
    again = add_report(
        now=AT, status="resolved", created_hours_ago=24 * 60, due_at=AT, due_in_hours=None
    )
    resolved_at(app, again, AT - timedelta(days=45))
    add_event(app, again, AT - timedelta(days=44), "reopen", "resolved", "reopened")
    resolved_at(app, again, AT - timedelta(days=3), before="reopened")
    # Resolved in the window, then reopened: open work again, not a resolution.
    reopened = add_report(
        now=AT, status="reopened", created_hours_ago=24 * 20, due_at=AT, due_in_hours=None
    )
    resolved_at(app, reopened, AT - timedelta(days=10))
    add_event(app, reopened, AT - timedelta(days=9), "reopen", "resolved", "reopened")
    # A note on a report resolved before the window does not bring it in.
    old = add_report(
        now=AT, status="resolved", created_hours_ago=24 * 60, due_at=AT, due_in_hours=None
    )
    resolved_at(app, old, AT - timedelta(days=31))
    add_event(app, old, AT - timedelta(days=1), "note", "resolved", "resolved")
    voirie = desk(overview_at(session, include_resolved=True), "voirie")
    assert voirie["service_level"] == {"resolved": 1, "within_service_level": 1, "share": 1.0}
    assert voirie["counts"]["reopened"] == 1
    assert (voirie["counts"]["resolved"], voirie["counts"]["closed"]) == (1, 0)


def test_include_resolved_counts_the_window_per_state_and_adds_up_to_the_service_level(
    app, session, add_report
):
    for status in ("resolved", "closed", "closed"):
        report = add_report(
            now=AT, status=status, created_hours_ago=24 * 3, due_at=AT, due_in_hours=None
        )
        resolved_at(app, report, AT - timedelta(days=1))
    other = add_report(now=AT, status="resolved", desk="eclairage", created_hours_ago=24)
    resolved_at(app, other, AT - timedelta(hours=2))
    without = desk(overview_at(session), "voirie")
    assert "resolved" not in without["counts"] and "closed" not in without["counts"]
    voirie = desk(overview_at(session, include_resolved=True), "voirie")
    assert (voirie["counts"]["resolved"], voirie["counts"]["closed"]) == (1, 2)
    assert voirie["open"] == 0
    assert voirie["service_level"]["resolved"] == 3
    eclairage = desk(overview_at(session, include_resolved=True), "eclairage")
    assert eclairage["counts"]["resolved"] == 1


# --- over HTTP ---


def test_supervisors_and_admins_read_every_desk(client, auth, add_report, now):
    add_report(desk="proprete", due_in_hours=-1)  # not one of the supervisor's own desks
    for role in (Role.SUPERVISOR, Role.ADMIN):
        response = client.get("/v1/supervision/desks?include_resolved=true", headers=auth(role))
        assert response.status_code == 200
        body = response.get_json()
        proprete = desk(body, "proprete")
        assert (proprete["open"], proprete["overdue"]) == (1, 1)
        assert proprete["counts"]["resolved"] == 0
        assert datetime.fromisoformat(body["as_of"]) == now
        assert datetime.fromisoformat(body["window"]["since"]) == now - WINDOW


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.CREW, Role.AGENT])
@pytest.mark.parametrize("path", ["/v1/supervision/desks", "/v1/supervision/crews"])
def test_residents_crews_and_agents_are_refused_in_french_or_english(client, auth, role, path):
    headers = auth(role)
    response = client.get(path, headers=headers)
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
    problem = response.get_json()
    assert problem["code"] == "forbidden_role"
    english = client.get(path, headers={**headers, "Accept-Language": "en"}).get_json()
    assert english["code"] == "forbidden_role"
    assert english["detail"] != problem["detail"]
    assert "supervisor" in english["detail"]


@pytest.mark.parametrize("path", ["/v1/supervision/desks", "/v1/supervision/crews"])
def test_without_a_token_it_is_401(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"


def test_a_bad_include_resolved_is_a_422_naming_the_field(client, auth):
    response = client.get(
        "/v1/supervision/desks?include_resolved=perhaps", headers=auth(Role.SUPERVISOR)
    )
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert "include_resolved" in response.get_json()["errors"]["query"]


def test_the_service_level_is_the_published_statistics_one(app, client, auth, add_report, now):
    """On reports all resolved in the window, the desk's service level and the open data
    statistics' for the desk are the same figures: one definition."""
    resolutions = (
        (-30, -10),  # due 30 h ago, resolved 10 h ago: late
        (-5, -5),  # resolved at its due date: within
        (2, -1),  # early
        (None, -3),  # no due date: creation (4 days ago) + 168 h: within
        (-48, -24),  # late
    )
    for due, resolved in resolutions:
        report = add_report(status="resolved", created_hours_ago=96, due_in_hours=due)
        resolved_at(app, report, now + timedelta(hours=resolved))
    overview = client.get("/v1/supervision/desks", headers=auth(Role.SUPERVISOR)).get_json()
    ours = desk(overview, "voirie")["service_level"]
    published = client.get("/v1/opendata/statistics/service-level?desk=voirie").get_json()
    (overall,) = [i for i in published["items"] if i["category"] is None and i["desk"] == "voirie"]
    assert ours == {"resolved": 5, "within_service_level": 3, "share": 0.6}
    assert (overall["resolved"], overall["within_service_level"], overall["share"]) == (
        ours["resolved"],
        ours["within_service_level"],
        ours["share"],
    )
