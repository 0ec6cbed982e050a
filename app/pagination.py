"""Cursor (keyset) pagination shared by every list endpoint.

A cursor is an opaque, URL-safe token carrying the sort key of the last item served. Pages
stay stable while rows are inserted, and deep pages cost the same as the first.
"""

import base64
import binascii
import json
from datetime import UTC

import marshmallow as ma
from flask import current_app

from app.errors import Problem


class PageArgsSchema(ma.Schema):
    cursor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=512),
        metadata={
            "description": "Opaque cursor from a previous page's `next_cursor`",
            "format": "cursor",
        },
    )
    limit = ma.fields.Integer(
        load_default=None,
        validate=ma.validate.Range(min=1, max=200),
        metadata={"description": "Items per page (1-200, default 50)"},
    )


class PeriodArgsSchema(PageArgsSchema):
    """A page of a log, between two instants."""

    since = ma.fields.AwareDateTime(
        load_default=None,
        default_timezone=UTC,
        metadata={"description": "From this time on (inclusive; ISO 8601, UTC if no offset)"},
    )
    until = ma.fields.AwareDateTime(
        load_default=None,
        default_timezone=UTC,
        metadata={"description": "Before this time (exclusive)"},
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A ``{items, next_cursor}`` schema for ``item_schema``."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(
                allow_none=True,
                required=True,
                metadata={"description": "Pass as `cursor` for the next page; null at the end"},
            ),
        },
    )


def encode_cursor(key: list) -> str:
    raw = json.dumps(key, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None, arity: int, parse=None) -> list | None:
    """The key carried by ``cursor`` (None for the first page); 400 if it is not one of ours.

    ``parse(key)`` may convert the key's parts; any error it raises means a bad cursor.
    """
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if isinstance(key, list) and len(key) == arity:
        try:
            return parse(key) if parse else key
        except (ValueError, TypeError):
            pass
    raise Problem("invalid_cursor", 400, errors={"query": {"cursor": ["invalid cursor"]}})


def page_size(limit: int | None) -> int:
    cfg = current_app.config
    return min(limit or cfg["PAGE_SIZE_DEFAULT"], cfg["PAGE_SIZE_MAX"])


def paginate(rows: list, limit: int, key) -> dict:
    """Cut ``rows`` (fetched with ``limit + 1``) into a page; ``key(row)`` gives its cursor."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": rows,
        "next_cursor": encode_cursor(key(rows[-1])) if more and rows else None,
    }
