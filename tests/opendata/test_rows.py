"""The anonymised row of each public report: what it says, and where it puts the report."""

from datetime import datetime

import pytest
from sqlalchemy import func, select, update

from app.opendata.queries import COLUMNS, export_rows
from app.reports.models import Report
from app.users.models import Role
from tests.factories import make_report
from tests.opendata.conftest import database
from tests.triage.helpers import act
from tests.triage.helpers import history as history_of

MEDIA = "https://signale.example/v1/media/"


def rows(app, grid_m=50) -> dict[str, dict]:
    with database(app) as session:
        result = session.execute(export_rows(grid_m=grid_m, media_base=MEDIA)).mappings()
        return {row["reference"]: dict(row) for row in result}


def snapped(app, report_id: int, grid_m: int) -> tuple[float, float]:
    with database(app) as session:
        point = session.scalar(
            select(
                func.ST_AsText(func.ST_Transform(func.ST_SnapToGrid(Report.geom_l93, grid_m), 4326))
            ).where(Report.id == report_id)
        )
    lon, lat = (float(v) for v in point[6:-1].split())
    return lon, lat


def test_a_row_has_the_published_columns_and_nothing_else(app, add_report):
    add_report(reference="DIJ-2026-000001", description="Chez Mme Durand")
    (row,) = rows(app).values()
    assert tuple(row) == (*COLUMNS, "lon", "lat", "day")
    assert row["category"] == "pothole" and row["category_name"] == "Nid-de-poule"
    assert row["commune"] == "21231" and row["commune_name"] == "Dijon"
    assert row["desk"] == "voirie" and row["status"] == "new"
    assert row["source"] == "app" and row["supporters_count"] == 0
    assert row["acknowledged_at"] is None and row["resolved_at"] is None
    assert row["time_to_resolve_seconds"] is None and row["duplicate_of"] is None
    assert row["photo_url"] is None


def test_the_position_is_snapped_to_the_grid_and_never_the_exact_one(app, add_report):
    exact = (5.043217, 47.321789)
    report_id = add_report(reference="DIJ-2026-000001", at=exact)
    row = rows(app)["DIJ-2026-000001"]
    assert row["location_basis"] == "grid_50m"
    assert (row["lon"], row["lat"]) == pytest.approx(snapped(app, report_id, 50), abs=1e-6)
    assert (row["lon"], row["lat"]) != pytest.approx(exact, abs=1e-5)
    coarser = rows(app, grid_m=200)["DIJ-2026-000001"]
    assert coarser["location_basis"] == "grid_200m"
    assert (coarser["lon"], coarser["lat"]) == pytest.approx(snapped(app, report_id, 200), abs=1e-6)


def test_a_report_on_public_equipment_is_on_the_grid_too(app, add_report, attach_asset):
    """One public projection for every channel: Open311 and the API show the grid point of a
    report on equipment, so open data does too (the equipment's position and the grid's
    together would locate the report more finely than either)."""
    report_id = add_report(reference="DIJ-2026-000001", at=(5.043217, 47.321789))
    attach_asset(report_id, "SL-42", 5.04335, 47.32165)
    row = rows(app)["DIJ-2026-000001"]
    assert row["location_basis"] == "grid_50m"
    assert (row["lon"], row["lat"]) == pytest.approx(snapped(app, report_id, 50), abs=1e-6)


def test_acknowledged_and_resolved_dates_come_from_the_history(app, add_report, history):
    report_id = add_report(reference="DIJ-2026-000001", created_hours_ago=100)
    history(report_id, ("acknowledged", 2), ("assigned", 3), ("resolved", 26), ("closed", 30))
    row = rows(app)["DIJ-2026-000001"]
    created = row["created_at"]
    assert (row["acknowledged_at"] - created).total_seconds() == 2 * 3600
    assert (row["resolved_at"] - created).total_seconds() == 26 * 3600
    assert row["time_to_resolve_seconds"] == 26 * 3600
    assert row["status"] == "closed"


def test_a_note_or_an_update_on_a_resolved_report_does_not_move_its_resolution(
    app, add_report, history
):
    report_id = add_report(reference="DIJ-2026-000001", created_hours_ago=100)
    history(
        report_id,
        ("acknowledged", 2),
        ("resolved", 26, "resolve"),
        ("resolved", 27, "note"),
        ("resolved", 40, "public_update"),
        ("closed", 50, "close"),
        ("closed", 60, "note"),
    )
    row = rows(app)["DIJ-2026-000001"]
    assert (row["resolved_at"] - row["created_at"]).total_seconds() == 26 * 3600
    assert row["time_to_resolve_seconds"] == 26 * 3600
    # A note before any state change is not a taking up either.
    noted = add_report(reference="DIJ-2026-000002", created_hours_ago=10, status="assigned")
    history(noted, ("assigned", 1, "note"))
    assert rows(app)["DIJ-2026-000002"]["acknowledged_at"] is None


