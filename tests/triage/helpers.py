"""Actions sent as a client would, and what a test reads back (the database's clock, the
history); reports and events to start from are made by tests/factories.py."""

from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db


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
