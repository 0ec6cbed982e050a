"""One adapter per feed format (a strategy each): fetch the source, return entity states.

Adapters never write: the poll stores what they return only when the whole read succeeded,
so a failure part-way (page 3 of 5 times out) keeps the last good state.
"""

import re
from datetime import datetime
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from app.feeds import ngsi_ld
from app.feeds.fetching import Fetcher, FetchError
from app.feeds.states import Malformed, PollResult

NGSI_LD_ACCEPT = "application/ld+json, application/json;q=0.9"
NEXT_LINK = re.compile(r'<([^>]*)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)


class Adapter(Protocol):
    def read(self, *, url: str, kind: str, fetcher: Fetcher, now: datetime) -> PollResult: ...


def parse_entities(entities: list, kind: str, now: datetime, result: PollResult) -> None:
    for entity in entities:
        try:
            result.states.append(ngsi_ld.parse_entity(entity, kind, now))
        except Malformed as exc:
            entity_id = entity.get("id") if isinstance(entity, dict) else None
            label = entity_id[:256] if isinstance(entity_id, str) else "?"
            result.skipped.append((label, str(exc)))


def load(body: bytes) -> list:
    try:
        return ngsi_ld.load_document(body)
    except ngsi_ld.NotNgsiLd as exc:
        raise FetchError("not_ngsi_ld", str(exc)) from exc


class NgsiLdDocument:
    """A JSON document of NGSI-LD entities (an export, a static file)."""

    def read(self, *, url: str, kind: str, fetcher: Fetcher, now: datetime) -> PollResult:
        result = PollResult()
        parse_entities(load(fetcher.get(url, accept=NGSI_LD_ACCEPT).body), kind, now, result)
        return result


class NgsiLdBroker:
    """A context broker's ``/ngsi-ld/v1/entities?type=...``, page by page: the ``Link:
    rel="next"`` the broker gives, else ``limit``/``offset`` until a short page."""

    def __init__(self, page_size: int = 1000, max_pages: int = 1000):
        self.page_size = page_size
        self.max_pages = max_pages

    def read(self, *, url: str, kind: str, fetcher: Fetcher, now: datetime) -> PollResult:
        result = PollResult()
        offset = 0
        next_url = with_page(url, self.page_size, offset)
        for _ in range(self.max_pages):
            fetched = fetcher.get(next_url, accept=NGSI_LD_ACCEPT)
            page = load(fetched.body)
            parse_entities(page, kind, now, result)
            link = _next_link(fetched.headers)
            if link:
                next_url = urljoin(next_url, link)
            elif len(page) >= self.page_size:
                offset += len(page)
                next_url = with_page(url, self.page_size, offset)
            else:
                return result
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


# The formats that have an adapter (GBFS and GTFS-Realtime: not yet).
SUPPORTED_FORMATS = ("ngsi-ld", "ngsi-ld-document")


def adapter_for(format_: str, *, page_size: int = 1000) -> Adapter:
    if format_ == "ngsi-ld":
        return NgsiLdBroker(page_size=page_size)
    if format_ == "ngsi-ld-document":
        return NgsiLdDocument()
    raise ValueError(f"no adapter for {format_}")
