"""The open data catalogue in DCAT-AP (2.x, JSON-LD), for the city's portal to harvest, and
the Table Schemas (frictionless) of the files' columns.

Built from the published files (``opendata_files``) at each request: every file there is a
distribution of its dataset, and nothing else is. Nothing in it comes from a report but
dates (the first and last creation, for the temporal coverage).
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.geo.models import Commune
from app.opendata import service
from app.opendata.models import OpenDataFile
from app.opendata.queries import COLUMNS, published
from app.opendata.tables import TABLES
from app.reports.models import Report

LICENCE = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
EU = "http://publications.europa.eu/resource/authority/"
DAILY = EU + "frequency/DAILY"
THEMES = (EU + "data-theme/TRAN", EU + "data-theme/GOVE")
LANGUAGES = (EU + "language/FRA", EU + "language/ENG")
FILE_TYPES = {"csv": "CSV", "json": "JSON", "geojson": "GEOJSON", "parquet": "PARQUET"}
PUBLISHER = {
    "@id": "https://www.metropole-dijon.fr/",
    "@type": "foaf:Agent",
    "foaf:name": "Dijon Métropole",
    "dct:type": {"@id": "http://purl.org/adms/publishertype/LocalAuthority"},
}
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "spdx": "http://spdx.org/rdf/terms#",
    "locn": "http://www.w3.org/ns/locn#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
}

CATALOG_TEXT = {
    "title": ("Signale : signalements de l'espace public", "Signale: public space reports"),
    "description": (
        "Les signalements des habitants et des capteurs sur l'espace public de Dijon "
        "Métropole (voirie, éclairage, propreté...) et leur traitement, anonymisés, avec des "
        "statistiques agrégées.",
        "Residents' and sensors' reports about Dijon Métropole's public space (roads, "
        "lighting, cleanliness...) and how the city dealt with them, anonymised, with "
        "aggregated statistics.",
    ),
}
REPORTS_TEXT = {
    "reports": (
        ("Signalements (fichier complet)", "Reports (full file)"),
        (
            "Tous les signalements publics, anonymisés : référence, catégorie, commune, pôle, "
            "état, dates de création, de prise en charge et de résolution, délai, doublon, "
            "soutiens, source, photo publique, position arrondie à une grille de 50 m. "
            "Aucune donnée sur les personnes.",
            "Every public report, anonymised: reference, category, commune, desk, state, "
            "created, acknowledged and resolved dates, time to resolve, duplicate of, "
            "supporters, source, public photo, position snapped to a 50 m grid. No personal "
            "data.",
        ),
    ),
    "reports-daily": (
        ("Signalements du jour", "Daily reports"),
        (
            "Les signalements publics anonymisés créés chaque jour (heure de Paris), un "
            "fichier par jour et par format, mêmes colonnes que le fichier complet.",
            "The public anonymised reports created each day (Paris time), one file per day "
            "and format, with the full file's columns.",
        ),
    ),
}
KEYWORDS = (
    ("signalement", "voirie", "espace public", "Dijon"),
    ("report", "roads", "public space", "Dijon"),
)


def _texts(pair: tuple[str, str]) -> list[dict]:
    return [
        {"@value": text, "@language": lang} for text, lang in zip(pair, ("fr", "en"), strict=True)
    ]


def _typed(value, datatype: str) -> dict:
    return {"@value": value, "@type": datatype}


def _ref(iri: str) -> dict:
    return {"@id": iri}


def _distribution(entry: OpenDataFile, url: str, schema_url: str) -> dict:
    return {
        "@id": url,
        "@type": "dcat:Distribution",
        "dct:title": entry.name,
        "dcat:accessURL": _ref(url),
        "dcat:downloadURL": _ref(url),
        "dct:format": _ref(EU + "file-type/" + FILE_TYPES[entry.format]),
        "dcat:mediaType": _ref(
            "https://www.iana.org/assignments/media-types/" + service.media_type(entry.format)
        ),
        "dcat:byteSize": _typed(str(entry.size_bytes), "xsd:nonNegativeInteger"),
        "dct:modified": _typed(entry.modified_at.isoformat(), "xsd:dateTime"),
        "dct:license": _ref(LICENCE),
        "dct:conformsTo": _ref(schema_url),
        "spdx:checksum": {
            "@type": "spdx:Checksum",
            "spdx:algorithm": _ref("spdx:checksumAlgorithm_sha256"),
            "spdx:checksumValue": _typed(entry.sha256, "xsd:hexBinary"),
        },
    }


def _texts_of(name: str):
    if name in REPORTS_TEXT:
        return REPORTS_TEXT[name]
    table = TABLES[name]
    return table.title, table.description


def coverage(session: Session) -> dict:
    """What the datasets cover: the first and last creation dates, and the metropolis'
    bounding box (WKT, WGS 84)."""
    first, last = session.execute(
        select(func.min(Report.created_at), func.max(Report.created_at)).where(published())
    ).one()
    box = session.scalar(select(func.ST_AsText(func.ST_Envelope(func.ST_Extent(Commune.geom)))))
    return {"first": first, "last": last, "bbox": box}


def catalog(session: Session, *, base_url: str, file_url, schema_url) -> dict:
    """The catalogue: one dataset per kind of file, each file a distribution of it.
    ``file_url(name)`` and ``schema_url(dataset)`` give the absolute URLs."""
    entries = session.scalars(select(OpenDataFile).order_by(OpenDataFile.name)).all()
    grouped: dict[str, list[OpenDataFile]] = {}
    for entry in entries:
        grouped.setdefault(service.dataset(entry), []).append(entry)
    extent = coverage(session)
    datasets = [
        _dataset(name, files, base_url, file_url, schema_url, extent)
        for name, files in grouped.items()
    ]
    document = {
        "@context": CONTEXT,
        "@id": base_url,
        "@type": "dcat:Catalog",
        "dct:title": _texts(CATALOG_TEXT["title"]),
        "dct:description": _texts(CATALOG_TEXT["description"]),
        "dct:publisher": PUBLISHER,
        "dct:license": _ref(LICENCE),
        "dct:language": [_ref(lang) for lang in LANGUAGES],
        "dcat:themeTaxonomy": _ref(EU + "data-theme"),
        "dcat:dataset": datasets,
    }
    if entries:
        modified = max(entry.modified_at for entry in entries)
        document["dct:modified"] = _typed(modified.isoformat(), "xsd:dateTime")
    return document


def _dataset(name, files, base_url, file_url, schema_url, extent) -> dict:
    title, description = _texts_of(name)
    schema = schema_url("reports" if name in REPORTS_TEXT else name)
    dataset = {
        "@id": f"{base_url}#{name}",
        "@type": "dcat:Dataset",
        "dct:identifier": name,
        "dct:title": _texts(title),
        "dct:description": _texts(description),
        "dcat:keyword": [
            {"@value": word, "@language": lang}
            for words, lang in zip(KEYWORDS, ("fr", "en"), strict=True)
            for word in words
        ],
        "dcat:theme": [_ref(theme) for theme in THEMES],
        "dct:publisher": PUBLISHER,
        "dct:license": _ref(LICENCE),
        "dct:accrualPeriodicity": _ref(DAILY),
        "dct:conformsTo": _ref(schema),
        "dct:modified": _typed(max(f.modified_at for f in files).isoformat(), "xsd:dateTime"),
        "dcat:distribution": [_distribution(f, file_url(f.name), schema) for f in files],
    }
    if extent["bbox"]:
        dataset["dct:spatial"] = {
            "@type": "dct:Location",
            "locn:geographicName": "Dijon Métropole",
            "dcat:bbox": _typed(extent["bbox"], "gsp:wktLiteral"),
        }
    if extent["first"]:
        dataset["dct:temporal"] = {
            "@type": "dct:PeriodOfTime",
            "dcat:startDate": _typed(extent["first"].date().isoformat(), "xsd:date"),
            "dcat:endDate": _typed(extent["last"].date().isoformat(), "xsd:date"),
        }
    return dataset


# Table Schema (frictionless) types of the reports' CSV columns; the rest are strings.
_REPORT_TYPES = {
    "created_at": "datetime",
    "acknowledged_at": "datetime",
    "resolved_at": "datetime",
    "time_to_resolve_seconds": "integer",
    "supporters_count": "integer",
    "lon": "number",
    "lat": "number",
}
SCHEMAS = ("reports", *TABLES)


def table_schema(name: str) -> dict | None:
    """The Table Schema of a dataset's CSV columns (the JSON files' items have the same
    fields); None for an unknown dataset."""
    if name == "reports":
        fields = [
            {"name": c, "type": _REPORT_TYPES.get(c, "string")} for c in (*COLUMNS, "lon", "lat")
        ]
        key = ["reference"]
    elif name in TABLES:
        types = TABLES[name].column_types()
        fields = [{"name": c, "type": types[c]} for c in TABLES[name].columns()]
        key = None
    else:
        return None
    schema = {"fields": fields, "missingValues": [""]}
    if key:
        schema["primaryKey"] = key
    return schema
