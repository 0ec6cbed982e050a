"""The request list's statements read an index in the list's order, whatever the filters:
no sequential scan of the reports."""

from datetime import timedelta

import pytest
from sqlalchemy import text

from app.open311.queries import Presentation, search_query
from tools.generators.reports import generate

# Times as how long before now (the database's clock, as the generated reports' dates).
DEFAULTS = {
    "service_codes": None,
    "statuses": None,
    "start": timedelta(days=90),
    "end": None,
    "updated_after": None,
    "updated_before": None,
    "offset": 0,
    "limit": 1000,
}


@pytest.fixture
def many_reports(session):
    """20,000 generated reports over three years, analysed: the list's plans on 1M rows."""
    from tools.generators.organisation import seed_rules

    seed_rules(session)
    for _ in generate(session, 20_000):
        pass
    session.execute(text("ANALYZE reports"))


def explain(session, now, **filters) -> str:
    filters = {
        name: now - value if isinstance(value, timedelta) else value
        for name, value in {**DEFAULTS, **filters}.items()
    }
    statement = search_query(Presentation(grid_m=50), **filters)
    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    rows = session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
    return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({}, "ix_reports_created_at_id"),
        # Open work is a few percent of the reports: walking the list's order or the open
        # reports' partial indexes (a few rows, then sorted) are both cheap, and the planner
        # picks either on such data.
        ({"statuses": {"open"}}, ("ix_reports_created_at_id", "ix_reports_open_desk_created_at")),
        ({"service_codes": ["pothole"]}, "ix_reports_category_created_at_id"),
        (
            {"start": None, "updated_after": timedelta(days=2)},
            "ix_reports_updated_at_id",
        ),
    ],
)
def test_each_list_reads_its_index(session, many_reports, now, filters, index):
    plan = explain(session, now, **filters)
    indexes = (index,) if isinstance(index, str) else index
    assert any(f" {name} " in f"{plan} " for name in indexes), plan
    assert "Seq Scan on reports" not in plan, plan


def test_the_cache_data_version_reads_the_latest_update_from_the_index_alone(session, many_reports):
    from app.open311.cache import VERSION

    rows = session.execute(text(f"EXPLAIN {VERSION.text}")).all()
    plan = "\n".join(r[0] for r in rows)
    assert "Index Only Scan Backward using ix_reports_updated_at_id on reports" in plan, plan
    assert "Seq Scan on reports" not in plan, plan
