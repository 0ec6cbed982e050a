"""What tests put straight in the database, as the service would have left it: one maker per
kind of row, each taking ``now=`` where it dates something (fixtures are imported by the
conftest of the tests that use them)."""

import contextlib
import itertools
from datetime import datetime, timedelta

import pytest
from flask import Flask
from geoalchemy2 import WKTElement
from sqlalchemy import func, select, update

from app.assets.service import put_asset
from app.categories.models import Category
from app.extensions import db
from app.organisation.models import Crew, Desk
from app.organisation.service import create_rule, put_crew
from app.photos.models import READY, Photo
from app.reports.models import Report, ReportContact
from app.triage.models import ReportEvent

# Central Dijon, and a point about 1.1 km east of it.
DIJON = (5.0415, 47.3220)


@contextlib.contextmanager
def database(app):
    """A session of its own: tests that call the API hold no application context, so each
    request has its own (and its own ``g``), as in production."""
    with app.app_context():
        yield db.session
        db.session.remove()


def add_equipment_assets(session, kind: str, devices) -> None:
    """The simulator's ``devices`` (a reference, lon and lat each) in the asset register, in
    service, of ``kind``."""
    for device in devices:
        put_asset(
            session,
            device.reference,
            {
                "kind": kind,
                "status": "in_service",
                "location": {"lon": device.lon, "lat": device.lat},
            },
        )


def add_equipment_rules(session) -> None:
    """Who runs what equipment: street lights the lighting desk's, signals the traffic desk's
    (the desks whose agents may command them)."""
    for name, priority, desk, category in (
        ("Éclairage", 1, "eclairage", "streetlight_out"),
        ("Feux", 2, "circulation", "traffic_light_fault"),
    ):
        create_rule(
            session, {"name": name, "priority": priority, "desk": desk, "category": category}
        )


@pytest.fixture
def crews(app, crew_code) -> dict[str, int]:
    """The members' crew (voirie-nord, from conftest) and a second crew of the same desk."""
    with database(app) as session:
        put_crew(session, code="voirie-sud", name="Voirie Sud", desk="voirie")
        return {c.code: c.id for c in session.scalars(select(Crew))}


def make_report(
    where,
    *,
    now: datetime | None = None,
    status: str = "new",
    category: str = "pothole",
    desk: str | None = "voirie",
    crew: str | None = "voirie-nord",
    at: tuple[float, float] | None = DIJON,
    commune: str | None = "21231",
    reporter: str = "ana",
    created_hours_ago: float | None = None,
    due_in_hours: float | None = None,
    contact: dict | None = None,
    **columns,
) -> int:
    """A report put straight in the database as if intake and triage had brought it to
    ``status``, at ``desk`` with ``crew`` (codes, or None; or ``desk_id=``, ``crew_id=``): a
    pothole (or ``category_id=``) in central Dijon (or ``geom=``) by ana unless told
    otherwise, other columns as given; returns
    its id. ``where`` is the app (the report committed in a session of its own) or a session
    (committed in it).

    Times count from ``now`` (a test's fixed instant; the database's clock when not given):
    created ``created_hours_ago`` hours before it (else ``created_at=``, else by the
    database), due ``due_in_hours`` after it."""
    with contextlib.ExitStack() as stack:
        session = stack.enter_context(database(where)) if isinstance(where, Flask) else where

        def id_of(model, code):
            return session.scalar(select(model.id).where(model.code == code))

        if created_hours_ago is not None or due_in_hours is not None:
            now = now or session.scalar(select(func.now()))
        if created_hours_ago is not None:
            columns["created_at"] = now - timedelta(hours=created_hours_ago)
        if due_in_hours is not None:
            columns["due_at"] = now + timedelta(hours=due_in_hours)
        columns.setdefault("category_id", id_of(Category, category))
        columns.setdefault("desk_id", desk and id_of(Desk, desk))
        columns.setdefault("crew_id", crew and id_of(Crew, crew))
        if at is not None:
            columns.setdefault("geom", WKTElement(f"POINT({at[0]!r} {at[1]!r})", srid=4326))
        report = Report(status=status, commune_insee=commune, reporter_uid=reporter, **columns)
        if contact:
            report.contact = ReportContact(**contact)
        session.add(report)
        session.commit()
        return report.id


@pytest.fixture
def add_report(app, now):
    """``add_report(**options)``: a report of the voirie desk, new, pothole, priority 3, due in
    a day, in central Dijon, created an hour ago, by no crew, numbered, unless told otherwise
    (the options of ``make_report``); returns its id.

    Ages and due dates count from ``now``: by default the database's clock when the test
    started, the one the service compares them with (app.clock)."""
    started = now
    serial = itertools.count(1)

    def add(
        *,
        crew_id=None,
        due_in_hours: float | None = 24,
        created_hours_ago: float = 1,
        reference=None,
        now: datetime | None = None,
        **options,
    ) -> int:
        n = next(serial)
        return make_report(
            app,
            now=now or started,
            crew=None,
            crew_id=crew_id,
            due_in_hours=due_in_hours,
            created_hours_ago=created_hours_ago,
            reference=reference or f"DIJ-2026-9{n:05d}",
            address=f"{n} rue de la Liberté",
            reporter=f"resident-{n}",
            **options,
        )

    return add


def add_event(app, report_id: int, at, action: str, from_status: str, to_status: str, **fields):
    """An event of the report's history as triage writes it, at ``at`` (an instant, or SQL
    such as ``func.now() - timedelta(days=31)``), by an agent unless told otherwise."""
    with app.app_context():
        db.session.add(
            ReportEvent(
                report_id=report_id,
                created_at=at,
                actor_uid=fields.pop("actor_uid", "agent-1"),
                actor_role=fields.pop("actor_role", "agent"),
                action=action,
                from_status=from_status,
                to_status=to_status,
                public=fields.pop("public", from_status != to_status),
                **fields,
            )
        )
        db.session.commit()
        db.session.remove()


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
