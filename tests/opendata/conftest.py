"""Helpers of the open data tests: reports straight in the database, their history, equipment."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from app.assets.service import put_asset
from app.photos.models import READY, Photo
from app.reports.models import Report
from app.triage.models import ReportEvent
from tests.factories import add_report, database


@pytest.fixture
def history(app):
    """``history(report_id, (to_status, hours_after_creation[, action]), ...)``: events as
    triage writes them (the report's status is set to the last one). A step to the state
    the report is in is an action that keeps it, such as a ``note``."""

    def add(report_id: int, *steps: tuple) -> None:
        with database(app) as session:
            report = session.get(Report, report_id)
            previous = report.status
            for to_status, hours, *action in steps:
                session.add(
                    ReportEvent(
                        report_id=report_id,
                        created_at=report.created_at + timedelta(hours=hours),
                        actor_uid="agent-1",
                        actor_role="agent",
                        action=action[0] if action else "step",
                        from_status=previous,
                        to_status=to_status,
                        public=True,
                    )
                )
                previous = to_status
            session.execute(update(Report).where(Report.id == report_id).values(status=previous))
            session.commit()

    return add


@pytest.fixture
def attach_asset(app):
    """``attach_asset(report_id, reference, lon, lat)``: a street light, the report's equipment."""

    def attach(report_id: int, reference: str, lon: float, lat: float) -> None:
        with database(app) as session:
            asset, _ = put_asset(
                session,
                reference,
                {
                    "kind": "street_light",
                    "status": "in_service",
                    "location": {"lon": lon, "lat": lat},
                },
            )
            session.execute(update(Report).where(Report.id == report_id).values(asset_id=asset.id))
            session.commit()

    return attach


@pytest.fixture
def add_photo(app):
    """``add_photo(report_id, kind, status)``: a photo row as the pipeline leaves it."""

    def add(report_id: int, kind: str = "report", status: str = READY) -> str:
        key = f"display/ab/{report_id:064x}.jpg"
        with database(app) as session:
            session.add(
                Photo(
                    report_id=report_id,
                    kind=kind,
                    status=status,
                    display_key=key if status == READY else None,
                    uploaded_by="someone",
                )
            )
            session.commit()
        return key

    return add


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


__all__ = ["add_report"]
