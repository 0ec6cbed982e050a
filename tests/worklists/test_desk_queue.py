"""GET /v1/desks/{desk}/queue, its GeoJSON variant and its counts, on real PostGIS."""

import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import text, update

from app.reports.models import CLOSED_STATUSES, OPEN_STATUSES, Report
from app.routing.explanation import crew_chosen
from app.users.models import Role
from app.worklists import queries
from app.worklists.queries import Filters
from tests.factories import DIJON, database
from tools.generators.reports import generate

EAST = (5.0565, 47.3220)  # ~1.1 km east of DIJON
FAR_EAST = (5.0715, 47.3220)  # ~2.3 km east


@pytest.fixture
def agent(auth):
    return auth(Role.AGENT)  # works the voirie desk


def get_queue(client, headers, desk="voirie", path="", **params):
    return client.get(f"/v1/desks/{desk}/queue{path}", headers=headers, query_string=params)


def ids_of(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


def every_page(client, headers, desk="voirie", path="", key="items", **params) -> list[int]:
    """The ids of every page, following next_cursor to the end."""
    seen, cursor = [], None
    for _ in range(100):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = get_queue(client, headers, desk, path, **query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        seen += [item["id"] for item in body[key]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination did not end")


def test_the_default_queue_is_the_desks_open_reports_most_urgent_then_earliest_due(
    client, agent, add_report
):
    low = add_report(priority=4, due_in_hours=1)
    urgent_later = add_report(priority=1, due_in_hours=5)
    urgent_sooner = add_report(priority=1, due_in_hours=2)
    normal = add_report(priority=3, status="reopened")
    no_due_date = add_report(priority=3, due_in_hours=None)
    for status in CLOSED_STATUSES:
        add_report(priority=1, status=status)
    add_report(desk="eclairage", priority=1)
    add_report(desk=None, priority=1)
    assert ids_of(get_queue(client, agent)) == [
        urgent_sooner,
        urgent_later,
        normal,
        no_due_date,
        low,
    ]


def test_an_item_carries_what_the_agent_needs_and_no_contact_details(
    client, agent, add_report, crews
):
    report = add_report(
        status="assigned",
        crew_id=crews["voirie-nord"],
        description="Trou profond devant la boutique",
        due_in_hours=-2,
        contact={"name": "Camille", "email": "camille@example.fr", "phone": "0612345678"},
    )
    (item,) = get_queue(client, agent).get_json()["items"]
    assert item["id"] == report
    assert re.fullmatch(r"DIJ-2026-9\d{5}", item["reference"])
    assert item["status"] == "assigned"
    assert item["priority"] == 3
    assert item["overdue"] is True
    assert item["due_at"].endswith("+00:00")
    assert item["category"]["code"] == "pothole"
    assert item["commune"] == {"insee_code": "21231", "name": "Dijon"}
    assert item["crew"] == {"code": "voirie-nord", "name": "Voirie Nord"}
    assert item["location"] == {"type": "Point", "coordinates": list(DIJON)}
    assert item["address"].endswith("rue de la Liberté")
    assert item["description"] == "Trou profond devant la boutique"
    assert item["support_count"] == 0
    assert {"created_at", "updated_at"} <= set(item)
    body = get_queue(client, agent).get_data(as_text=True)
    for personal in ("Camille", "camille@example.fr", "0612345678", "resident-"):
        assert personal not in body


def set_columns(app, report_id: int, **values) -> None:
    with database(app) as session:
        session.execute(update(Report).where(Report.id == report_id).values(**values))
        session.commit()


def test_an_item_carries_the_residents_answers_and_whether_routing_found_every_crew_full(
    app, client, agent, add_report, crews
):
    """The category's questions are there for triage: the desk reads the answers in its
    queue, and sees when routing proposed a crew that was already full."""
    full = add_report(status="assigned", crew_id=crews["voirie-nord"])
    reassigned = add_report(status="assigned", crew_id=crews["voirie-sud"])
    room = add_report(status="assigned", crew_id=crews["voirie-nord"])
    unrouted = add_report()  # routed before routing recorded it, or with no crew at all

    def proposed(code, over_capacity):
        explanation = crew_chosen(code, 231 if over_capacity else 2, 13, None)
        return {"crew": explanation}

    set_columns(app, full, answers={"size": "large"}, routing=proposed("voirie-nord", True))
    set_columns(app, reassigned, routing=proposed("voirie-nord", True))  # then reassigned
    set_columns(app, room, routing=proposed("voirie-nord", False))
    items = {item["id"]: item for item in get_queue(client, agent).get_json()["items"]}
    assert items[full]["answers"] == {"size": "large"}
    assert items[room]["answers"] == {}
    assert {report: items[report]["crew_over_capacity"] for report in items} == {
        full: True,
        reassigned: False,
        room: False,
        unrouted: False,
    }


def test_status_filter_takes_one_or_more_states_closed_ones_included(client, agent, add_report):
    by_status = {status: add_report(status=status) for status in OPEN_STATUSES + CLOSED_STATUSES}
    assert ids_of(get_queue(client, agent, status="reopened")) == [by_status["reopened"]]
    picked = ids_of(get_queue(client, agent, status=["new", "resolved"]))
    assert sorted(picked) == sorted([by_status["new"], by_status["resolved"]])
    assert sorted(ids_of(get_queue(client, agent))) == sorted(by_status[s] for s in OPEN_STATUSES)


@pytest.mark.parametrize(
    ("field", "matching", "other", "value"),
    [
        ("category", {"category": "streetlight_out"}, {"category": "pothole"}, "streetlight_out"),
        ("commune", {"commune": "21166"}, {"commune": "21231"}, "21166"),
        ("priority", {"priority": 2}, {"priority": 3}, "2"),
        ("overdue", {"due_in_hours": -1}, {"due_in_hours": 1}, "true"),
        ("overdue", {"due_in_hours": 1}, {"due_in_hours": -1}, "false"),
        ("bbox", {"at": DIJON}, {"at": FAR_EAST}, "5.03,47.31,5.05,47.33"),
        ("q", {"description": "Lampadaire tordu"}, {"description": "Trou"}, "LAMPADAIRE"),
        ("q", {"description": "fuite 100% sûre"}, {"description": "fuite 100 sûre"}, "100%"),
        (
            "q",
            [{"reference": "DIJ-2026-004213"}, {"reference": "DIJ-2025-004213"}],
            [{"reference": "DIJ-2026-005555"}, {"reference": "DIJ-2026-000421"}],
            "004213",
        ),
    ],
)
def test_each_filter_keeps_only_the_matching_reports(
    client, agent, add_report, field, matching, other, value
):
    twice = lambda fields: fields if isinstance(fields, list) else [fields, fields]  # noqa: E731
    wanted = [add_report(**fields) for fields in twice(matching)]
    for fields in twice(other):
        add_report(**fields)
    assert sorted(ids_of(get_queue(client, agent, **{field: value}))) == sorted(wanted)


def test_crew_filter_keeps_the_named_crews_reports(client, agent, add_report, crews):
    north = add_report(status="assigned", crew_id=crews["voirie-nord"])
    south = add_report(status="in_progress", crew_id=crews["voirie-sud"])
    add_report(status="acknowledged")
    assert ids_of(get_queue(client, agent, crew="voirie-nord")) == [north]
    both = ids_of(get_queue(client, agent, crew=["voirie-nord", "voirie-sud"]))
    assert sorted(both) == sorted([north, south])


def test_overdue_only_counts_open_reports(client, agent, add_report):
    late = add_report(due_in_hours=-5)
    add_report(status="closed", due_in_hours=-5)
    add_report(due_in_hours=5)
    everything = list(OPEN_STATUSES + CLOSED_STATUSES)
    assert ids_of(get_queue(client, agent, overdue="true", status=everything)) == [late]


def test_filters_combine(client, agent, add_report):
    wanted = add_report(commune="21166", priority=1, status="acknowledged")
    add_report(commune="21166", priority=1, status="new")
    add_report(commune="21231", priority=1, status="acknowledged")
    add_report(commune="21166", priority=2, status="acknowledged")
    response = get_queue(client, agent, commune="21166", priority="1", status="acknowledged")
    assert ids_of(response) == [wanted]


def test_sort_by_age_is_oldest_first(client, agent, add_report):
    middle = add_report(created_hours_ago=5, priority=1)
    oldest = add_report(created_hours_ago=50, priority=4)
    newest = add_report(created_hours_ago=1, priority=2)
    assert ids_of(get_queue(client, agent, sort="age")) == [oldest, middle, newest]


def test_sort_by_distance_is_nearest_first_with_the_distance(client, agent, add_report):
    far = add_report(at=FAR_EAST, priority=1)
    here = add_report(at=DIJON, priority=4)
    near = add_report(at=EAST, priority=2)
    response = get_queue(client, agent, sort="distance", near="5.0415,47.322")
    assert ids_of(response) == [here, near, far]
    distances = [item["distance_m"] for item in response.get_json()["items"]]
    assert distances[0] < 1
    assert 1_050 < distances[1] < 1_200
    assert 2_100 < distances[2] < 2_400


def test_sort_by_distance_needs_a_point(client, agent):
    response = get_queue(client, agent, sort="distance")
    assert response.status_code == 422
    assert response.get_json()["code"] == "near_required"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"bbox": "5.1,47.3,5.0,47.4"}, "invalid_area"),
        ({"bbox": "5,47,200,48"}, "invalid_area"),
        ({"near": "200,47.3"}, "invalid_area"),
        ({"near": "5.04", "sort": "distance"}, "validation_failed"),
        ({"near": "100.5,10.2", "sort": "distance"}, "position_out_of_range"),
        ({"status": "pending"}, "validation_failed"),
        ({"q": "ab"}, "validation_failed"),
    ],
)
def test_a_bad_area_point_or_filter_is_a_clear_422(client, agent, params, code):
    response = get_queue(client, agent, **params)
    assert response.status_code == 422
    assert response.get_json()["code"] == code


