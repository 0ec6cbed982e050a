"""The statistics tables, on hand-made reports and histories whose figures are worked out
here by hand."""

from datetime import date, datetime

import pytest
from sqlalchemy import update

from app.opendata import statistics
from app.opendata.tables import TABLES
from app.reports.models import Report
from tests.opendata.conftest import database

CREATED = 24 * 30  # hours ago: every history step below is in the past


@pytest.fixture
def change(app):
    """``change(report_id, **values)``: set columns of a report as another writer would."""

    def set_values(report_id: int, **values) -> None:
        with database(app) as session:
            session.execute(update(Report).where(Report.id == report_id).values(**values))
            session.commit()

    return set_values


@pytest.fixture
def resolved_after(add_report, history):
    """``resolved_after(hours, **report)``: a report acknowledged at once, resolved ``hours``
    after its creation."""

    def add(hours: float, **fields) -> int:
        report_id = add_report(created_hours_ago=CREATED, **fields)
        history(report_id, ("acknowledged", 0.5), ("resolved", hours))
        return report_id

    return add


def table(app, name: str, min_count: int = 1, **filters) -> list[dict]:
    with database(app) as session:
        return TABLES[name].rows(session, statistics.Filters(**filters), min_count)


def by_group(rows: list[dict]) -> dict[tuple, dict]:
    return {(row["category"], row["desk"]): row for row in rows}


@pytest.mark.parametrize("name", TABLES)
def test_a_tables_rows_as_published_are_its_querys_columns_in_order(name):
    """One entry per table: the API's items, the JSON file's and the CSV columns agree."""
    entry = TABLES[name]
    assert list(entry.row().fields) == entry.columns()
    assert list(entry.column_types()) == entry.columns()


def test_median_and_90th_percentile_per_category_desk_and_overall(app, resolved_after):
    for hours in (10, 20, 30, 40, 100):
        resolved_after(hours, category="pothole", desk="voirie")
    for hours in (5, 7):
        resolved_after(hours, category="streetlight_out", desk="eclairage")
    rows = by_group(table(app, "resolution-times"))
    # Continuous percentiles (linear interpolation between the two nearest ranks, rank
    # p * (n - 1) from 0): potholes 10 20 30 40 100: median rank 2 -> 30; p90 rank 3.6 ->
    # 40 + 0.6 * (100 - 40) = 76. Lights 5 7: median 6; p90 5 + 0.9 * 2 = 6.8. All seven
    # (5 7 10 20 30 40 100): median rank 3 -> 20; p90 rank 5.4 -> 40 + 0.4 * 60 = 64.
    expected = {
        ("pothole", "voirie"): (5, 30.0, 76.0),
        ("pothole", None): (5, 30.0, 76.0),
        ("streetlight_out", "eclairage"): (2, 6.0, 6.8),
        ("streetlight_out", None): (2, 6.0, 6.8),
        (None, "voirie"): (5, 30.0, 76.0),
        (None, "eclairage"): (2, 6.0, 6.8),
        (None, None): (7, 20.0, 64.0),
    }
    assert {
        group: (row["resolved"], row["median_hours"], row["p90_hours"])
        for group, row in rows.items()
    } == expected
    assert not any(row["suppressed"] for row in rows.values())


def test_after_a_reopen_the_last_resolution_counts_and_a_reopened_report_does_not(
    app, add_report, history
):
    again = add_report(created_hours_ago=CREATED)
    history(again, ("acknowledged", 1), ("resolved", 10), ("reopened", 20), ("resolved", 50))
    still_open = add_report(created_hours_ago=CREATED)
    history(still_open, ("acknowledged", 1), ("resolved", 10), ("reopened", 20))
    rejected = add_report(created_hours_ago=CREATED)
    history(rejected, ("rejected", 3))
    closed = add_report(created_hours_ago=CREATED)
    history(closed, ("resolved", 4), ("closed", 30))
    overall = by_group(table(app, "resolution-times"))[(None, None)]
    # 50 h (the last resolution) and 4 h (closed after being resolved at 4 h): median 27,
    # p90 4 + 0.9 * 46 = 45.4.
    assert (overall["resolved"], overall["median_hours"], overall["p90_hours"]) == (2, 27.0, 45.4)


