"""The Smart Data Models' words, registered once: what each status means in our own
vocabulary (what residents' apps read, whatever broker sent it), and each word in French and
English for staff (the text of sensor-opened tickets).

Sources say the same thing in different words (a car park ``open`` on one broker,
``spacesAvailable`` on another, a parking spot ``free``): the API gives our word as
``status`` and the source's own beside it as ``source_status``. The stored state keeps the
source's word (fault mappings are written in the models' vocabulary), so a change here
applies to what is already stored.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Word:
    """A source's word: in French, in English, and as our status (None: not a status)."""

    fr: str
    en: str
    ours: str | None = None


# Our statuses per kind of feed, most telling first (a source listing several words is
# read by the most telling one), with what each means for a resident.
STATUSES: dict[str, dict[str, str]] = {
    "parking": {
        "closed": "closed (no parking)",
        "full": "full (no free space)",
        "almost_full": "open, almost full",
        "open": "open (see free_spaces)",
        "unknown": "the source does not say",
    },
    "bikes": {
        "out_of_service": "out of service",
        "degraded": "in service with an incident (renting or returning only...)",
        "in_service": "in service (see bikes_available and docks_available)",
        "unknown": "the source does not say",
    },
}
UNKNOWN = "unknown"

# DATEX II's parking site statuses, as OffStreetParking and OnStreetParking give them.
_PARKING_SITE = {
    "open": Word("ouvert", "open", "open"),
    "spacesAvailable": Word("places disponibles", "spaces available", "open"),
    "openingTimesInForce": Word("ouvert selon ses horaires", "opening times in force", "open"),
    "almostFull": Word("presque complet", "almost full", "almost_full"),
    "full": Word("complet", "full", "full"),
    "fullAtEntrance": Word("complet à l'entrée", "full at the entrance", "full"),
    "closed": Word("fermé", "closed", "closed"),
    "closedAbnormal": Word("fermé exceptionnellement", "closed abnormally", "closed"),
    "unknown": Word("inconnu", "unknown", "unknown"),
}

# (entity type, attribute) -> the model's words.
WORDS: dict[tuple[str, str], dict[str, Word]] = {
    ("OffStreetParking", "status"): _PARKING_SITE,
    ("OnStreetParking", "status"): _PARKING_SITE,
    ("ParkingSpot", "status"): {
        "free": Word("libre", "free", "open"),
        "occupied": Word("occupée", "occupied", "full"),
        "closed": Word("fermée", "closed", "closed"),
        "unknown": Word("inconnu", "unknown", "unknown"),
    },
    ("BikeHireDockingStation", "status"): {
        "working": Word("en service", "working", "in_service"),
        "withIncidence": Word("en service avec un incident", "with an incident", "degraded"),
        "outOfService": Word("hors service", "out of service", "out_of_service"),
        "full": Word("pleine (aucune place libre)", "full (no free dock)", "in_service"),
        "almostFull": Word("presque pleine", "almost full", "in_service"),
        "empty": Word("vide (aucun vélo)", "empty (no bike)", "in_service"),
        "almostEmpty": Word("presque vide", "almost empty", "in_service"),
    },
    ("Streetlight", "status"): {
        "ok": Word("en état de marche", "working"),
        "defectiveLamp": Word("lampe défectueuse", "defective lamp"),
        "brokenLantern": Word("lanterne cassée", "broken lantern"),
        "columnIssue": Word("problème de mât", "column (pole) issue"),
    },
    ("Streetlight", "powerState"): {
        "on": Word("allumé", "on"),
        "off": Word("éteint", "off"),
        "low": Word("allumé en puissance réduite", "dimmed"),
        "bootingUp": Word("en cours d'allumage", "booting up"),
    },
    # Our own TrafficSignal type (app/equipment/__init__.py documents it).
    ("TrafficSignal", "status"): {
        "ok": Word("en état de marche", "working"),
        "lampFailure": Word("lampe de feu grillée", "signal lamp failure"),
        "controllerFault": Word("contrôleur de carrefour en panne", "controller fault"),
        "detectorFault": Word("boucle de détection en panne", "detector fault"),
        "communicationLost": Word("liaison perdue avec le contrôleur", "communication lost"),
    },
}
# Parkings whose source gives no status: free spaces or none, from the counts.
WHEN_SILENT = {"OffStreetParking", "OnStreetParking", "ParkingSpot"}

_RANK = {ours: rank for kind in STATUSES.values() for rank, ours in enumerate(kind)}
_unknown = {
    word.ours for words in WORDS.values() for word in words.values() if word.ours
} - _RANK.keys()
assert not _unknown, f"statuses not in STATUSES: {_unknown}"


def word(entity_type: str, attribute: str, value: str) -> Word | None:
    return WORDS.get((entity_type, attribute), {}).get(value)


def label(entity_type: str, attribute: str, value: str, language: str) -> str:
    """``value`` in words in ``language`` (fr or en); the source's word when unregistered."""
    known = word(entity_type, attribute, value)
    return value if known is None else getattr(known, language)


def most_telling(entity_type: str, values: list[str]) -> str | None:
    """Of the status words a source lists (OffStreetParking's ``["open", "full"]``), the
    one saying most (full before open); registered words before others, else the first."""
    texts = [v for v in values if isinstance(v, str) and v]
    if not texts:
        return None

    def rank(value: str) -> int:
        known = word(entity_type, "status", value)
        return _RANK[known.ours] if known and known.ours else len(_RANK)

    return min(texts, key=rank)


def our_status(entity_type: str, source_status: str | None, available: int | None) -> str:
    """The status in our vocabulary of an entity whose source said ``source_status``."""
    if source_status is None:
        if entity_type in WHEN_SILENT and available is not None:
            return "full" if available == 0 else "open"
        return UNKNOWN
    known = word(entity_type, "status", source_status)
    return known.ours if known and known.ours else UNKNOWN
