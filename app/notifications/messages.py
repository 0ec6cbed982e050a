"""Titles of notifications: what a phone shows above the body (the body is the event's
resident-facing message, from the editable triage templates)."""

from app.triage.messages import render

# kind (the report's new state, or "update") -> (French, English). Placeholder {reference}.
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
}


def title(kind: str, language: str, reference: str) -> str:
    fr, en = TITLES.get(kind, TITLES["update"])
    return render(en if language == "en" else fr, {"reference": reference})