@pytest.mark.parametrize("sort", ["priority", "age", "distance"])
def test_cursor_pagination_walks_every_report_once_in_order_ties_included(
    client, agent, add_report, sort
):
    # Ties on every key: same priority and due date, same creation time, same spot.
    for n in range(9):
        add_report(
            priority=2 + n % 2,
            due_in_hours=10 if n < 6 else None,
            created_hours_ago=3 if n < 5 else 7,
            at=DIJON if n < 7 else EAST,
        )
    params = {"sort": sort, "near": "5.0415,47.322"}
    everything = ids_of(get_queue(client, agent, limit=50, **params))
    assert len(everything) == 9
    for limit in (1, 2, 4):
        assert every_page(client, agent, limit=limit, **params) == everything


def test_the_same_spot_is_ordered_by_id_across_pages(client, agent, add_report):
    same_spot = [add_report(at=DIJON) for _ in range(5)]
    assert every_page(client, agent, limit=2, sort="distance", near="5.0415,47.322") == same_spot


def test_a_cursor_of_another_order_or_not_ours_is_400(client, agent, add_report):
    for _ in range(3):
        add_report()
    cursor = get_queue(client, agent, limit=1).get_json()["next_cursor"]
    for params in ({"cursor": cursor, "sort": "age"}, {"cursor": "garbage"}):
        response = get_queue(client, agent, **params)
        assert response.status_code == 400
        assert response.get_json()["code"] == "invalid_cursor"


