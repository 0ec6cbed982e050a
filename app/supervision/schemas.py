import marshmallow as ma

from app.reports.models import OPEN_STATUSES
from app.reports.schemas import CrewRefSchema, ReportDeskSchema
from app.supervision.service import RESOLVED_STATES, WINDOW_DAYS

_OPEN = ", ".join(OPEN_STATUSES)


class DesksArgsSchema(ma.Schema):
    include_resolved = ma.fields.Boolean(
        load_default=False,
        metadata={
            "description": f"Also count the reports resolved and closed whose last resolution "
            f"is in the last {WINDOW_DAYS} days ({', '.join(RESOLVED_STATES)} in `counts`)"
        },
    )


class WindowSchema(ma.Schema):
    days = ma.fields.Integer(required=True)
    since = ma.fields.AwareDateTime(required=True, metadata={"description": "Included"})
    until = ma.fields.AwareDateTime(required=True, metadata={"description": "Included: now"})


class OldestOpenSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    reference = ma.fields.String(required=True)
    created_at = ma.fields.AwareDateTime(required=True)
    age_seconds = ma.fields.Integer(required=True)


class DeskServiceLevelSchema(ma.Schema):
    resolved = ma.fields.Integer(
        required=True,
        metadata={
            "description": f"Reports resolved or closed now whose last resolution is in the "
            f"last {WINDOW_DAYS} days"
        },
    )
    within_service_level = ma.fields.Integer(
        required=True,
        metadata={
            "description": "Of them, resolved no later than their due date (else their "
            "creation plus their category's service level): the open data statistics' rule"
        },
    )
    share = ma.fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "within_service_level / resolved, to 4 places; null when none"},
    )


def _per_state(description: str) -> ma.fields.Dict:
    return ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        required=True,
        metadata={"description": description},
    )


class DeskOverviewSchema(ma.Schema):
    desk = ma.fields.Nested(ReportDeskSchema, required=True)
    is_fallback = ma.fields.Boolean(required=True)
    counts = _per_state(
        f"Open reports per state ({_OPEN}, zeros included); with include_resolved, also "
        f"those resolved and closed in the window"
    )
    open = ma.fields.Integer(required=True, metadata={"description": "Open reports"})
    overdue = ma.fields.Integer(
        required=True,
        metadata={"description": "Open reports past their due date (the queues' overdue)"},
    )
    oldest_open = ma.fields.Nested(
        OldestOpenSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The desk's oldest open report and its age; null if none"},
    )
    service_level = ma.fields.Nested(DeskServiceLevelSchema, required=True)


class DesksOverviewSchema(ma.Schema):
    as_of = ma.fields.AwareDateTime(required=True, metadata={"description": "The server's now"})
    window = ma.fields.Nested(WindowSchema, required=True)
    desks = ma.fields.List(ma.fields.Nested(DeskOverviewSchema), required=True)


class CrewWorkloadSchema(ma.Schema):
    crew = ma.fields.Nested(CrewRefSchema, required=True)
    desk = ma.fields.Nested(ReportDeskSchema, required=True)
    active = ma.fields.Boolean(required=True)
    capacity = ma.fields.Integer(
        required=True, metadata={"description": "How many open reports the crew can carry"}
    )
    workload = ma.fields.Integer(
        required=True,
        metadata={
            "description": "Open reports the crew holds, as routing counts them when it "
            "chooses a crew: assigned, in progress, or proposed to it and not yet assigned"
        },
    )
    tickets = ma.fields.Integer(
        required=True,
        metadata={"description": "Of the workload, assigned or in progress (the crew's list)"},
    )
    by_state = _per_state(f"The workload per state ({_OPEN}, zeros included)")
    overdue = ma.fields.Integer(
        required=True, metadata={"description": "Of the workload, past its due date"}
    )
    load_ratio = ma.fields.Float(
        required=True,
        metadata={"description": "workload / capacity, as routing ranks crews (1: full)"},
    )
    over_capacity = ma.fields.Boolean(
        required=True,
        metadata={"description": "workload at or over capacity: routing's over_capacity"},
    )


class CrewsWorkloadSchema(ma.Schema):
    as_of = ma.fields.AwareDateTime(required=True, metadata={"description": "The server's now"})
    crews = ma.fields.List(ma.fields.Nested(CrewWorkloadSchema), required=True)