@pytest.mark.parametrize("narrow", [False, True], ids=["whole-history", "one-category"])
def test_a_note_on_a_resolved_report_moves_neither_its_time_to_resolve_nor_its_service_level(
    app, add_report, history, narrow
):
    # Due 24 h after creation, resolved at 10 h; the desk writes on it at 30 h and 100 h.
    report_id = add_report(created_hours_ago=CREATED, due_in_hours=-CREATED + 24)
    history(
        report_id,
        ("acknowledged", 1),
        ("resolved", 10, "resolve"),
        ("resolved", 30, "note"),
        ("resolved", 100, "public_update"),
    )
    # Both ways of reading the history: every report's at once, or the kept reports' only.
    filters = {"category": "pothole"} if narrow else {}
    times = by_group(table(app, "resolution-times", **filters))[(None, None)]
    assert (times["resolved"], times["median_hours"], times["p90_hours"]) == (1, 10.0, 10.0)
    level = by_group(table(app, "service-level", **filters))[(None, None)]
    assert (level["resolved"], level["within_service_level"], level["share"]) == (1, 1, 1.0)


def test_duplicates_and_reports_without_a_position_are_not_counted(
    app, add_report, resolved_after, change
):
    original = resolved_after(10)
    duplicate = resolved_after(500)
    change(duplicate, duplicate_of_id=original)
    resolved_after(700, at=None)
    assert by_group(table(app, "resolution-times"))[(None, None)]["resolved"] == 1
    rows = table(app, "reports-by-month")
    assert sum(row["reports"] for row in rows) == 1


def test_without_any_resolved_report_the_tables_are_empty(app, add_report, history):
    history(add_report(created_hours_ago=CREATED), ("acknowledged", 1))
    assert table(app, "resolution-times") == []
    assert table(app, "service-level") == []
    assert len(table(app, "reports-by-month")) == 1


def test_service_level_share_uses_the_due_date_else_the_categorys_hours(app, resolved_after):
    # Due 24 h after creation: met at 10 h, missed at 30 h.
    resolved_after(10, due_in_hours=-CREATED + 24)
    resolved_after(30, due_in_hours=-CREATED + 24)
    # No due date: a pothole's service level is 168 h, a dark street light's 72 h.
    resolved_after(100, due_in_hours=None)
    resolved_after(170, due_in_hours=None)
    resolved_after(80, due_in_hours=None, category="streetlight_out", desk="eclairage")
    rows = by_group(table(app, "service-level"))
    got = {g: (r["resolved"], r["within_service_level"], r["share"]) for g, r in rows.items()}
    assert got[("pothole", "voirie")] == (4, 2, 0.5)
    assert got[("streetlight_out", None)] == (1, 0, 0.0)
    assert got[(None, None)] == (5, 2, 0.4)


def test_a_figure_from_fewer_reports_than_the_threshold_is_suppressed(app, resolved_after):
    for hours in (10, 20, 30):
        resolved_after(hours, category="pothole", desk="voirie")
    resolved_after(5, category="streetlight_out", desk="eclairage")
    rows = by_group(table(app, "resolution-times", min_count=3))
    assert rows[("pothole", "voirie")]["median_hours"] == 20.0
    assert not rows[("pothole", "voirie")]["suppressed"]
    assert rows[("streetlight_out", "eclairage")] == {
        "category": "streetlight_out",
        "desk": "eclairage",
        "resolved": None,
        "median_hours": None,
        "p90_hours": None,
        "suppressed": True,
    }
    assert rows[(None, None)]["resolved"] == 4
    levels = by_group(table(app, "service-level", min_count=3))
    assert levels[("streetlight_out", None)]["share"] is None
    assert levels[("streetlight_out", None)]["within_service_level"] is None


