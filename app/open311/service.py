"""Use cases of Open311: describing our services, reading requests, partner keys, and
creating requests through the same intake as the app (validation, routing, duplicates)."""

import hashlib
import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.addresses import service as addresses
from app.auth.identity import OPEN311_NAMESPACE, Identity, internal_uid
from app.categories.models import GROUPS, Category
from app.errors import NotFound
from app.jobs import Job, after_commit
from app.open311 import media, queries
from app.open311.arguments import typed_answers
from app.open311.errors import Open311Error, not_found
from app.open311.models import ApiKey, Submission
from app.pagination import paginate
from app.photos import service as photos
from app.reports.models import Report
from app.reports.service import create_report
from app.users.models import Role

log = logging.getLogger(__name__)
PENDING, FETCHED, REFUSED = "pending", "fetched", "refused"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When the discovery document or what the endpoints accept last changed (address_string
# and address_id geocoded): bump it with the endpoints, formats or parameters.
CHANGESET = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
SOURCE = "open311"
KEY_PREFIX = "s311_"
# Queued when the submission naming a media_url commits; the sweep queues it again if lost.
FETCH_MEDIA = Job(
    "worker.jobs.fetch_open311_media", id_prefix="open311-media", retry=(30, 120, 600)
)

# Our question types as GeoReport v2 datatypes; a boolean is a list of two values.
DATATYPES = {
    "number": "number",
    "boolean": "singlevaluelist",
    "single_choice": "singlevaluelist",
    "multiple_choice": "multivaluelist",
}
# Text questions whose answers are at most this long are "string", longer ones "text".
STRING_MAX_LENGTH = 200
BOOLEAN_VALUES = {"fr": ("Oui", "Non"), "en": ("Yes", "No")}


def _name(thing, lang: str, field: str = "name") -> str | None:
    return getattr(thing, f"{field}_{lang}", None) or getattr(thing, f"{field}_fr", None)


# --- discovery and services -------------------------------------------------------------


def discovery(*, url: str, contact: str, key_service: str, endpoint_type: str) -> dict:
    """The discovery document: where this endpoint is, its formats, whom to contact."""
    return {
        "changeset": CHANGESET,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": CHANGESET,
                "type": endpoint_type,
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def _active_categories(session: Session):
    return session.scalars(
        select(Category).where(Category.active).order_by(Category.position, Category.code)
    )


def services(session: Session, lang: str) -> tuple[list[dict], datetime | None]:
    """Our active categories as Open311 services, and when the catalogue last changed (a
    category deactivated counts: its update time is kept)."""
    changed_at = session.scalar(select(func.max(Category.updated_at)))
    return [_service(category, lang) for category in _active_categories(session)], changed_at


def _service(category: Category, lang: str) -> dict:
    group_fr, group_en = GROUPS.get(category.group, (category.group, category.group))
    group = group_en if lang == "en" else group_fr
    keywords = dict.fromkeys([category.name_fr, category.name_en, group_fr, group_en])
    return {
        "service_code": category.code,
        "service_name": _name(category, lang),
        "description": _name(category, lang, "hint") or _name(category, lang),
        "metadata": bool(category.questions),
        # The service request id is known as soon as the request is created.
        "type": "realtime",
        "keywords": ", ".join(keywords),
        "group": group,
    }


def service_definition(session: Session, code: str, lang: str) -> tuple[dict, datetime]:
    """The service's attributes (our category's questions, in order), and when the category
    last changed."""
    category = session.scalar(select(Category).where(Category.code == code, Category.active))
    if category is None:
        raise not_found("service_not_found", code=code)
    definition = {
        "service_code": category.code,
        "attributes": [
            _attribute(question, order, lang)
            for order, question in enumerate(category.questions or [], start=1)
        ],
    }
    return definition, category.updated_at


def _attribute(question: dict, order: int, lang: str) -> dict:
    kind = question["type"]
    attribute = {
        "variable": True,
        "code": question["code"],
        "datatype": DATATYPES.get(kind, "text"),
        "required": bool(question.get("required")),
        "datatype_description": _datatype_description(question, lang),
        "order": order,
        "description": question.get(f"label_{lang}") or question["label_fr"],
    }
    if kind == "text" and (question.get("max_length") or 2000) <= STRING_MAX_LENGTH:
        attribute["datatype"] = "string"
    if kind == "boolean":
        yes, no = BOOLEAN_VALUES.get(lang, BOOLEAN_VALUES["fr"])
        attribute["values"] = [{"key": "true", "name": yes}, {"key": "false", "name": no}]
    elif kind in ("single_choice", "multiple_choice"):
        attribute["values"] = [
            {"key": c["key"], "name": c.get(f"name_{lang}") or c["name_fr"]}
            for c in question.get("choices") or []
        ]
    return attribute


def _datatype_description(question: dict, lang: str) -> str | None:
    fr = lang != "en"
    kind = question["type"]
    if kind == "number":
        low, high = question.get("min"), question.get("max")
        bounds = []
        if low is not None:
            bounds.append(f"≥ {low:g}")
        if high is not None:
            bounds.append(f"≤ {high:g}")
        return ("Un nombre" if fr else "A number") + (f" ({', '.join(bounds)})" if bounds else "")
    if kind == "text":
        limit = question.get("max_length") or 2000
        return f"Au plus {limit} caractères" if fr else f"At most {limit} characters"
    if kind == "multiple_choice":
        return (
            "Une ou plusieurs clés : attribute[code][]=clé"
            if fr
            else "One or more keys: attribute[code][]=key"
        )
    return None


# --- reading requests --------------------------------------------------------------------


def find_requests(session: Session, how: queries.Presentation, filters: dict):
    """Documents for ``GET requests``: by ids if given (other filters ignored), else
    searched."""
    if filters.get("service_request_ids"):
        return queries.by_references(session, filters["service_request_ids"], how)
    return queries.search(
        session,
        how,
        service_codes=filters.get("service_codes"),
        statuses=filters.get("statuses"),
        start=filters.get("start"),
        end=filters.get("end"),
        updated_after=filters.get("updated_after"),
        updated_before=filters.get("updated_before"),
        offset=(filters["page"] - 1) * filters["page_size"],
        limit=filters["page_size"],
    )


def get_request(session: Session, reference: str, how: queries.Presentation):
    found = queries.by_references(session, [reference], how)
    if not found.documents:
        raise not_found("request_not_found", id=reference)
    return found


def request_for_token(session: Session, token: str) -> dict:
    reference = queries.by_token(session, token)
    if reference is None:
        raise not_found("token_not_found", token=token)
    return {"service_request_id": reference, "token": token}


# --- partner keys ------------------------------------------------------------------------


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def create_key(
    session: Session, *, actor: Identity, name: str, contact: str | None, rate_limit: str
) -> dict:
    """Issue a key to a partner application. The key itself is returned once, never stored."""
    api_key = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        contact=contact,
        prefix=api_key[:12],
        key_hash=hash_key(api_key),
        rate_limit=rate_limit,
        created_by=actor.uid,
    )
    session.add(key)
    session.flush()
    session.refresh(key)
    view = present_key(key)
    session.commit()
    return {**view, "api_key": api_key}


def present_key(key: ApiKey) -> dict:
    return {
        "id": key.id,
        "name": key.name,
        "contact": key.contact,
        "prefix": key.prefix,
        "rate_limit": key.rate_limit,
        "created_by": key.created_by,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
        "active": key.revoked_at is None,
    }


def list_keys(session: Session, *, after: list | None, limit: int) -> dict:
    """Partner keys by id, revoked ones included (cursor paginated)."""
    query = select(ApiKey).order_by(ApiKey.id).limit(limit + 1)
    if after:
        query = query.where(ApiKey.id > after[0])
    page = paginate(list(session.scalars(query)), limit, key=lambda k: [k.id])
    page["items"] = [present_key(k) for k in page["items"]]
    return page


def revoke_key(session: Session, key_id: int) -> dict:
    """Revoke a key (kept, for the requests it created); revoking twice changes nothing."""
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("open311_key_not_found", id=key_id)
    if key.revoked_at is None:
        key.revoked_at = clock.now(session)
    view = present_key(key)
    session.commit()
    return view


def authenticate(session: Session, api_key: str) -> ApiKey | None:
    """The active key ``api_key`` is, or None."""
    return session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(api_key), ApiKey.revoked_at.is_(None))
    )


