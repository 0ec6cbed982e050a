"""Reports put straight into a state, and actions sent as a client would."""

from datetime import datetime

from geoalchemy2 import WKTElement
from sqlalchemy import func, select

from app.categories.models import Category
from app.extensions import db
from app.organisation.models import Crew, Desk
from app.reports.models import Report
from app.triage.models import ReportEvent

DIJON = (5.0415, 47.3220)


def make_report(
    app,
    *,
    status: str = "new",
    desk: str | None = "voirie",
    crew: str | None = "voirie-nord",
    reporter: str = "ana",
    category: str = "pothole",
    at: tuple[float, float] = DIJON,
    **fields,
) -> int:
    """A report in ``status`` at ``desk`` with ``crew``, as if triage had brought it there."""
    with app.app_context():
        session = db.session
        report = Report(
            category_id=session.scalar(select(Category.id).where(Category.code == category)),
            status=status,
            geom=WKTElement(f"POINT({at[0]} {at[1]})", srid=4326),
            commune_insee="21231",
            reporter_uid=reporter,
            desk_id=desk and session.scalar(select(Desk.id).where(Desk.code == desk)),
            crew_id=crew and session.scalar(select(Crew.id).where(Crew.code == crew)),
            routing={},
            **fields,
        )
        session.add(report)
        session.commit()
        report_id = report.id
        db.session.remove()
    return report_id


def etag_of(client, headers, report_id) -> str:
    response = client.get(f"/v1/reports/{report_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.headers["ETag"]


def act(client, headers, report_id, action, body=None, *, etag=None, staff_headers=None):
    """POST the action with the report's current ETag (read as ``staff_headers`` or the
    caller) unless ``etag`` is given."""
    if etag is None:
        etag = etag_of(client, staff_headers or headers, report_id)
    return client.post(
        f"/v1/reports/{report_id}/actions/{action.replace('_', '-')}",
        headers={**headers, "If-Match": etag},
        json=body or {},
    )


def history(client, headers, report_id) -> list[dict]:
    response = client.get(f"/v1/reports/{report_id}/history", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def database_now(app) -> datetime:
    """The database's time: the clock that stamps events and that actions compare with (a
    test anchors on it, never on this process's clock)."""
    with app.app_context():
        now = db.session.scalar(select(func.now()))
        db.session.remove()
    return now


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
