"""The control centre's organisation: desks, field crews and the rules that route reports."""

from datetime import datetime, time

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.extensions import db
from app.personal_data import not_personal


class Desk(db.Model):
    """A desk of the unified control centre: it owns a queue of reports."""

    __tablename__ = "desks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_fr: Mapped[str] = mapped_column(String(120), info=not_personal("a desk's name"))
    name_en: Mapped[str] = mapped_column(String(120), info=not_personal("a desk's name"))
    # The desk that receives what no routing rule claims (Allô Mairie).
    is_fallback: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Crew(db.Model):
    """A field crew, attached to the desk that dispatches it."""

    __tablename__ = "crews"
    __table_args__ = (CheckConstraint("capacity > 0", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(
        String(120), info=not_personal("a crew's or a routing rule's name")
    )
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="RESTRICT"), index=True)
    # Category codes the crew handles.
    skills: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    # Where it works; null means the whole service area.
    zone = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True),
        nullable=True,
        deferred=True,
        info=not_personal("a crew's or a routing rule's area of the city"),
    )
    depot = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False),
        nullable=True,
        deferred=True,
        info=not_personal("a crew's depot, a city building"),
    )
    # {"mon": [["07:30", "16:00"]], ...}: shape checked by schemas.WorkingHoursSchema.
    working_hours: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    # How many open reports the crew can carry.
    capacity: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    desk: Mapped[Desk] = relationship(lazy="joined")

    zone_geojson = column_property(func.ST_AsGeoJSON(zone, 6), deferred=True)
    depot_geojson = column_property(func.ST_AsGeoJSON(depot, 6), deferred=True)


class RoutingRule(db.Model):
    """Sends reports of a category (any when null), optionally in a zone, a season or a
    daily time window, to a desk. The first active matching rule by priority wins."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        CheckConstraint("months <@ '{1,2,3,4,5,6,7,8,9,10,11,12}'", name="months_valid"),
        CheckConstraint(
            "(starts_at IS NULL) = (ends_at IS NULL) AND starts_at <> ends_at",
            name="time_window_valid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), info=not_personal("a routing rule's name"))
    # Lower first.
    priority: Mapped[int] = mapped_column(Integer, unique=True)
    category_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"), index=True)
    desk_id: Mapped[int] = mapped_column(ForeignKey("desks.id", ondelete="RESTRICT"), index=True)
    zone = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True),
        nullable=True,
        deferred=True,
        info=not_personal("the area of the city a rule applies to"),
    )
    # Months of the year (1-12) in Europe/Paris time, e.g. {11,12,1,2,3} for winter.
    months: Mapped[list[int] | None] = mapped_column(ARRAY(SmallInteger))
    # Local daily window [starts_at, ends_at); wraps midnight when starts_at > ends_at.
    starts_at: Mapped[time | None] = mapped_column(Time)
    ends_at: Mapped[time | None] = mapped_column(Time)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    desk: Mapped[Desk] = relationship(lazy="joined")

    zone_geojson = column_property(func.ST_AsGeoJSON(zone, 6), deferred=True)