@pytest.mark.processes
def test_the_published_resolution_is_the_crews_resolve_not_the_desks_later_note(app, client, auth):
    """Through the API, as the issue saw it: resolve, then a note seconds later."""
    crew, agent = auth(Role.CREW), auth(Role.AGENT)
    report_id = make_report(app, status="in_progress", reference="DIJ-2026-000001")
    assert act(client, crew, report_id, "resolve", {"resolution": "repaired"}).status_code == 200
    assert act(client, agent, report_id, "note", {"note": "Contrôlé"}).status_code == 200
    message = {"message": {"fr": "Merci de votre patience"}}
    assert act(client, agent, report_id, "public_update", message).status_code == 200
    events = {e["action"]: e["at"] for e in history_of(client, agent, report_id)}
    row = rows(app)["DIJ-2026-000001"]
    assert row["resolved_at"] == datetime.fromisoformat(events["resolve"])
    assert row["resolved_at"] < datetime.fromisoformat(events["note"])


def test_straight_to_a_crew_counts_as_taken_up(app, add_report, history):
    report_id = add_report(reference="DIJ-2026-000001", created_hours_ago=10)
    history(report_id, ("assigned", 1))
    row = rows(app)["DIJ-2026-000001"]
    assert (row["acknowledged_at"] - row["created_at"]).total_seconds() == 3600


def test_after_a_reopen_only_the_last_resolution_counts(app, add_report, history):
    report_id = add_report(reference="DIJ-2026-000001", created_hours_ago=200)
    history(report_id, ("assigned", 1), ("resolved", 5), ("reopened", 50))
    assert rows(app)["DIJ-2026-000001"]["resolved_at"] is None
    history(report_id, ("assigned", 51), ("resolved", 70))
    row = rows(app)["DIJ-2026-000001"]
    assert row["time_to_resolve_seconds"] == 70 * 3600
    # Taken up the first time, not the second.
    assert (row["acknowledged_at"] - row["created_at"]).total_seconds() == 3600


def test_a_rejected_report_is_not_resolved(app, add_report, history):
    report_id = add_report(reference="DIJ-2026-000001")
    history(report_id, ("rejected", 0.5))
    row = rows(app)["DIJ-2026-000001"]
    assert row["status"] == "rejected" and row["resolved_at"] is None


def test_a_duplicate_names_its_original_by_reference(app, add_report):
    original = add_report(reference="DIJ-2026-000001")
    copy = add_report(reference="DIJ-2026-000002", status="duplicate")
    with database(app) as session:
        session.execute(update(Report).where(Report.id == copy).values(duplicate_of_id=original))
        session.commit()
    assert rows(app)["DIJ-2026-000002"]["duplicate_of"] == "DIJ-2026-000001"


def test_only_a_public_photo_is_given(app, add_report, add_photo):
    with_photo = add_report(reference="DIJ-2026-000001")
    key = add_photo(with_photo, kind="report")
    crews_only = add_report(reference="DIJ-2026-000002")
    add_photo(crews_only, kind="after")
    add_photo(crews_only, kind="reopen")
    processing = add_report(reference="DIJ-2026-000003")
    add_photo(processing, status="processing")
    got = rows(app)
    assert got["DIJ-2026-000001"]["photo_url"] == MEDIA + key
    assert got["DIJ-2026-000002"]["photo_url"] is None
    assert got["DIJ-2026-000003"]["photo_url"] is None


def test_a_report_waiting_for_its_position_is_left_out(app, add_report):
    add_report(reference="DIJ-2026-000001", at=None)
    add_report(reference="DIJ-2026-000002")
    assert list(rows(app)) == ["DIJ-2026-000002"]


def test_rows_come_oldest_first_with_their_day_in_dijon(app, add_report):
    add_report(reference="DIJ-2026-000001", created_hours_ago=1)
    add_report(reference="DIJ-2026-000002", created_hours_ago=50)
    got = list(rows(app).values())
    assert [r["reference"] for r in got] == ["DIJ-2026-000002", "DIJ-2026-000001"]
    with database(app) as session:
        days = session.execute(
            select(func.date(func.timezone("Europe/Paris", Report.created_at))).order_by(
                Report.created_at
            )
        ).scalars()
        assert [r["day"] for r in got] == list(days)
