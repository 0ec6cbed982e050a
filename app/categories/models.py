from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.personal_data import not_personal

# Groups shown to residents, in display order: code -> (French, English).
GROUPS = {
    "roads": ("Voirie", "Roads"),
    "lighting": ("Éclairage public", "Street lighting"),
    "traffic_signals": ("Feux tricolores et signalisation", "Traffic signals and signs"),
    "cleanliness": ("Propreté", "Cleanliness"),
    "green_spaces": ("Arbres et espaces verts", "Trees and green spaces"),
    "snow_ice": ("Neige et verglas", "Snow and ice"),
    "safety": ("Sécurité", "Safety"),
    "other": ("Autre", "Other"),
}

QUESTION_TYPES = ("text", "number", "boolean", "single_choice", "multiple_choice")


class Category(db.Model):
    """One kind of problem residents can report. Data, not code: admins edit it."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    group: Mapped[str] = mapped_column(String(30))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    name_fr: Mapped[str] = mapped_column(String(120), info=not_personal("a category's name"))
    name_en: Mapped[str] = mapped_column(String(120), info=not_personal("a category's name"))
    hint_fr: Mapped[str | None] = mapped_column(String(500))
    hint_en: Mapped[str | None] = mapped_column(String(500))
    icon: Mapped[str] = mapped_column(String(40))
    photo_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # "Urgent: call this number instead" (gas smell, person in danger...).
    urgent_notice_fr: Mapped[str | None] = mapped_column(String(500))
    urgent_notice_en: Mapped[str | None] = mapped_column(String(500))
    urgent_phone: Mapped[str | None] = mapped_column(
        String(30), info=not_personal("the city's emergency service number")
    )
    # Extra questions, in order; shape validated by categories.schemas.QuestionSchema.
    questions: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Routing: the equipment its reports are attached to (the nearest within snap distance),
    # how near and how recent an open report must be to make a new one its duplicate (a
    # radius of 0 turns that off), and the service level that sets the due date.
    asset_kind: Mapped[str | None] = mapped_column(String(30))
    snap_distance_m: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    duplicate_radius_m: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    duplicate_window_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    service_level_hours: Mapped[int] = mapped_column(Integer, default=168, server_default="168")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
