"""The commands the centre sends to equipment, and a command's life, registered once.

Each :class:`Command` says which kind of asset takes it, whether it needs a level, whether a
second person (a supervisor) must confirm it before it is sent, the NGSI-LD attributes its
PATCH sets on the broker, and the live state that confirms it. Views, schemas, OpenAPI
text and the database's CHECKs are built from :data:`COMMANDS` and :data:`STATES`.

Our NGSI-LD command profile (no Smart Data Model defines commands): the PATCH of
``/ngsi-ld/v1/entities/{id}/attrs`` sets one Property, ``command``, whose value is
``{"id": <the command's uid>, "name": <switch_on...>, "level": <0-100, dim only>}``. The
equipment (through its IoT agent) applies it and reports its new state in its usual
attributes, and the outcome in ``commandStatus`` ``{"id", "status": "OK" | "PENDING" |
"ERROR", "info"}`` (as the FIWARE IoT agents' ``<command>_status`` / ``_info``). The
``command`` attribute on the broker is also how a dispatcher that lost track of a send (a
worker killed after the PATCH, before recording it) learns it was delivered.
"""

from dataclasses import dataclass

# A command's life:
#   pending_confirmation -> queued (a supervisor other than the requester confirms)
#                        -> rejected (a supervisor refuses) | cancelled (its requester, or a
#                           supervisor, withdraws it) | expired (nobody decided in time)
#   queued -> sent (the broker accepted the PATCH) | failed (the broker refused it: 4xx)
#          -> cancelled (withdrawn before it was sent)
#   sent   -> confirmed (the reported live state matches) | failed (the equipment reported
#             ERROR for it) | expired (no matching state in time)
#   any unsent (pending_confirmation, queued) -> superseded by a newer command for the same
#   asset; sent -> superseded once a newer one is sent (its outcome can no longer be seen).
# A broker outage keeps a command queued (retried with backoff): delayed, never lost.
STATES = (
    "pending_confirmation",
    "queued",
    "sent",
    "confirmed",
    "failed",
    "expired",
    "superseded",
    "cancelled",
    "rejected",
)
OPEN_STATES = ("pending_confirmation", "queued", "sent")
UNSENT_STATES = ("pending_confirmation", "queued")
FINAL_STATES = tuple(s for s in STATES if s not in OPEN_STATES)
STATE_NAMES = {
    "pending_confirmation": ("en attente de confirmation", "pending confirmation"),
    "queued": ("en file d'envoi", "queued"),
    "sent": ("envoyée", "sent"),
    "confirmed": ("confirmée par l'équipement", "confirmed"),
    "failed": ("échouée", "failed"),
    "expired": ("expirée", "expired"),
    "superseded": ("remplacée par une plus récente", "superseded"),
    "cancelled": ("annulée", "cancelled"),
    "rejected": ("refusée", "rejected"),
}
assert set(STATE_NAMES) == set(STATES)


@dataclass(frozen=True)
class Command:
    name: str
    asset_kind: str
    fr: str
    en: str
    # The live state that confirms it (app.feeds.live_state's names).
    expected: dict
    takes_level: bool = False
    # A second person, a supervisor other than the requester, confirms before it is sent.
    two_person: bool = False

    def expects(self, level: int | None) -> dict:
        if not self.takes_level:
            return dict(self.expected)
        return {
            "dimming_level": level,
            "power_state": "on" if level else "off",
            "control_mode": "manual",
        }

    def patch(self, uid: str, level: int | None) -> dict:
        """The body of the NGSI-LD PATCH (normalized form)."""
        value = {"id": uid, "name": self.name}
        if self.takes_level:
            value["level"] = level
        return {"command": {"type": "Property", "value": value}}


_COMMANDS = (
    Command(
        "switch_on",
        "street_light",
        "allumer",
        "switch on",
        {"power_state": "on", "control_mode": "manual"},
    ),
    Command(
        "switch_off",
        "street_light",
        "éteindre",
        "switch off",
        {"power_state": "off", "control_mode": "manual"},
    ),
    Command("dim", "street_light", "régler l'intensité", "dim", {}, takes_level=True),
    Command(
        "schedule",
        "street_light",
        "revenir à la programmation",
        "back to its schedule",
        {"control_mode": "schedule"},
    ),
    Command(
        "flashing_amber",
        "traffic_signal",
        "passer en orange clignotant",
        "flashing amber",
        {"mode": "flashing_amber"},
        two_person=True,
    ),
    Command(
        "normal",
        "traffic_signal",
        "revenir au fonctionnement normal",
        "back to normal",
        {"mode": "normal"},
        two_person=True,
    ),
)
COMMANDS = {command.name: command for command in _COMMANDS}
# The kinds of asset that take commands, and theirs.
BY_KIND: dict[str, tuple[str, ...]] = {}
for _command in _COMMANDS:
    BY_KIND.setdefault(_command.asset_kind, ())
    BY_KIND[_command.asset_kind] += (_command.name,)


def described() -> str:
    """Every command for the API's text."""
    return "; ".join(
        f"{kind}: "
        + ", ".join(
            c
            + (" (level 0-100)" if COMMANDS[c].takes_level else "")
            + (" (confirmed by a second person, a supervisor)" if COMMANDS[c].two_person else "")
            for c in names
        )
        for kind, names in BY_KIND.items()
    )
