"""The counters of open work (see app.workload): rows written by the triggers on
``reports`` only, read by routing, supervision and the desk header."""

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

# A connection writes the slot numbered by its backend pid (migration f7b9d1e3a5c7), so no
# two open transactions write the same row; slot 0 holds the backfill, repairs and the
# slots of backends gone (service.fold). A count is the sum of its slots; one slot may be
# negative (a report counted by one connection and closed by another).
BASE_SLOT = 0


class CrewWorkload(db.Model):
    """A crew's open work, as app.routing.choice.holds_open_work defines it, in slots."""

    __tablename__ = "crew_workload"

    crew_id: Mapped[int] = mapped_column(
        ForeignKey("crews.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    reports: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DeskOpenCount(db.Model):
    """A desk's open reports in one state (app.reports.models.OPEN_STATUSES), in slots."""

    __tablename__ = "desk_open_counts"

    desk_id: Mapped[int] = mapped_column(
        ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    reports: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
