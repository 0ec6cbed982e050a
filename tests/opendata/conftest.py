"""Open data tests' fixtures: the makers of tests/factories.py they use, and a February."""

from datetime import datetime

import pytest
from sqlalchemy import update

from app.reports.models import Report
from tests.factories import add_photo, add_report, attach_asset, database, history


@pytest.fixture
def february(app, add_report, history):
    """Four potholes of February 2026 in Dijon (three by the app, resolved after 10, 20 and
    60 hours, due after 24), and one by an Open311 partner."""
    for hours, source in ((10, "app"), (20, "app"), (60, "app"), (None, "open311")):
        report_id = add_report()
        with database(app) as session:
            session.execute(
                update(Report)
                .where(Report.id == report_id)
                .values(
                    created_at=datetime.fromisoformat("2026-02-10T08:00:00+00:00"),
                    due_at=datetime.fromisoformat("2026-02-11T08:00:00+00:00"),
                    source=source,
                )
            )
            session.commit()
        if hours:
            history(report_id, ("acknowledged", 1), ("resolved", hours))


__all__ = ["add_photo", "add_report", "attach_asset", "history"]
