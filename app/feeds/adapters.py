"""One adapter per feed format (a strategy each): fetch the source, return entity states.

Adapters never write. The NGSI-LD adapters read their first document before returning and
leave the rest (parsing it, a broker's later pages) to be read while the poll stores what
came before (``PollResult.pending``), inside the poll's transaction: a failure part-way
(page 3 of 5 times out) rolls it back, so the last good state stays.
"""

import contextlib
import gc
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from app.feeds import gbfs, gtfs_rt, ngsi_ld
from app.feeds.fetching import Fetcher, FetchError
from app.feeds.states import EntityState, Malformed, PollResult

NGSI_LD_ACCEPT = "application/ld+json, application/json;q=0.9"
JSON_ACCEPT = "application/json"
PROTOBUF_ACCEPT = "application/x-protobuf, application/octet-stream;q=0.9"
NEXT_LINK = re.compile(r'<([^>]*)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)


# The error code of a poll whose source is not NGSI-LD (either NGSI-LD adapter).
NOT_NGSI_LD = "not_ngsi_ld"


class Adapter(Protocol):
    """Reads one format. ``refusal``: the error code of a poll whose source is not in it."""

    refusal: str

    @classmethod
    def for_feed(cls, *, page_size: int, state: dict) -> "Adapter":
        """The adapter of one poll: ``page_size`` (FEEDS_BROKER_PAGE_SIZE) and the
        ``state`` the feed's last successful poll saved."""
        ...

    def read(self, *, url: str, kind: str, fetcher: Fetcher, now: datetime) -> PollResult: ...


@contextlib.contextmanager
def cyclic_gc_paused():
    """Pause the cycle collector while a large read builds its documents and states.

    A page of decoded JSON is a million small objects that hold no cycles; every few hundred
    allocations the collector would walk everything still alive, the pages read so far
    included: two thirds of decoding time in a 50,000-entity read. Reference counting still
    frees what is dropped; the collector resumes (if it ran before) when the read ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_entities(entities: list, kind: str, now: datetime, result: PollResult) -> None:
    result.states.extend(states_of(entities, kind, now, result.skipped))


def states_of(
    entities: list, kind: str, now: datetime, skipped: list[tuple[str, str]]
) -> Iterator[EntityState]:
    """The valid states of ``entities``, in order; each malformed one joins ``skipped``."""
    parse = ngsi_ld.parse_entity
    for entity in entities:
        try:
            state = parse(entity, kind, now)
        except Malformed as exc:
            entity_id = entity.get("id") if isinstance(entity, dict) else None
            label = entity_id[:256] if isinstance(entity_id, str) else "?"
            skipped.append((label, str(exc)))
        else:
            yield state


def _counted(states: Iterator[EntityState], result: PollResult) -> Iterator[EntityState]:
    for state in states:
        result.streamed += 1
        yield state


def load(body: bytes) -> list:
    try:
        return ngsi_ld.load_document(body)
    except ngsi_ld.NotNgsiLd as exc:
        raise FetchError(NOT_NGSI_LD, str(exc)) from exc


class NgsiLdDocument:
    """A JSON document of NGSI-LD entities (an export, a static file)."""

    refusal = NOT_NGSI_LD

    @classmethod
    def for_feed(cls, *, page_size: int, state: dict) -> "NgsiLdDocument":
        return cls()

    def read(self, *, url: str, kind: str, fetcher: Fetcher, now: datetime) -> PollResult:
        with cyclic_gc_paused():
            entities = load(fetcher.get(url, accept=NGSI_LD_ACCEPT).body)
        result = PollResult()
        result.pending = _counted(self._states(entities, kind, now, result), result)
        return result

    @staticmethod
    def _states(entities: list, kind: str, now: datetime, result: PollResult):
        with cyclic_gc_paused():
            yield from states_of(entities, kind, now, result.skipped)


class NgsiLdBroker:
    """A context broker's ``/ngsi-ld/v1/entities?type=...``, page by page: the ``Link:
    rel="next"`` the broker gives, else ``limit``/``offset`` until a short page."""

    refusal = NOT_NGSI_LD

    def __init__(self, page_size: int = 1000, max_pages: int = 1000):
        self.page_size = page_size
        self.max_pages = max_pages

    @classmethod
    def for_feed(cls, *, page_size: int, state: dict) -> "NgsiLdBroker":
        return cls(page_size=page_size)

    def read(self, *, url: str, kind: str, fetcher: Fetcher, now: datetime) -> PollResult:
        # The first page before any transaction: a source down or not NGSI-LD fails here.
        page_url = with_page(url, self.page_size, 0)
        with cyclic_gc_paused():
            fetched = fetcher.get(page_url, accept=NGSI_LD_ACCEPT)
            page = load(fetched.body)
        result = PollResult()
        states = self._states(url, kind, fetcher, now, result, page_url, fetched, page)
        result.pending = _counted(states, result)
        return result

    def _states(self, url, kind, fetcher, now, result, page_url, fetched, page):
        """The states of every page from the first, fetching each next page once the one
        before is parsed (the store writes a chunk meanwhile)."""
        with cyclic_gc_paused():
            offset = 0
            for number in range(1, self.max_pages + 1):
                yield from states_of(page, kind, now, result.skipped)
                link = _next_link(fetched.headers)
                if link:
                    page_url = urljoin(page_url, link)
                elif len(page) >= self.page_size:
                    offset += len(page)
                    page_url = with_page(url, self.page_size, offset)
                else:
                    return
                if number == self.max_pages:
                    break
                fetched = fetcher.get(page_url, accept=NGSI_LD_ACCEPT)
                page = load(fetched.body)
            raise FetchError("too_large", f"more than {self.max_pages} pages")


def with_page(url: str, limit: int, offset: int) -> str:
    """``url`` with its own query (``type=...``) and this page's ``limit`` and ``offset``."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("limit", "offset")]
    query += [("limit", str(limit)), ("offset", str(offset))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _next_link(headers: dict) -> str | None:
    for name, value in headers.items():
        if name.lower() == "link":
            match = NEXT_LINK.search(value)
            if match:
                return match.group(1)
    return None


class Gbfs:
    """A GBFS (v2.3 or v3.0) system from its ``gbfs.json``: bike stations, station_status
    joined with station_information.

    ``ttl`` is honoured: a file is fetched again only once the ttl it announced has expired
    (``state``, saved on the feed by a successful poll, keeps each file's URL and expiry and
    the station information meanwhile). While station_status is current the poll fetches
    nothing and stores nothing.
    """

    refusal = "not_gbfs"

    def __init__(self, state: dict):
        self.state = state

    @classmethod
    def for_feed(cls, *, page_size: int, state: dict) -> "Gbfs":
        return cls(state)

    def read(self, *, url: str, kind: str, fetcher: Fetcher, now: datetime) -> PollResult:
        try:
            return self._read(url, fetcher, now)
        except gbfs.NotGbfs as exc:
            raise FetchError(self.refusal, str(exc)) from exc

    def _read(self, url: str, fetcher: Fetcher, now: datetime) -> PollResult:
        # Another discovery URL: nothing kept applies.
        state = dict(self.state) if self.state.get("url") == url else {"url": url}
        urls = self._discovery(state, url, fetcher, now)
        if _current(state.get("station_status"), urls["station_status"], now):
            return PollResult(unchanged=True, source_state=state)
        information = self._information(state, urls["station_information"], fetcher, now)
        status = gbfs.load(
            fetcher.get(urls["station_status"], accept=JSON_ACCEPT).body, "station_status"
        )
        state["station_status"] = _kept(urls["station_status"], status, now)
        result = gbfs.join(information, status, now)
        result.source_state = state
        result.ttl_seconds = gbfs.ttl_seconds(status)
        return result

    def _discovery(self, state: dict, url: str, fetcher: Fetcher, now: datetime) -> dict:
        kept = state.get("discovery")
        if _current(kept, url, now):
            return kept["urls"]
        document = gbfs.load(fetcher.get(url, accept=JSON_ACCEPT).body, "gbfs.json")
        urls = {name: urljoin(url, u) for name, u in gbfs.discover(document).items()}
        if any(urlsplit(u).scheme not in ("http", "https") for u in urls.values()):
            raise gbfs.NotGbfs("the discovery file lists a URL that is not http(s)")
        state["discovery"] = {**_kept(url, document, now), "urls": urls}
        return urls

    def _information(self, state: dict, url: str, fetcher: Fetcher, now: datetime) -> dict:
        kept = state.get("station_information")
        if _current(kept, url, now):
            return kept
        document = gbfs.load(fetcher.get(url, accept=JSON_ACCEPT).body, "station_information")
        information = gbfs.read_information(document)
        state["station_information"] = {**_kept(url, document, now), **information}
        return information


def _kept(url: str, document: dict, now: datetime) -> dict:
    return {"url": url, "expires_at": gbfs.expires_at(document, now).isoformat()}


def _current(kept: dict | None, url: str, now: datetime) -> bool:
    """A file read by an earlier poll, from the same URL, whose ttl has not expired."""
    return (
        kept is not None
        and kept.get("url") == url
        and datetime.fromisoformat(kept["expires_at"]) > now
    )


class GtfsRealtime:
    """A GTFS-Realtime VehiclePositions feed: the vehicles in service now (live: those no
    longer in the message disappear)."""

    refusal = "not_gtfs_rt"

    @classmethod
    def for_feed(cls, *, page_size: int, state: dict) -> "GtfsRealtime":
        return cls()

    def read(self, *, url: str, kind: str, fetcher: Fetcher, now: datetime) -> PollResult:
        try:
            message = gtfs_rt.load(fetcher.get(url, accept=PROTOBUF_ACCEPT).body)
            return gtfs_rt.read_vehicles(message, now)
        except gtfs_rt.NotGtfsRealtime as exc:
            raise FetchError(self.refusal, str(exc)) from exc
