"""Import of the Base Adresse Nationale's CSV files (``adresses-21.csv``: semicolon
separated, UTF-8, one header line), idempotent on the BAN id.

The file is read as a stream (the département's file has ~300,000 rows): rows are checked
in Python (a bad row is skipped and counted with its line number, never fatal), then
upserted in batches of ~1000 by one set-based statement that also finds each point's
commune; points outside the 23 communes are refused and counted. Columns the BAN has and
we do not use (x, y, nom_afnor, cad_parcelles...) are ignored.
"""

import csv
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.addresses.service import normalised

BATCH = 1000
MAX_ERRORS = 20
COLUMNS = (
    "id",
    "numero",
    "rep",
    "nom_voie",
    "code_postal",
    "code_insee",
    "nom_commune",
    "lon",
    "lat",
)
_ID = re.compile(r"^[0-9][0-9AB][0-9]{3}_[0-9A-Za-z]{4,9}_[0-9]{5}(_[0-9A-Za-z]{1,10})?$")
_POSTCODE = re.compile(r"^[0-9]{5}$")
_REP = re.compile(r"^[a-z]{1,10}$")

UPSERT = text(f"""
WITH src AS (
    SELECT * FROM unnest(
        CAST(:ids AS text[]), CAST(:numeros AS int[]), CAST(:reps AS text[]),
        CAST(:voies AS text[]), CAST(:postcodes AS text[]), CAST(:communes AS text[]),
        CAST(:lons AS float8[]), CAST(:lats AS float8[])
    ) WITH ORDINALITY AS t(id, numero, rep, nom_voie, code_postal, nom_commune, lon, lat, i)
), located AS (
    SELECT src.*, p.g,
           concat_ws(' ', src.numero || coalesce(' ' || src.rep, ''), src.nom_voie,
                     src.code_postal, src.nom_commune) AS label,
           (SELECT c.insee_code FROM communes c WHERE ST_Covers(c.geom, p.g)
            ORDER BY c.insee_code LIMIT 1) AS commune
    FROM src CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(src.lon, src.lat), 4326) AS g) p
), upserted AS (
    INSERT INTO addresses (id, numero, rep, nom_voie, code_postal, commune_insee,
                           nom_commune, label, search, geom)
    SELECT id, numero, rep, nom_voie, code_postal, commune, nom_commune, label,
           {normalised("label")}, g
    FROM located WHERE commune IS NOT NULL
    ON CONFLICT (id) DO UPDATE
    SET numero = EXCLUDED.numero, rep = EXCLUDED.rep, nom_voie = EXCLUDED.nom_voie,
        code_postal = EXCLUDED.code_postal, commune_insee = EXCLUDED.commune_insee,
        nom_commune = EXCLUDED.nom_commune, label = EXCLUDED.label,
        search = EXCLUDED.search, geom = EXCLUDED.geom
    RETURNING (xmax = 0) AS inserted
)
SELECT (SELECT count(*) FILTER (WHERE inserted) FROM upserted) AS inserted,
       (SELECT count(*) FILTER (WHERE NOT inserted) FROM upserted) AS updated,
       (SELECT coalesce(array_agg(i ORDER BY i), '{{}}') FROM located
        WHERE commune IS NULL) AS outside
""")


class AddressFileError(Exception):
    """The file as a whole cannot be read (no BAN header...): nothing imported."""


@dataclass
class Row:
    line: int
    id: str
    numero: int
    rep: str | None
    nom_voie: str
    code_postal: str
    nom_commune: str
    lon: float
    lat: float


@dataclass
class ImportReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    malformed: int = 0
    outside: int = 0
    errors: list[str] = field(default_factory=list)

    def refuse(self, line: int, message: str, *, outside: bool = False) -> None:
        if outside:
            self.outside += 1
        else:
            self.malformed += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(f"line {line}: {message}")


def rows(lines: Iterable[str], report: ImportReport) -> Iterator[Row]:
    """The valid rows of a BAN CSV file; malformed ones are counted in ``report``."""
    reader = csv.DictReader(lines, delimiter=";")
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise AddressFileError(
            f"not a BAN addresses file (semicolon separated): no column {', '.join(missing)}"
        )
    for record in reader:
        report.read += 1
        try:
            yield _row(reader.line_num, record)
        except ValueError as exc:
            report.refuse(reader.line_num, str(exc))


def _text(record: dict, name: str, limit: int) -> str:
    value = (record.get(name) or "").strip()
    if not value:
        raise ValueError(f"{name} is empty")
    if len(value) > limit or "\x00" in value:
        raise ValueError(f"{name} is not a valid value")
    return value


def _coordinate(record: dict, name: str, bound: float) -> float:
    try:
        value = float((record.get(name) or "").strip())
    except ValueError:
        raise ValueError(f"{name} is not a number") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise ValueError(f"{name} is out of range")
    return value


def _row(line: int, record: dict) -> Row:
    if None in record:  # more fields than the header: a stray separator
        raise ValueError("more fields than the header")
    identifier = _text(record, "id", 50)
    if not _ID.match(identifier):
        raise ValueError(f"id {identifier[:50]!r} is not a BAN id")
    numero = _text(record, "numero", 5)
    if not numero.isdigit():
        raise ValueError(f"numero {numero!r} is not a whole number")
    rep = (record.get("rep") or "").strip().lower() or None
    if rep is not None and not _REP.match(rep):
        raise ValueError(f"rep {rep[:20]!r} is not a suffix such as bis or ter")
    code_postal = _text(record, "code_postal", 5)
    if not _POSTCODE.match(code_postal):
        raise ValueError(f"code_postal {code_postal!r} is not 5 digits")
    return Row(
        line=line,
        id=identifier,
        numero=int(numero),
        rep=rep,
        nom_voie=_text(record, "nom_voie", 200),
        code_postal=code_postal,
        nom_commune=_text(record, "nom_commune", 120),
        lon=_coordinate(record, "lon", 180),
        lat=_coordinate(record, "lat", 90),
    )


def _batches(items: Iterable[Row]) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for item in items:
        batch.append(item)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def import_file(session: Session, lines: Iterable[str]) -> ImportReport:
    """Create or update the file's addresses in batches, in one transaction; returns the
    counts and the first errors. An id given twice in a batch: the later row wins."""
    report = ImportReport()
    for batch in _batches(rows(lines, report)):
        latest = list({row.id: row for row in batch}.values())
        result = session.execute(
            UPSERT,
            {
                "ids": [r.id for r in latest],
                "numeros": [r.numero for r in latest],
                "reps": [r.rep for r in latest],
                "voies": [r.nom_voie for r in latest],
                "postcodes": [r.code_postal for r in latest],
                "communes": [r.nom_commune for r in latest],
                "lons": [r.lon for r in latest],
                "lats": [r.lat for r in latest],
            },
        ).one()
        report.inserted += result.inserted
        report.updated += result.updated
        for i in result.outside:
            report.refuse(
                latest[i - 1].line, "outside the 23 communes of Dijon Métropole", outside=True
            )
    session.commit()
    return report
