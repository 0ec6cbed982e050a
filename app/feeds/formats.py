"""The feed formats, registered once: each is its adapter, the kinds it carries (with the
entity types a feed of that kind stores) and a line for admins.

Everything that lists formats or kinds is built from :data:`FORMATS`: the values the API and
the CLI take and their OpenAPI text, the database's CHECKs on ``feeds.kind`` and
``feeds.format``, which kinds a format may carry, and which entity types each mobility read
shows. A new format is one entry here and its adapter (adapters.py), plus a migration
rewriting the CHECK (tests/test_migrations.py fails until the database agrees).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from app.feeds import adapters, gbfs, gtfs_rt, ngsi_ld


@dataclass(frozen=True)
class Format:
    name: str
    adapter: type[adapters.Adapter]
    # The kinds of feed it carries, in the order offered to admins, each with the entity
    # types such a feed stores.
    kinds: Mapping[str, tuple[str, ...]]
    description: str


FORMATS = (
    Format(
        "ngsi-ld",
        adapters.NgsiLdBroker,
        ngsi_ld.KIND_TYPES,
        "a broker's /ngsi-ld/v1/entities?type=..., paginated",
    ),
    Format("ngsi-ld-document", adapters.NgsiLdDocument, ngsi_ld.KIND_TYPES, "one JSON document"),
    Format(
        "gbfs",
        adapters.Gbfs,
        {"bikes": (gbfs.ENTITY_TYPE,)},
        "a bikes feed: the URL of its gbfs.json, v2.3 or v3.0",
    ),
    Format(
        "gtfs-rt",
        adapters.GtfsRealtime,
        {"vehicles": (gtfs_rt.ENTITY_TYPE,)},
        "a vehicles feed: GTFS-Realtime vehicle positions",
    ),
)
BY_NAME = {entry.name: entry for entry in FORMATS}
NAMES = tuple(BY_NAME)


def _kind_entity_types() -> dict[str, tuple[str, ...]]:
    kinds: dict[str, dict[str, None]] = {}
    for entry in FORMATS:
        for kind, types in entry.kinds.items():
            kinds.setdefault(kind, {}).update(dict.fromkeys(types))
    return {kind: tuple(types) for kind, types in kinds.items()}


# The entity types a feed of each kind stores, whatever its format (what a read of that
# kind shows); the kinds in the order the formats first carry them.
KIND_ENTITY_TYPES = _kind_entity_types()
KINDS = tuple(KIND_ENTITY_TYPES)
# The error codes of polls whose source is not in the feed's format.
REFUSALS = tuple(dict.fromkeys(entry.adapter.refusal for entry in FORMATS))


def carried(format_: str) -> tuple[str, ...]:
    """The kinds a feed of ``format_`` may be (none for an unknown format)."""
    entry = BY_NAME.get(format_)
    return tuple(entry.kinds) if entry else ()


def adapter_for(
    format_: str, *, page_size: int = 1000, state: dict | None = None
) -> adapters.Adapter:
    """The adapter reading one poll of a ``format_`` feed."""
    entry = BY_NAME.get(format_)
    if entry is None:
        raise ValueError(f"no adapter for {format_}")
    return entry.adapter.for_feed(page_size=page_size, state=state or {})


def described() -> str:
    """Every format with its line, for the API's text: "a (...), b (...) or c (...)"."""
    items = [f"{entry.name} ({entry.description})" for entry in FORMATS]
    return ", ".join(items[:-1]) + " or " + items[-1]


def narrow() -> str:
    """The formats that carry a single kind, for the API's text: "gbfs carries bikes,
    gtfs-rt vehicles"."""
    narrow = [(entry.name, *entry.kinds) for entry in FORMATS if len(entry.kinds) == 1]
    said = [
        f"{name} carries {kind}" if n == 0 else f"{name} {kind}"
        for n, (name, kind) in enumerate(narrow)
    ]
    return ", ".join(said)
