from geoalchemy2 import Geometry
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.personal_data import not_personal

WGS84 = 4326
# RGF93 / Lambert-93: France's official metric projection, for distances and buffers.
LAMBERT93 = 2154


class Commune(db.Model):
    """One of the 23 communes of Dijon Métropole."""

    __tablename__ = "communes"

    insee_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), info=not_personal("a commune's name"))
    # Deferred: reports join their commune for its name, never for its outline.
    geom = mapped_column(
        Geometry("MULTIPOLYGON", srid=WGS84, spatial_index=True),
        nullable=False,
        deferred=True,
        info=not_personal("a commune's boundary"),
    )
    area_m2: Mapped[int] = mapped_column(Integer)
