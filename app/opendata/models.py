from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.personal_data import not_personal

# The reports' formats, and JSON for the statistics tables (which are CSV too).
FORMATS = ("geojson", "csv", "parquet", "json")


class OpenDataFile(db.Model):
    """A published export file: the full one or a day's, in one format, and where its
    current content is (content-addressed in storage). What the listing and downloads
    serve, ETag and Last-Modified included."""

    __tablename__ = "opendata_files"
    __table_args__ = (
        CheckConstraint("format IN (" + ", ".join(f"'{f}'" for f in FORMATS) + ")", name="format"),
    )

    # reports.csv, reports-2026-11-25.geojson, statistics-sources.json...
    name: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=not_personal("an open-data file's name")
    )
    format: Mapped[str] = mapped_column(String(10))
    # The creation date (in Dijon) of the reports of a daily file; null for the full file.
    day: Mapped[date | None] = mapped_column(Date, index=True)
    storage_key: Mapped[str] = mapped_column(
        String(200), info=not_personal("where an open-data file is stored")
    )
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(Integer)
    # When the content last changed (Last-Modified), and the export that last wrote it.
    modified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
