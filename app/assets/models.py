from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.personal_data import not_personal

# Each kind of equipment, in French and English (for staff: sensor-opened tickets...).
KIND_NAMES = {
    "street_light": ("lampadaire", "street light"),
    "traffic_signal": ("feu tricolore", "traffic signal"),
    "camera": ("caméra", "camera"),
    "drain": ("avaloir", "drain"),
    "sign": ("panneau", "sign"),
    "bench": ("banc", "bench"),
    "poi": ("lieu sensible", "sensitive place"),
}
KINDS = tuple(KIND_NAMES)
STATUSES = ("in_service", "faulty", "out_of_service", "removed")
REFERENCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


CITY_EQUIPMENT = not_personal(
    "the city's equipment (a street light, a bin): its name and place, no person"
)


class Asset(db.Model):
    """A piece of equipment at a place, known by the reference its owner gives it."""

    __tablename__ = "assets"
    __table_args__ = (
        CheckConstraint(_one_of("kind", KINDS), name="kind"),
        CheckConstraint(_one_of("status", STATUSES), name="status"),
        # Nearest working equipment of a kind (routing's snap): one GiST scan (btree_gist).
        Index(
            "ix_assets_working_kind_geom_l93",
            "kind",
            "geom_l93",
            postgresql_using="gist",
            postgresql_where=text("status <> 'removed'"),
        ),
    )
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # This index serves listings by kind; "nearest of kind K" has its own (above).
    kind: Mapped[str] = mapped_column(String(20), index=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200), info=CITY_EQUIPMENT)
    geom = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=True), nullable=False, info=CITY_EQUIPMENT
    )
    # Lambert-93, metres: what nearest-asset queries and their GiST index use.
    geom_l93 = mapped_column(
        Geometry("POINT", srid=2154, spatial_index=True),
        Computed("ST_Transform(geom, 2154)", persisted=True),
        info=CITY_EQUIPMENT,
    )
    status: Mapped[str] = mapped_column(
        String(20), default="in_service", server_default="in_service"
    )
    attributes: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    commune_insee: Mapped[str | None] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
