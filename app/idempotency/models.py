from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.personal_data import not_personal, personal


def _kept(what: str) -> dict:
    return personal(
        what, purpose="replay", basis="public_task", audience=("self",),
        retention="idempotency_keys",
    )  # fmt: skip


class IdempotencyKey(db.Model):
    """The response to a request made with an Idempotency-Key, kept to answer its retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(128), info=_kept("resident_uid"))
    scope: Mapped[str] = mapped_column(String(120))
    key: Mapped[str] = mapped_column(
        String(255), info=not_personal("a random key the client draws for one request")
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSONB, info=_kept("replayed_answer"))
    location: Mapped[str | None] = mapped_column(
        String(300), info=not_personal("the URL of what the request created")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
