"""Reading the desks' counters of open work (app.workload): a count is the sum of its
slots. A crew's is read by routing (app.routing.choice.counted_workload)."""

from sqlalchemy import Select, func, select

from app.workload.models import DeskOpenCount


def desk_open_counts(desk_id) -> Select:
    """(status, reports) of the desk's open reports, per state with a counter."""
    return (
        select(DeskOpenCount.status, func.sum(DeskOpenCount.reports).label("reports"))
        .where(DeskOpenCount.desk_id == desk_id)
        .group_by(DeskOpenCount.status)
    )
