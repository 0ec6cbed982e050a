"""What every feed adapter produces, whatever the source format."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import shapely


class Malformed(ValueError):
    """One entity cannot be used (the reason is kept in the feed's health); it is skipped."""


@dataclass
class EntityState:
    """The state of one entity as observed: where it is, when, and its values.

    Where: ``geom``, a shapely geometry in WGS 84 lon/lat; or ``point``, a point's
    ``(lon, lat)`` given instead, from which ``geom`` is made only when read. Most entities
    are points, and a shapely object each was a tenth of a large poll's time; storing needs
    only the two numbers.
    """

    entity_id: str
    entity_type: str
    geom: object  # shapely geometry, WGS 84 lon/lat (None with ``point``)
    observed_at: datetime
    projectable: bool = True  # inside Lambert-93's domain
    name: str | None = None
    status: str | None = None
    available: int | None = None
    capacity: int | None = None
    occupancy: float | None = None
    measures: dict = field(default_factory=dict)
    point: tuple[float, float] | None = None


def _geom(state: EntityState):
    if state._shape is None and state.point is not None:
        state._shape = shapely.Point(state.point)
    return state._shape


def _set_geom(state: EntityState, value) -> None:
    state._shape = value


# After the dataclass is made, so that its __init__, repr, equality and asdict all go
# through the property (a property in the class body would be taken for a default value).
EntityState._shape = None
EntityState.geom = property(_geom, _set_geom)


@dataclass
class PollResult:
    """What one poll read: the valid states and the skipped entities with their reasons.

    ``live``: the states are the source's whole current set (vehicle positions): entities
    missing from it are removed, and no history is kept. ``unchanged``: the source's data
    is still current (its ttl has not expired), so nothing was fetched or is to be stored.
    ``source_state`` and ``ttl_seconds``, when given, are saved on the feed with the poll.

    ``pending``: states still to be read (a broker's later pages, parsed as they come), taken
    once by the store so that PostgreSQL writes a chunk while the next is read; entities
    skipped meanwhile join ``skipped``, and ``streamed`` counts the valid ones. A failure
    while reading them (:class:`~app.feeds.fetching.FetchError`) fails the poll, whose
    transaction is then rolled back: nothing of it is kept.
    """

    states: list[EntityState] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    live: bool = False
    unchanged: bool = False
    source_state: dict | None = None
    ttl_seconds: int | None = None
    pending: Iterator[EntityState] | None = None
    streamed: int = 0

    @property
    def seen(self) -> int:
        return len(self.states) + self.streamed + len(self.skipped)

    @property
    def valid(self) -> int:
        """How many valid states were read (so far, while ``pending`` is being read)."""
        return len(self.states) + self.streamed
