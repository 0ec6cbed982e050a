from geoalchemy2 import Geometry
from sqlalchemy import Computed, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.geo.models import LAMBERT93, WGS84
from app.personal_data import not_personal

NATIONAL_REGISTER = not_personal(
    "the national address register (Base Adresse Nationale): public reference data, no person"
)


class Address(db.Model):
    """One address of the Base Adresse Nationale (BAN) within the metropolis."""

    __tablename__ = "addresses"
    __table_args__ = (
        # Geocoding: trigram similarity of the normalised label (pg_trgm).
        Index(
            "ix_addresses_search_trgm",
            "search",
            postgresql_using="gin",
            postgresql_ops={"search": "gin_trgm_ops"},
        ),
    )

    # The BAN's key: <code_insee>_<street code>_<number>[_<suffix>], e.g. 21231_0420_00012.
    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    numero: Mapped[int] = mapped_column(Integer)
    # The number's suffix ("bis", "ter", "a"...), lower case.
    rep: Mapped[str | None] = mapped_column(String(10))
    nom_voie: Mapped[str] = mapped_column(String(200), info=NATIONAL_REGISTER)
    code_postal: Mapped[str] = mapped_column(String(5))
    commune_insee: Mapped[str] = mapped_column(ForeignKey("communes.insee_code"), index=True)
    nom_commune: Mapped[str] = mapped_column(String(120), info=NATIONAL_REGISTER)
    # "12 bis Rue de la Liberté 21000 Dijon", as the BAN writes its labels.
    label: Mapped[str] = mapped_column(String(400), info=NATIONAL_REGISTER)
    # The label lower case, unaccented, punctuation as spaces: what a written address is
    # compared with (see service.normalised).
    search: Mapped[str] = mapped_column(String(400))
    geom = mapped_column(
        Geometry("POINT", srid=WGS84, spatial_index=False), nullable=False, info=NATIONAL_REGISTER
    )
    # Lambert-93, metres: the public projection of a report names the street of the address
    # nearest its snapped position (KNN on this column's GiST index).
    geom_l93 = mapped_column(
        Geometry("POINT", srid=LAMBERT93, spatial_index=True),
        Computed(f"ST_Transform(geom, {LAMBERT93})", persisted=True),
        info=NATIONAL_REGISTER,
    )
