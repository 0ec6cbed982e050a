"""What every feed adapter produces, whatever the source format."""

from dataclasses import dataclass, field
from datetime import datetime


class Malformed(ValueError):
    """One entity cannot be used (the reason is kept in the feed's health); it is skipped."""


@dataclass
class EntityState:
    """The state of one entity as observed: where it is, when, and its values."""

    entity_id: str
    entity_type: str
    geom: object  # shapely geometry, WGS 84 lon/lat
    observed_at: datetime
    projectable: bool = True  # inside Lambert-93's domain
    name: str | None = None
    status: str | None = None
    available: int | None = None
    capacity: int | None = None
    occupancy: float | None = None
    measures: dict = field(default_factory=dict)


@dataclass
class PollResult:
    """What one poll read: the valid states and the skipped entities with their reasons.

    ``live``: the states are the source's whole current set (vehicle positions): entities
    missing from it are removed, and no history is kept. ``unchanged``: the source's data
    is still current (its ttl has not expired), so nothing was fetched or is to be stored.
    ``source_state`` and ``ttl_seconds``, when given, are saved on the feed with the poll.
    """

    states: list[EntityState] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    live: bool = False
    unchanged: bool = False
    source_state: dict | None = None
    ttl_seconds: int | None = None

    @property
    def seen(self) -> int:
        return len(self.states) + len(self.skipped)
