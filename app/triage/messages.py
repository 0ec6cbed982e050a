"""What residents are told when their report changes state: templates with placeholders.

A category's own template for the state wins, else the state's default (seeded by the
migration; the texts below are the same, for a database where a default row is missing).
"""

from collections.abc import Iterable, Mapping

from app import i18n

# Placeholders a template may use.
PLACEHOLDERS = ("reference", "desk", "category", "reason", "original")

# status -> (French, English)
DEFAULTS: dict[str, tuple[str, str]] = {
    "new": (
        "Votre signalement {reference} a été transmis au service {desk}.",
        "Your report {reference} has been passed to the {desk} desk.",
    ),
    "acknowledged": (
        "Votre signalement {reference} a été pris en compte par le service {desk}.",
        "Your report {reference} has been acknowledged by the {desk} desk.",
    ),
    "assigned": (
        "Une équipe d'intervention a été désignée pour votre signalement {reference}.",
        "A field crew has been assigned to your report {reference}.",
    ),
    "in_progress": (
        "L'intervention sur votre signalement {reference} a commencé.",
        "Work on your report {reference} has started.",
    ),
    "resolved": (
        "Le problème signalé ({reference}) a été traité. S'il persiste, vous pouvez rouvrir "
        "le signalement dans les 30 jours.",
        "The problem you reported ({reference}) has been dealt with. If it is still there, you "
        "can reopen the report within 30 days.",
    ),
    "closed": (
        "Le signalement {reference} est clos. Merci de votre contribution.",
        "Report {reference} is closed. Thank you for your help.",
    ),
    "rejected": (
        "Le signalement {reference} ne peut pas être traité : {reason}.",
        "Report {reference} cannot be dealt with: {reason}.",
    ),
    "duplicate": (
        "Ce problème avait déjà été signalé : votre signalement {reference} a été rattaché au "
        "signalement {original}, dont vous serez informé de l'avancement.",
        "This problem had already been reported: your report {reference} has joined report "
        "{original}, and you will be told how it progresses.",
    ),
    "reopened": (
        "Le signalement {reference} a été rouvert : le service {desk} va le réexaminer.",
        "Report {reference} has been reopened: the {desk} desk will look at it again.",
    ),
}

# Not a state of the report it is written on: the original tells that another joined it.
MERGED_IN = (
    "Un autre signalement du même problème ({original}) a été rattaché à celui-ci.",
    "Another report of the same problem ({original}) has joined this one.",
)

# Reason codes as residents read them (the {reason} placeholder).
REASONS: dict[str, tuple[str, str]] = {
    "not_our_problem": (
        "ce type de problème n'est pas traité par la métropole",
        "this kind of problem is not one the metropolis handles",
    ),
    "not_our_responsibility": (
        "ce lieu ne relève pas de la métropole (domaine privé ou autre gestionnaire)",
        "this place is not the metropolis's responsibility (private land or another operator)",
    ),
    "not_found_on_site": (
        "l'équipe n'a pas trouvé le problème sur place",
        "the crew did not find the problem on site",
    ),
}


# States as residents and staff read them: a problem's text names a state in words, never by
# its code (app.triage.transitions checks that every state and action has its words).
STATUS_LABELS: dict[str, tuple[str, str]] = {
    "new": ("nouveau", "new"),
    "acknowledged": ("pris en compte", "acknowledged"),
    "assigned": ("confié à une équipe", "assigned to a crew"),
    "in_progress": ("en cours d'intervention", "being worked on"),
    "reopened": ("rouvert", "reopened"),
    "resolved": ("résolu", "resolved"),
    "closed": ("clos", "closed"),
    "rejected": ("refusé", "rejected"),
    "duplicate": ("rattaché à un autre signalement", "merged into another report"),
}

# Actions likewise.
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "acknowledge": ("prendre en compte", "acknowledge"),
    "set_priority": ("changer la priorité", "set the priority"),
    "assign": ("confier à une équipe", "assign to a crew"),
    "reroute": ("réaiguiller vers un autre guichet", "re-route to another desk"),
    "change_category": ("changer la catégorie", "change the category"),
    "merge": ("rattacher à un autre signalement", "merge into another report"),
    "reject": ("refuser", "reject"),
    "note": ("ajouter une note interne", "add an internal note"),
    "public_update": ("informer les habitants", "tell residents"),
    "publish_description": ("publier la description", "publish the description"),
    "reopen": ("rouvrir", "reopen"),
    "close": ("clore", "close"),
    "start": ("commencer l'intervention", "start work"),
    "resolve": ("déclarer résolu", "resolve"),
    "hand_back": ("rendre au guichet", "hand back to the desk"),
}

_NONE = ("aucune", "none")

# The earliest a device's time for an action may be (problem client_at_out_of_range).
SINCE_CREATED = ("la création du signalement", "the report was created")
SINCE_GIVEN_TO_CREW = (
    "l'attribution du ticket à votre équipe",
    "the ticket was given to your crew",
)


def status_words(*statuses: str) -> i18n.Localized:
    """The states in words, in each language (a message parameter), listed with commas."""
    return _words(STATUS_LABELS, statuses)


def action_words(*actions: str) -> i18n.Localized:
    """The actions in words, in each language, listed with commas ("none" for none)."""
    return _words(ACTION_LABELS, actions)


def _words(labels: Mapping[str, tuple[str, str]], codes: Iterable[str]) -> i18n.Localized:
    worded = [labels[code] for code in codes] or [_NONE]
    return i18n.Localized(
        {lang: ", ".join(words[i] for words in worded) for i, lang in enumerate(i18n.SUPPORTED)}
    )
