"""Importing the BAN's CSV: good rows upserted, malformed and outside rows counted and
skipped, a file that is no BAN file refused whole."""

import pytest
from sqlalchemy import func, select

from app.addresses import importing
from app.addresses.models import Address
from tests.addresses.conftest import REGISTER, ban_csv, line


def test_good_rows_are_imported_with_their_label_point_and_commune(session):
    report = importing.import_file(session, ban_csv())
    assert (report.read, report.inserted, report.updated) == (len(REGISTER), len(REGISTER), 0)
    assert (report.malformed, report.outside) == (0, 0)
    address = session.get(Address, "21231_0420_00012_bis")
    assert address.label == "12 bis Rue de la Liberté 21000 Dijon"
    assert address.search == "12 bis rue de la liberte 21000 dijon"
    assert (address.numero, address.rep, address.commune_insee) == (12, "bis", "21231")
    lon, lat = session.execute(
        select(func.ST_X(Address.geom), func.ST_Y(Address.geom)).where(
            Address.id == "21166_0300_00007"
        )
    ).one()
    assert (lon, lat) == (5.0060, 47.2915)
    assert session.get(Address, "21166_0300_00007").commune_insee == "21166"


def test_importing_again_updates_instead_of_duplicating(session):
    importing.import_file(session, ban_csv())
    moved = [(*REGISTER[0][:7], 5.0381, 47.3220)]
    report = importing.import_file(session, ban_csv(moved))
    assert (report.inserted, report.updated) == (0, 1)
    assert session.scalar(select(func.count()).select_from(Address)) == len(REGISTER)
    assert (
        session.scalar(select(func.ST_X(Address.geom)).where(Address.id == REGISTER[0][0]))
        == 5.0381
    )


def test_malformed_rows_are_counted_and_skipped_with_their_line(session):
    good = REGISTER[0]
    bad = [
        line((good[0].replace("00012", "00020"), "douze", *good[2:])),
        line(
            (
                "21231_0420_00021",
                21,
                "",
                "Rue de la Liberté",
                "21000",
                "21231",
                "Dijon",
                "abc",
                47.32,
            )
        ),
        line(("21231_0420_00022", 22, "", "", "21000", "21231", "Dijon", 5.03, 47.32)),
        line(
            ("21231_0420_00023", 23, "", "Rue de la Liberté", "2100", "21231", "Dijon", 5.03, 47.32)
        ),
        line(("not-a-ban-id", 24, "", "Rue de la Liberté", "21000", "21231", "Dijon", 5.03, 47.32)),
        line(
            ("21231_0420_00025", 25, "", "Rue de la Liberté", "21000", "21231", "Dijon", 5.03, 95)
        ),
        line(good) + ";stray field",
    ]
    report = importing.import_file(session, ban_csv([good], *bad))
    assert (report.read, report.inserted, report.malformed) == (8, 1, 7)
    assert report.errors[0] == "line 3: numero 'douze' is not a whole number"
    assert [e.split(":")[0] for e in report.errors] == [f"line {n}" for n in range(3, 10)]
    assert session.scalar(select(func.count()).select_from(Address)) == 1


def test_points_outside_the_communes_are_refused(session):
    outside = ("21054_0010_00001", 1, "", "Grande Rue", "21200", "21054", "Beaune", 4.8400, 47.0250)
    report = importing.import_file(session, ban_csv([REGISTER[3], outside]))
    assert (report.inserted, report.outside, report.malformed) == (1, 1, 0)
    assert report.errors == ["line 3: outside the 23 communes of Dijon Métropole"]
    assert session.get(Address, outside[0]) is None


def test_a_file_without_the_ban_columns_is_refused_whole(session):
    with pytest.raises(importing.AddressFileError, match="nom_voie"):
        importing.import_file(session, iter(["id,numero,street,lon,lat\n", "1,2,x,5,47\n"]))
    assert session.scalar(select(func.count()).select_from(Address)) == 0


def test_the_cli_imports_a_file_and_says_what_it_did(app, tmp_path):
    path = tmp_path / "adresses-21.csv"
    path.write_text(
        ban_csv().getvalue()
        + line(("21231_0420_00030", 30, "", "x", "21000", "21231", "Dijon", "x", 47.3))
        + "\n",
        encoding="utf-8",
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["addresses", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        f"{len(REGISTER) + 1} read, {len(REGISTER)} inserted, 0 updated, 1 malformed"
        in result.output
    )
    again = runner.invoke(args=["addresses", "import", str(path), "--if-empty"])
    assert "kept (already loaded)" in again.output
    bad = tmp_path / "other.csv"
    bad.write_text("a;b\n1;2\n", encoding="utf-8")
    refused = runner.invoke(args=["addresses", "import", str(bad)])
    assert refused.exit_code != 0 and "not a BAN addresses file" in refused.output


def test_the_generated_demo_register_imports_whole_and_geocodes(session):
    from pathlib import Path

    from app.addresses import service

    path = Path(__file__).resolve().parents[2] / "data" / "addresses-demo-generated.csv"
    with path.open(encoding="utf-8", newline="") as lines:
        report = importing.import_file(session, lines)
    assert (report.read, report.inserted, report.malformed, report.outside) == (600, 600, 0, 0)
    assert service.geocode(session, "12 rue Monge, Dijon").label == "12 Rue Monge 21000 Dijon"
