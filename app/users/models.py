import enum
from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, Enum, ForeignKey, String, Table, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.organisation.models import Crew, Desk
from app.personal_data import personal


class Role(enum.StrEnum):
    """Who a caller is. Anyone with a verified Firebase token is at least a resident."""

    RESIDENT = "resident"
    CREW = "crew"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    # The CNIL correspondent: reads the register, the access log, the retention runs and
    # the erasures (app/privacy); no desk, no report, no contact detail.
    PRIVACY_OFFICER = "privacy_officer"


# The staff who work reports (desks, crews, the console's queues): what "staff" means in
# every access rule. The privacy officer is not one of them: a new staff endpoint refuses it
# unless it says otherwise.
STAFF_ROLES = (Role.CREW, Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
# The roles a staff account (users table) may hold, as admins create them.
ACCOUNT_ROLES = (*STAFF_ROLES, Role.PRIVACY_OFFICER)
ALL_ROLES = (Role.RESIDENT, *ACCOUNT_ROLES)

user_desks = Table(
    "user_desks",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("desk_id", ForeignKey("desks.id", ondelete="CASCADE"), primary_key=True),
)


def _account(what: str, leaves: tuple[str, ...] = ()) -> dict:
    return personal(
        what,
        purpose="staff_accounts",
        basis="public_task",
        audience=("self", "admins"),
        leaves=leaves,
        kept="while_account",
    )


class User(db.Model):
    """A member of staff, keyed by Firebase uid. Residents have no row: their token suffices."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    firebase_uid: Mapped[str] = mapped_column(
        String(128), unique=True, info=_account("staff_uid", leaves=("firebase_auth",))
    )
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", values_callable=lambda e: [m.value for m in e])
    )
    display_name: Mapped[str | None] = mapped_column(String(200), info=_account("staff_name"))
    email: Mapped[str | None] = mapped_column(String(320), info=_account("staff_email"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    crew_id: Mapped[int | None] = mapped_column(
        ForeignKey("crews.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    crew: Mapped[Crew | None] = relationship(lazy="joined")
    desks: Mapped[list[Desk]] = relationship(
        secondary=user_desks, lazy="selectin", order_by=Desk.code
    )
