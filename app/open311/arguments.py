"""Open311 parameters, checked by hand: the spec's names (``attribute[code]``, ``long``),
its defaults, and its error documents. Parameters the spec lets clients send that we do
not use are ignored, as Open311 clients expect."""

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import marshmallow as ma
from werkzeug.datastructures import MultiDict

from app import field_messages
from app.open311.errors import Open311Error, bad_parameter
from app.open311.formats import LOCAL_TIME
from app.reports.schemas import PHONE_PATTERN

# The spec's defaults: the last 90 days, at most 1000 requests.
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
MAX_PAGE = 100_000
STATUSES = {"open", "closed"}
_LIST_ITEM = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")


def check_text(values: MultiDict, *extra: str) -> None:
    """PostgreSQL text cannot hold NUL; XML cannot carry it either."""
    for name, value in [*values.items(multi=True), *(("path", e) for e in extra)]:
        if "\x00" in name or "\x00" in value:
            raise bad_parameter(name.replace("\x00", ""), "NUL character (U+0000)")


def _date(args: MultiDict, name: str) -> datetime | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace(" ", "+"))
    except ValueError:
        raise bad_parameter(
            name, "expected a W3C date-time, e.g. 2026-11-01T08:00:00+01:00"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TIME)
    return value


def _int(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"\d{1,9}", raw.strip()):
        raise bad_parameter(name, f"expected a whole number from {low} to {high}")
    value = int(raw)
    if not low <= value <= high:
        raise bad_parameter(name, f"expected a whole number from {low} to {high}")
    return value


def _list(args: MultiDict, name: str) -> list[str] | None:
    items = [i.strip() for v in args.getlist(name) for i in v.split(",") if i.strip()]
    if not items:
        return None
    if len(items) > MAX_REQUESTS:
        raise bad_parameter(name, f"at most {MAX_REQUESTS} values")
    for item in items:
        if not _LIST_ITEM.match(item):
            raise bad_parameter(name, f"unexpected value {item[:64]!r}")
    return items


def search_filters(args: MultiDict, *, now: Callable[[], datetime]) -> dict:
    """The filters of ``GET requests``, defaults applied (90 days, 1000 requests); ``now()``
    is read only for the default window."""
    filters = {
        "service_request_ids": _list(args, "service_request_id"),
        "service_codes": _list(args, "service_code"),
        "start": _date(args, "start_date"),
        "end": _date(args, "end_date"),
        "updated_after": _date(args, "updated_after"),
        "updated_before": _date(args, "updated_before"),
        "page": _int(args, "page", 1, 1, MAX_PAGE),
        "page_size": _int(args, "page_size", MAX_REQUESTS, 1, MAX_REQUESTS),
        "extensions": (args.get("extensions") or "").lower() == "true",
    }
    statuses = _list(args, "status")
    if statuses is not None:
        statuses = {s.lower() for s in statuses}
        if not statuses <= STATUSES:
            raise bad_parameter("status", "expected open, closed or open,closed")
    filters["statuses"] = statuses
    start, end = filters["start"], filters["end"]
    span = timedelta(days=DEFAULT_DAYS)
    if start and end:
        if end < start:
            raise bad_parameter("end_date", "before start_date")
        if end - start > span:
            raise Open311Error(400, "date_range_too_long", days=DEFAULT_DAYS)
    elif start:
        filters["end"] = start + span
    elif end:
        filters["start"] = end - span
    elif not (filters["updated_after"] or filters["updated_before"]):
        # Neither dates nor update bounds: the last 90 days, from the current minute (the
        # window moves by the minute: documents of the same minute can be cached).
        filters["start"] = now().replace(second=0, microsecond=0) - span
    return filters


def normalised(filters: dict) -> dict:
    """The filters, defaults applied, as plain values equal for equivalent URLs (lists
    sorted, date-times in UTC): what a cached document is keyed by."""

    def plain(value):
        if isinstance(value, list | set):
            return sorted(value)
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        return value

    return {name: plain(value) for name, value in filters.items()}


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ma.ValidationError("must be a finite number")
    return value


class SubmissionSchema(ma.Schema):
    """``POST requests``, form-encoded. The place: ``lat`` and ``long``, else
    ``address_string`` or ``address_id`` (geocoded against the address register)."""

    class Meta:
        unknown = ma.EXCLUDE

    service_code = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    lat = ma.fields.Float(load_default=None, validate=[ma.validate.Range(min=-90, max=90), _finite])
    long = ma.fields.Float(
        load_default=None, validate=[ma.validate.Range(min=-180, max=180), _finite]
    )
    address_string = ma.fields.String(load_default=None, validate=ma.validate.Length(max=300))
    address_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    email = ma.fields.Email(load_default=None, validate=ma.validate.Length(max=320))
    device_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))
    account_id = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))
    first_name = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    last_name = ma.fields.String(load_default=None, validate=ma.validate.Length(max=99))
    phone = ma.fields.String(load_default=None, validate=ma.validate.Regexp(PHONE_PATTERN))
    description = ma.fields.String(load_default=None, validate=ma.validate.Length(max=2000))
    media_url = ma.fields.Url(
        load_default=None,
        schemes={"http", "https"},
        require_tld=True,
        validate=ma.validate.Length(max=2000),
    )


SUBMISSION = SubmissionSchema()


def submission(form: MultiDict) -> dict:
    """The request to create, checked; answers keyed by question code."""
    plain = {k: v for k, v in form.items() if not k.startswith("attribute[") and v != ""}
    try:
        data = SUBMISSION.load(plain)
    except ma.ValidationError as exc:
        raise Open311Error(
            400,
            descriptions=[
                _describe_field(name, messages) for name, messages in exc.messages.items()
            ],
        ) from None
    coordinates = (data["lat"], data["long"])
    if None in coordinates and (
        coordinates != (None, None) or not (data["address_string"] or data["address_id"])
    ):
        raise Open311Error(400, "location_required")
    data["attributes"] = _attributes(form)
    return data


def _describe_field(name: str, messages) -> str:
    messages = field_messages.localise_errors(messages)
    text = "; ".join(messages) if isinstance(messages, list) else str(messages)
    return bad_parameter(name, text).descriptions[0]


def _attributes(form: MultiDict) -> dict:
    answers: dict = {}
    for name in form:
        if not name.startswith("attribute["):
            continue
        match = _ATTRIBUTE.match(name)
        if not match:
            raise bad_parameter(name[:80], "expected attribute[code] or attribute[code][]")
        code, many = match.group(1), bool(match.group(2))
        values = [v for v in form.getlist(name) if v != ""]
        if many:
            answers[code] = values
        elif values:
            answers[code] = values[0] if len(values) == 1 else values
    return answers


def typed_answers(answers: dict, questions: list[dict]) -> dict:
    """Form values are text: give numbers and yes/no answers their types, per question."""
    kinds = {q["code"]: q["type"] for q in questions or []}
    typed = {}
    for code, value in answers.items():
        kind = kinds.get(code)
        if kind == "number" and isinstance(value, str):
            value = _number(value)
        elif kind == "boolean" and isinstance(value, str):
            value = {"true": True, "false": False}.get(value.strip().lower(), value)
        elif kind == "multiple_choice" and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        typed[code] = value
    return typed


def _number(text: str):
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return int(number) if re.fullmatch(r"\s*-?\d{1,15}\s*", text) else number