@pytest.fixture
def months(add_report, change):
    """Reports on either side of the end of January in Paris (UTC+1 in winter)."""

    def add(at: str, **values) -> int:
        report_id = add_report(commune="21231")
        change(report_id, created_at=datetime.fromisoformat(at), **values)
        return report_id

    add("2026-01-31T22:30:00+00:00")  # 23:30 in Paris: January
    add("2026-01-31T23:30:00+00:00")  # 00:30 on 1 February in Paris
    add("2026-02-10T08:00:00+00:00")
    add("2026-02-27T08:00:00+00:00")
    add("2026-02-11T08:00:00+00:00", source="open311")
    add("2026-02-12T08:00:00+00:00", source="sensor")
    add("2026-02-13T08:00:00+00:00", source="sensor", commune_insee="21166")
    return add


def test_reports_by_month_are_counted_in_paris_months_per_category_commune_source(app, months):
    got = [
        (r["month"], r["category"], r["commune"], r["source"], r["reports"])
        for r in table(app, "reports-by-month")
    ]
    assert got == [
        ("2026-01", "pothole", "21231", "app", 1),
        ("2026-02", "pothole", "21166", "sensor", 1),
        ("2026-02", "pothole", "21231", "app", 3),
        ("2026-02", "pothole", "21231", "open311", 1),
        ("2026-02", "pothole", "21231", "sensor", 1),
    ]
    suppressed = table(app, "reports-by-month", min_count=3)
    assert [(r["reports"], r["suppressed"]) for r in suppressed] == [
        (None, True),
        (None, True),
        (3, False),
        (None, True),
        (None, True),
    ]


def test_the_filters_select_the_months_category_commune_and_source(app, months):
    def count(**filters) -> int:
        return sum(r["reports"] for r in table(app, "reports-by-month", **filters))

    assert count(since=date(2026, 2, 1)) == 6
    assert count(until=date(2026, 1, 1)) == 1
    assert count(since=date(2026, 2, 1), until=date(2026, 2, 1), source="sensor") == 2
    assert count(commune="21166") == 1
    assert count(category="graffiti") == 0


def test_sources_split_what_sensors_and_residents_opened(app, months):
    got = [(r["month"], r["source"], r["opened_by"], r["reports"]) for r in table(app, "sources")]
    assert got == [
        ("2026-01", "app", "resident", 1),
        ("2026-02", "app", "resident", 3),
        ("2026-02", "open311", "resident", 1),
        ("2026-02", "sensor", "sensor", 2),
    ]


def test_the_hours_to_resolve_are_the_exports_time_to_resolve(app, add_report, history):
    from app.opendata.queries import export_rows

    again = add_report(created_hours_ago=CREATED)
    history(again, ("acknowledged", 1), ("resolved", 10), ("reopened", 20), ("resolved", 47.5))
    history(add_report(created_hours_ago=CREATED), ("resolved", 12.25), ("closed", 30))
    history(add_report(created_hours_ago=CREATED), ("resolved", 3), ("reopened", 5))
    with database(app) as session:
        exported = sorted(
            row.time_to_resolve_seconds / 3600
            for row in session.execute(export_rows(grid_m=50, media_base=""))
            if row.time_to_resolve_seconds is not None
        )
    assert exported == [12.25, 47.5]
    rows = table(app, "resolution-times", min_count=1)
    overall = by_group(rows)[(None, None)]
    # Two values: the median is their mean, the 90th percentile 12.25 + 0.9 * 35.25.
    assert overall["resolved"] == len(exported)
    assert overall["median_hours"] == round(sum(exported) / 2, 1)
    assert overall["p90_hours"] == round(12.25 + 0.9 * (47.5 - 12.25), 1)
    # A period narrows the reports: their events are looked up one report at a time, to
    # the same figures.
    for name in ("resolution-times", "service-level"):
        everything = table(app, name)
        assert table(app, name, since=date(2000, 1, 1)) == everything
        assert table(app, name, category="pothole") == everything
