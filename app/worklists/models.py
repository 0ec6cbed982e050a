"""The desks' queue versions (app.worklists.cache): rows written by the triggers of
migration d4f6a8c0e2b4 only, read by the cache of the desk queue's pages."""

from sqlalchemy import BigInteger, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class DeskQueueVersion(db.Model):
    """A desk's queue version, in slots as the counters of open work (app.workload.models):
    the version is the sum of the desk's ``changes``, moved by every change that can alter
    its queue page or header counts."""

    __tablename__ = "desk_queue_versions"

    desk_id: Mapped[int] = mapped_column(
        ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    changes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
