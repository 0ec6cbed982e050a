"""GeoReport v2 documents in its two formats: XML (required by the spec) and JSON.

Documents are built as plain data (dicts, lists, scalars) by the service, then rendered
here. A field without a value is left out, in both formats.
"""

import re
from datetime import datetime
from xml.etree.ElementTree import Element, SubElement, tostring
from zoneinfo import ZoneInfo

from flask import Response, json

FORMATS = ("xml", "json")
MEDIA_TYPES = {"xml": "text/xml", "json": "application/json"}
LOCAL_TIME = ZoneInfo("Europe/Paris")

# The element name of one item of each list, as the spec's XML examples name them.
ITEMS = {
    "discovery": None,
    "endpoints": "endpoint",
    "formats": "format",
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
}
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def timestamp(value: datetime | None) -> str | None:
    """W3C date-time with the offset, in Dijon's time."""
    return None if value is None else value.astimezone(LOCAL_TIME).isoformat(timespec="seconds")


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return timestamp(value)
    return _NOT_XML.sub("", str(value))


def _fill(parent: Element, name: str, value) -> None:
    if value is None:
        return
    if isinstance(value, list):
        container = SubElement(parent, name)
        for item in value:
            _fill(container, ITEMS[name], item)
    elif isinstance(value, dict):
        child = SubElement(parent, name)
        for key, inner in value.items():
            _fill(child, key, inner)
    else:
        SubElement(parent, name).text = _text(value)


def to_xml(root: str, document) -> bytes:
    """``document`` under the element ``root``; a list becomes one child per item."""
    element = Element(root)
    if isinstance(document, list):
        for item in document:
            _fill(element, ITEMS[root], item)
    else:
        for key, value in document.items():
            _fill(element, key, value)
    return tostring(element, encoding="utf-8", xml_declaration=True)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return timestamp(value)
    return value


def render(fmt: str, root: str, document, status: int = 200, headers=None) -> Response:
    """The response in ``fmt``: the XML root element is ``root``; JSON has no root."""
    if fmt == "json":
        body = json.dumps(_jsonable(document), ensure_ascii=False)
    else:
        body = to_xml(root, document)
    response = Response(body, status=status, mimetype=MEDIA_TYPES[fmt])
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def render_requests(fmt: str, documents: list[str]) -> Response:
    """A list of service requests, each already a JSON document (see queries._document)."""
    if fmt == "json":
        body = "[" + ",".join(documents) + "]"
    else:
        body = to_xml("service_requests", [json.loads(d) for d in documents])
    return Response(body, mimetype=MEDIA_TYPES[fmt])


def errors_document(errors: list[tuple[int, str]]) -> list[dict]:
    """The spec's error document: one ``{code, description}`` per problem."""
    return [{"code": code, "description": description} for code, description in errors]