def test_the_geojson_variant_is_a_feature_collection_of_the_same_page(client, agent, add_report):
    first = add_report(priority=1, at=DIJON)
    second = add_report(priority=2, at=EAST)
    add_report(priority=3)
    response = get_queue(client, agent, path="/geojson", limit=2)
    assert response.status_code == 200
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    assert body["next_cursor"]
    assert [f["id"] for f in body["features"]] == [first, second]
    feature = body["features"][1]
    assert feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point", "coordinates": list(EAST)}
    assert "location" not in feature["properties"]
    assert feature["properties"]["priority"] == 2
    assert len(every_page(client, agent, path="/geojson", key="features", limit=2)) == 3


def test_counts_split_the_filtered_queue_by_state_with_the_overdue(client, agent, add_report):
    add_report(status="new", due_in_hours=-1)
    add_report(status="new")
    add_report(status="assigned", due_in_hours=-1)
    add_report(status="closed", due_in_hours=-1)
    add_report(status="new", commune="21166")
    add_report(desk="eclairage", status="new")
    response = get_queue(client, agent, path="/counts", commune="21231")
    assert response.status_code == 200
    assert response.get_json() == {
        "counts": {"new": 2, "acknowledged": 0, "assigned": 1, "in_progress": 0, "reopened": 0},
        "overdue": {"new": 1, "acknowledged": 0, "assigned": 1, "in_progress": 0, "reopened": 0},
        "total": 3,
        "total_overdue": 2,
    }
    closed = get_queue(client, agent, path="/counts", status=["closed", "new"]).get_json()
    assert closed["counts"] == {"closed": 1, "new": 3}
    assert closed["overdue"] == {"closed": 0, "new": 1}


def test_an_agent_works_only_their_desks_and_supervisors_and_admins_every_desk(
    client, auth, add_report
):
    add_report(desk="proprete")
    response = get_queue(client, auth(Role.AGENT), desk="proprete")
    assert response.status_code == 403
    assert response.get_json()["code"] == "not_your_desk"
    for path in ("/geojson", "/counts"):
        response = get_queue(client, auth(Role.AGENT), desk="proprete", path=path)
        assert (response.status_code, response.get_json()["code"]) == (403, "not_your_desk")
    for role in (Role.SUPERVISOR, Role.ADMIN):
        assert len(ids_of(get_queue(client, auth(role), desk="proprete"))) == 1
    for role in (Role.RESIDENT, Role.CREW):
        response = get_queue(client, auth(role))
        assert (response.status_code, response.get_json()["code"]) == (403, "forbidden_role")


def test_an_unknown_desk_is_404(client, auth):
    for path in ("", "/geojson", "/counts"):
        response = get_queue(client, auth(Role.SUPERVISOR), desk="nowhere", path=path)
        assert response.status_code == 404
        assert response.get_json()["code"] == "desk_not_found"


