"""A report as the API answers it, for every domain whose endpoints answer with one or take
its id in the path (reports, triage, notifications): the path parameter and the caller's view.
"""

from flask import current_app

from app.auth.identity import current_identity
from app.extensions import db
from app.photos import service as photos
from app.reports import public, service

REPORT_ID_PARAMETER = [
    {
        "in": "path",
        "name": "report_id",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**62},
    }
]


def report_view(report) -> dict:
    """The report as the caller may see it (GET /v1/reports/{report_id}, a triage action's
    answer): its public projection, the reporter's own fields, or its staff's view."""
    shown = photos.photos_of(db.session, [report.id]).get(report.id, ())
    view = service.view_of(
        db.session, report, current_identity(), shown, grid_m=public.grid_of(current_app.config)
    )
    return {**view, "version": report.version}
