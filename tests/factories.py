"""Reports placed straight in the database with exactly the fields a work list looks at
(imported as fixtures by the conftest of the tests that use them)."""

import contextlib
import itertools
from datetime import datetime, timedelta

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy import func, select

from app.categories.models import Category
from app.extensions import db
from app.organisation.models import Crew, Desk
from app.organisation.service import put_crew
from app.reports.models import Report, ReportContact

# Central Dijon, and a point about 1.1 km east of it.
DIJON = (5.0415, 47.3220)


@contextlib.contextmanager
def database(app):
    """A session of its own: tests that call the API hold no application context, so each
    request has its own (and its own ``g``), as in production."""
    with app.app_context():
        yield db.session
        db.session.remove()


@pytest.fixture
def crews(app, crew_code) -> dict[str, int]:
    """The members' crew (voirie-nord, from conftest) and a second crew of the same desk."""
    with database(app) as session:
        put_crew(session, code="voirie-sud", name="Voirie Sud", desk="voirie")
        return {c.code: c.id for c in session.scalars(select(Crew))}


@pytest.fixture
def add_report(app):
    """``add_report(**fields)``: a report of the voirie desk, new, pothole, priority 3, due in
    a day, in central Dijon, created an hour ago, unless told otherwise; returns its id.

    Ages and due dates count from ``now``: by default the database's clock when the test
    started, the one the service compares them with (app.clock)."""
    with database(app) as session:
        categories = {c.code: c.id for c in session.scalars(select(Category))}
        desk_ids = {d.code: d.id for d in session.scalars(select(Desk))}
        started = session.scalar(select(func.now()))
    serial = itertools.count(1)

    def add(
        *,
        desk="voirie",
        status="new",
        category="pothole",
        priority=3,
        due_in_hours: float | None = 24,
        at=DIJON,
        commune="21231",
        crew_id=None,
        description=None,
        created_hours_ago: float = 1,
        contact=None,
        reference=None,
        now: datetime | None = None,
    ) -> int:
        n = next(serial)
        now = now or started
        report = Report(
            reference=reference or f"DIJ-2026-9{n:05d}",
            category_id=categories[category],
            status=status,
            desk_id=desk_ids[desk] if desk else None,
            crew_id=crew_id,
            priority=priority,
            due_at=None if due_in_hours is None else now + timedelta(hours=due_in_hours),
            geom=None if at is None else WKTElement(f"POINT({at[0]} {at[1]})", 4326),
            commune_insee=commune,
            description=description,
            address=f"{n} rue de la Liberté",
            reporter_uid=f"resident-{n}",
            created_at=now - timedelta(hours=created_hours_ago),
        )
        if contact:
            report.contact = ReportContact(**contact)
        with database(app) as session:
            session.add(report)
            session.commit()
            return report.id

    return add