def test_errors_speak_english_when_asked(client, auth):
    response = client.get(
        "/v1/desks/proprete/queue", headers={**auth(Role.AGENT), "Accept-Language": "en"}
    )
    assert "is not one of yours (voirie)" in response.get_json()["detail"]


def test_the_default_queue_page_and_its_deep_pages_use_the_open_work_index(app, session):
    """With 20,000 generated reports analysed, half of them open (about as many open reports
    per desk as on 1M reports, which decides the plan), the planner reads the desk's page
    from the partial index over open work: no sequential scan of reports, no sort of them."""
    from tools.generators.organisation import seed_rules

    seed_rules(session)
    for _ in generate(session, 20_000, open_share=0.5):
        pass
    session.execute(text("ANALYZE reports"))
    desk_id = queries.desk_id_of("voirie")  # as the service runs it
    filters = Filters(statuses=("new", "acknowledged"), communes=("21231",))
    deep = session.execute(queries.desk_queue_query(desk_id, filters, "priority", None, 5)).all()
    after = [deep[-1].priority, deep[-1].due_at, deep[-1].id]
    first_page = explain(session, queries.desk_queue_query(desk_id, filters, "priority", None, 50))
    assert "Index Scan using ix_reports_open_desk_priority_due_at on reports" in first_page, (
        first_page
    )
    assert "Seq Scan on reports" not in first_page, first_page
    assert "Sort Key: reports.priority" not in first_page, first_page  # the index's order
    # A later page starts inside the index (the cursor's row is an index condition), so it
    # costs what the first page costs, however deep.
    later = explain(session, queries.desk_queue_query(desk_id, filters, "priority", after, 50))
    assert re.search(
        r"Index Cond: \(\(desk_id = \$\d+\) AND \(ROW\(priority, COALESCE\(due_at", later
    ), later
    assert "Seq Scan on reports" not in later, later
    # A page without text search never reads the trigram indexes (a whole GIN index is no
    # cheap list of the open reports, whatever the planner's estimate).
    for other in (filters, Filters(categories=("pothole",)), Filters(overdue=True)):
        plan = explain(session, queries.desk_queue_query(desk_id, other, "priority", None, 50))
        assert "_trgm" not in plan, plan


def explain(session, statement) -> str:
    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    rows = session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
    return "\n".join(r[0] for r in rows)


def _same_order(body: str) -> str:
    """``body`` as JSON written again: equal for two documents with the same fields in the
    same order and the same values, whatever the spacing."""
    return json.dumps(json.loads(body), ensure_ascii=False)


def test_the_page_built_by_postgresql_is_the_page_present_writes_field_for_field(
    app, client, agent, add_report, crews
):
    """The list's items are JSON built by PostgreSQL (queries.item_document); the GeoJSON
    variant and the crews' lists write them in Python (service.present). Both give the same
    fields in the same order with the same values: times with and without microseconds,
    no due date, no commune, no crew, no address or description, integral coordinates,
    answers with accents, routing's full crew, and the distance from a point."""
    full = add_report(status="assigned", crew_id=crews["voirie-nord"], due_in_hours=-3.25)
    set_columns(
        app,
        full,
        answers={"taille": "très grande", "profondeur_cm": 12.5, "photos": [1, "é"]},
        routing={"crew": crew_chosen("voirie-nord", 231, 13, None)},
    )
    bare = add_report(due_in_hours=None, commune=None, description=None)
    set_columns(
        app,
        bare,
        address=None,
        geom=text("ST_SetSRID(ST_MakePoint(5, 47), 4326)"),
        created_at=datetime(2026, 3, 1, 8, 30, tzinfo=UTC),
    )
    add_report(priority=1, description="Plaque d’égout « bruyante »", at=EAST)
    add_report(priority=2, status="reopened", at=None)
    for params in (
        {},
        {"limit": 2},
        {"sort": "age", "limit": 3},
        {"sort": "distance", "near": f"{FAR_EAST[0]},{FAR_EAST[1]}", "limit": 2},
    ):
        response = get_queue(client, agent, **params)
        assert response.status_code == 200, response.get_data(as_text=True)
        with app.test_request_context(headers=agent):
            from app.auth.identity import current_identity
            from app.extensions import db
            from app.worklists import service

            page = service.desk_queue(
                db.session,
                viewer=current_identity(),
                desk="voirie",
                filters=Filters(),
                sort=params.get("sort", "priority"),
                near=FAR_EAST if "near" in params else None,
                cursor=None,
                limit=params.get("limit", 50),
            )
        assert len(page["items"]) == params.get("limit", 4)
        expected = json.dumps(page, ensure_ascii=False)
        assert _same_order(response.get_data(as_text=True)) == _same_order(expected), params
