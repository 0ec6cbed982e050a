"""The kinds of notification, each registered once: its shipped title in French and English
(what a phone shows above the body; supervisors may edit it, :mod:`app.notifications.titles`),
and what it is about, which gives the placeholders its title may use and its collapse key.

The push preferences (a switch per kind), the titles' endpoints and the OpenAPI text are
built from this table. A report's new state is a kind of its own: every state has one
(checked at import).
"""

from dataclasses import dataclass

from app.reports.models import STATUSES


@dataclass(frozen=True)
class Subject:
    """What notifications are about: the placeholders their titles may use; a phone shows
    only the latest notification of one subject (its collapse key)."""

    name: str
    placeholders: tuple[str, ...]
    # What the titles' documentation calls its kinds (None: their codes).
    called: str | None = None

    def collapse_key(self, subject_id: int) -> str:
        return f"{self.name}-{subject_id}"


# A report, by its reference.
REPORT = Subject("report", ("reference",), called="a report's kinds")
# A resident's area subscription: the area (their name for it, or the commune's) and how
# many new reports.
AREA = Subject("area", ("area", "count"))
SUBJECTS = (REPORT, AREA)


@dataclass(frozen=True)
class Kind:
    code: str
    title_fr: str
    title_en: str
    subject: Subject = REPORT
    # What it tells of, for a kind that is not a report's new state.
    meaning: str | None = None

    @property
    def title(self) -> tuple[str, str]:
        return self.title_fr, self.title_en


UPDATE = "update"
AREA_ALERT = "area_alert"

KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in (
        Kind("new", "Signalement {reference} transmis", "Report {reference} passed on"),
        Kind(
            "acknowledged",
            "Signalement {reference} pris en compte",
            "Report {reference} acknowledged",
        ),
        Kind("assigned", "Équipe désignée pour {reference}", "Crew assigned to {reference}"),
        Kind("in_progress", "Intervention en cours : {reference}", "Work in progress: {reference}"),
        Kind("resolved", "Problème traité : {reference}", "Problem dealt with: {reference}"),
        Kind("closed", "Signalement {reference} clos", "Report {reference} closed"),
        Kind("rejected", "Signalement {reference} non retenu", "Report {reference} not taken up"),
        Kind("duplicate", "Signalement {reference} rattaché", "Report {reference} merged"),
        Kind("reopened", "Signalement {reference} rouvert", "Report {reference} reopened"),
        # A public message, a desk move, a report merged in: the state stays.
        Kind(UPDATE, "Du nouveau sur {reference}", "News about {reference}", meaning="same state"),
        Kind(
            AREA_ALERT,
            "Nouveaux signalements : {area} ({count})",
            "New reports: {area} ({count})",
            AREA,
            meaning="new reports in an area subscribed to",
        ),
    )
}


def kind_of(code: str) -> Kind:
    """The kind of that code; an unknown one reads as an update."""
    return KINDS.get(code, KINDS[UPDATE])


def _check() -> None:
    if missing := [status for status in STATUSES if status not in KINDS]:
        raise RuntimeError(f"report states without a notification kind: {missing}")


_check()
