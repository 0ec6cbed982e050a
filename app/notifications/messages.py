"""Titles of notifications: what a phone shows above the body (the body is the event's
resident-facing message, from the editable triage templates, or the list of an area
alert's reports). Supervisors edit the titles (:class:`NotificationTitle` rows); the texts
here apply to a kind without one."""

from app.triage.messages import render, template_errors

AREA_ALERT = "area_alert"

# kind (the report's new state, "update", or "area_alert") -> (French, English).
TITLES: dict[str, tuple[str, str]] = {
    "new": ("Signalement {reference} transmis", "Report {reference} passed on"),
    "acknowledged": ("Signalement {reference} pris en compte", "Report {reference} acknowledged"),
    "assigned": ("Équipe désignée pour {reference}", "Crew assigned to {reference}"),
    "in_progress": ("Intervention en cours : {reference}", "Work in progress: {reference}"),
    "resolved": ("Problème traité : {reference}", "Problem dealt with: {reference}"),
    "closed": ("Signalement {reference} clos", "Report {reference} closed"),
    "rejected": ("Signalement {reference} non retenu", "Report {reference} not taken up"),
    "duplicate": ("Signalement {reference} rattaché", "Report {reference} merged"),
    "reopened": ("Signalement {reference} rouvert", "Report {reference} reopened"),
    "update": ("Du nouveau sur {reference}", "News about {reference}"),
    AREA_ALERT: ("Nouveaux signalements : {area} ({count})", "New reports: {area} ({count})"),
}
KINDS = tuple(TITLES)

# The placeholders a kind's title may use: a report's reference; an area alert's area (the
# resident's name for it, or the commune's) and how many new reports.
REPORT_PLACEHOLDERS = ("reference",)
AREA_PLACEHOLDERS = ("area", "count")

# What an area alert calls a point the resident did not name.
UNNAMED_AREA = ("votre secteur", "your area")


def placeholders(kind: str) -> tuple[str, ...]:
    return AREA_PLACEHOLDERS if kind == AREA_ALERT else REPORT_PLACEHOLDERS


def title_errors(kind: str, text: str) -> list[str]:
    """What is wrong with a title of ``kind``: unknown placeholders, formats, stray braces."""
    return template_errors(text, placeholders(kind))


def render_title(kind: str, text: str, values: dict[str, str]) -> str:
    return render(text, values, placeholders(kind))
