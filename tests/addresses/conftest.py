"""A small address register in the BAN's CSV shape, on real places of the metropolis."""

import io

import pytest

from app.addresses import importing

HEADER = (
    "id;id_fantoir;numero;rep;nom_voie;code_postal;code_insee;nom_commune;"
    "code_insee_ancienne_commune;nom_ancienne_commune;x;y;lon;lat;type_position;alias;"
    "nom_ld;libelle_acheminement;nom_afnor;source_position;source_nom_voie;"
    "certification_commune;cad_parcelles"
)
# (id, numero, rep, nom_voie, code_postal, code_insee, nom_commune, lon, lat)
REGISTER = [
    ("21231_0420_00012", 12, "", "Rue de la Liberté", "21000", "21231", "Dijon", 5.0380, 47.3221),
    ("21231_0420_00014", 14, "", "Rue de la Liberté", "21000", "21231", "Dijon", 5.0384, 47.3222),
    (
        "21231_0420_00012_bis",
        12,
        "bis",
        "Rue de la Liberté",
        "21000",
        "21231",
        "Dijon",
        5.0382,
        47.3221,
    ),
    ("21231_0150_00003", 3, "", "Place Darcy", "21000", "21231", "Dijon", 5.0335, 47.3224),
    ("21231_0999_00007", 7, "", "Rue Chabot-Charny", "21000", "21231", "Dijon", 5.0440, 47.3190),
    # The same street name and number in Chenôve: without the commune, ambiguous.
    ("21166_0300_00007", 7, "", "Rue Chabot-Charny", "21300", "21166", "Chenôve", 5.0060, 47.2915),
]


def line(row) -> str:
    identifier, numero, rep, voie, postcode, insee, commune, lon, lat = row
    fantoir = [*identifier.split("_"), "0000"][1]
    return (
        f"{identifier};{insee}_{fantoir};{numero};{rep};{voie};{postcode};{insee};{commune};;;"
        f"850000.00;6700000.00;{lon};{lat};entrée;;;{commune.upper()};{voie.upper()};"
        "commune;commune;1;"
    )


def ban_csv(rows=REGISTER, *extra_lines: str) -> io.StringIO:
    return io.StringIO("\n".join([HEADER, *(line(r) for r in rows), *extra_lines]) + "\n")


def add_addresses(session, rows) -> None:
    """``rows`` (in REGISTER's shape) added to the register, as an import does."""
    report = importing.import_file(session, ban_csv(rows))
    assert report.inserted + report.updated == len(rows), report.errors


@pytest.fixture
def register(session):
    """The register above, imported."""
    report = importing.import_file(session, ban_csv())
    assert report.inserted == len(REGISTER), report.errors
    return REGISTER