# --- creating requests -------------------------------------------------------------------


def _reporter(key: ApiKey, submission: dict) -> Identity:
    """Who files it, as far as intake needs to know (supports are counted per reporter): the
    partner's device or e-mail if given, hashed, else a one-off identity."""
    who = submission.get("device_id") or submission.get("email") or uuid.uuid4().hex
    digest = hashlib.sha256(f"{key.id}\n{who}".encode()).hexdigest()[:32]
    return Identity(
        uid=internal_uid(OPEN311_NAMESPACE, key.id, digest),
        role=Role.RESIDENT,
        anonymous=True,
        email=None,
    )


def _place(session: Session, submission: dict) -> tuple[dict, str | None]:
    """The request's point and address: as given, or the register's address it names (then
    its label is the address kept)."""
    if submission["lat"] is not None:
        return {"lon": submission["long"], "lat": submission["lat"]}, submission.get(
            "address_string"
        )
    try:
        if submission.get("address_id"):
            place = addresses.by_id(session, submission["address_id"])
        else:
            place = addresses.geocode(session, submission["address_string"])
    except addresses.Ambiguous as ambiguous:
        raise Open311Error(
            400,
            "address_ambiguous",
            address=submission["address_string"],
            candidates=" ; ".join(ambiguous.labels),
        ) from None
    except addresses.NoMatch:
        if submission.get("address_id"):
            raise Open311Error(400, "address_id_not_found", id=submission["address_id"]) from None
        raise Open311Error(400, "address_not_found", address=submission["address_string"]) from None
    return {"lon": place.lon, "lat": place.lat}, place.label


def submit(session: Session, *, key: ApiKey, submission: dict, language: str) -> dict:
    """Create a report from an Open311 request, as intake does; returns the spec's answer.
    A media_url is fetched in the background, queued when the request commits."""
    names = [submission.get("first_name"), submission.get("last_name")]
    name = " ".join(n for n in names if n) or None
    contact = None
    if name or submission.get("email") or submission.get("phone"):
        # No consent to be written to was asked for: kept for the desk, no notifications.
        contact = {
            "name": name,
            "email": submission.get("email"),
            "phone": submission.get("phone"),
            "by_push": False,
            "by_email": False,
        }
    questions = session.scalar(
        select(Category.questions).where(Category.code == submission["service_code"])
    )
    location, address = _place(session, submission)
    data = {
        "category": submission["service_code"],
        "location": location,
        "address": address,
        "description": submission.get("description"),
        "answers": typed_answers(submission.get("attributes") or {}, questions or []),
        "contact": contact,
    }
    report = create_report(
        session,
        reporter=_reporter(key, submission),
        data=data,
        language=language,
        source=SOURCE,
    )
    token = str(uuid.uuid4())
    session.add(
        Submission(
            report_id=report.id,
            api_key_id=key.id,
            token=token,
            media_url=submission.get("media_url"),
            media_status=PENDING if submission.get("media_url") else None,
        )
    )
    if submission.get("media_url"):
        after_commit(session, FETCH_MEDIA, report.id)
    session.commit()
    return {"service_request_id": report.reference, "token": token}


def fetch_media(session: Session, report_id: int, policy: media.Policy) -> str | None:
    """Fetch the photo a partner named and hand it to the photo pipeline (once: safe to run
    twice). Returns the submission's media status.

    The fetch (up to ``policy.timeout_s``, at a third party's pace) holds no transaction
    and no lock: the submission is claimed afterwards, in a short transaction that records
    the outcome only if it is still pending (a run that lost the race drops what it got)."""
    submission = session.get(Submission, report_id, populate_existing=True)
    status, url = (submission.media_status, submission.media_url) if submission else (None, None)
    session.rollback()
    if status != PENDING:
        return status
    try:
        data, refusal = media.fetch(url, policy), None
    except media.Refused as refused:
        log.info("media_url refused", extra={"report_id": report_id, "reason": refused.reason})
        data, refusal = None, refused.reason
    if refusal is None and not data:
        refusal = "empty"
    upload_key = photos.store_upload(data) if refusal is None else None
    submission = session.get(Submission, report_id, with_for_update=True)
    if submission is None or submission.media_status != PENDING:
        session.rollback()
        if upload_key:
            photos.storage().delete(upload_key)
        return submission.media_status if submission else None
    if refusal is not None:
        submission.media_status, submission.media_error = REFUSED, refusal
        session.commit()
        return REFUSED
    reporter = session.scalar(select(Report.reporter_uid).where(Report.id == report_id))
    photos.add_photo(session, report_id=report_id, upload_key=upload_key, uploaded_by=reporter)
    submission.media_status = FETCHED
    session.commit()
    return FETCHED


def pending_media(session: Session, older_than: timedelta) -> list[int]:
    """Submissions whose media_url is still pending after ``older_than``: job lost?"""
    ids = list(
        session.scalars(
            select(Submission.report_id)
            .where(
                Submission.media_status == PENDING,
                Submission.created_at < func.now() - older_than,
            )
            .order_by(Submission.report_id)
            .limit(1000)
        )
    )
    session.rollback()
    return ids
