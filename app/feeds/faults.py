"""Equipment faults reported by sensor feeds, turned into tickets.

The mapping is data (the ``feed_fault_mappings`` table, admins edit it): entity type,
attribute and value -> category code, no category meaning the equipment works again. It is
read once per poll. A fault opens a report as intake would (validation, routing,
duplicates) with source ``sensor``, attached to the asset the entity names (every
identifier its model defines, then its id), else to the nearest, its text written for an
agent in French and English; while that ticket is open, the fault repeated by later polls
adds nothing. Working again, the equipment adds an event to the open ticket; a crew
confirms and closes it.
"""

import logging
from dataclasses import asdict, dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.assets.models import KIND_NAMES, Asset
from app.auth.identity import SENSOR_NAMESPACE, Identity, internal_uid
from app.categories.models import Category
from app.errors import NotFound, Unprocessable
from app.feeds.models import FeedFaultMapping
from app.feeds.ngsi_ld import EQUIPMENT_IDENTIFIERS
from app.feeds.vocabulary import label
from app.reports.models import CLOSED_STATUSES, Report
from app.reports.service import create_report
from app.triage.models import ReportEvent
from app.users.models import Role

log = logging.getLogger(__name__)

# The shipped mapping (what the migration seeds): a street light out, and back to ok.
DEFAULT_MAPPINGS = (
    ("Streetlight", "status", "defectiveLamp", "streetlight_out"),
    ("Streetlight", "status", "brokenLantern", "streetlight_out"),
    ("Streetlight", "status", "columnIssue", "streetlight_out"),
    ("Streetlight", "status", "ok", None),
)
SENSOR_OK = "sensor_ok"
# Ticket texts give the observation time in the city's time.
LOCAL_TIME = ZoneInfo("Europe/Paris")
CLOSED = "(" + ", ".join(f"'{s}'" for s in CLOSED_STATUSES) + ")"

# The feed's entities whose stored state asks for something: a mapped fault not covered by
# an open ticket yet, or a "working" value while the ticket it opened is still open. An
# entity matching several mappings counts once, a fault before "working again" (so a lamp
# "ok" by its status but "off" by a mapped power state is not declared repaired). The
# (feed_id, entity_id) unique index bounds the scan to the feed.
PENDING_SQL = """
WITH matched AS (
    SELECT DISTINCT ON (e.id)
           e.id, e.entity_id, e.entity_type, e.name, e.status, e.observed_at, e.measures,
           e.geom, e.fault_report_id, m.attribute, m.value, m.category_code
    FROM feed_entities e
    JOIN unnest(CAST(:types AS text[]), CAST(:attributes AS text[]),
                CAST(:mapped_values AS text[]), CAST(:codes AS text[]))
         AS m(entity_type, attribute, value, category_code)
      ON m.entity_type = e.entity_type
     AND m.value = CASE m.attribute WHEN 'status' THEN e.status
                                    WHEN 'powerState' THEN e.measures ->> 'power_state' END
    WHERE e.feed_id = :feed_id {only}
    ORDER BY e.id, m.category_code IS NULL, m.category_code
)
SELECT m.id, m.entity_id, m.entity_type, m.name, m.attribute, m.value, m.observed_at,
       m.measures, m.fault_report_id, m.category_code,
       ST_X(ST_PointOnSurface(m.geom)) AS lon, ST_Y(ST_PointOnSurface(m.geom)) AS lat
FROM matched m
LEFT JOIN reports r ON r.id = m.fault_report_id
WHERE CASE WHEN m.category_code IS NOT NULL
           THEN r.id IS NULL OR r.status IN {closed}
           ELSE r.id IS NOT NULL AND r.status NOT IN {closed} END
ORDER BY m.id
"""
PENDING = text(PENDING_SQL.format(only="", closed=CLOSED))
# The same among some entities only (those a notification brought: the others have not
# changed, and the next poll still looks at every one).
PENDING_AMONG = text(
    PENDING_SQL.format(only="AND e.entity_id = ANY(CAST(:entity_ids AS text[]))", closed=CLOSED)
)

# The nearest working asset of a kind within the snap distance of the entity (GiST).
NEAREST_ASSET = text(
    """
SELECT a.id, a.reference, ST_Distance(a.geom_l93, e.geom_l93) AS distance_m
FROM assets a, feed_entities e
WHERE e.id = :entity_pk AND a.kind = :kind AND a.status <> 'removed'
  AND ST_DWithin(a.geom_l93, e.geom_l93, :snap)
ORDER BY a.geom_l93 <-> e.geom_l93, a.id
LIMIT 1
"""
)


@dataclass(frozen=True)
class Mapping:
    entity_type: str
    attribute: str
    value: str
    category_code: str | None


def active_mappings(session: Session, entity_types) -> list[Mapping]:
    """The active mappings of these entity types: read once per poll."""
    rows = session.execute(
        select(
            FeedFaultMapping.entity_type,
            FeedFaultMapping.attribute,
            FeedFaultMapping.value,
            FeedFaultMapping.category_code,
        ).where(FeedFaultMapping.active, FeedFaultMapping.entity_type.in_(list(entity_types)))
    ).all()
    return [Mapping(*row) for row in rows]


def seed_mappings(session: Session) -> int:
    """Add the shipped mappings that are missing (an admin's change is kept); commits."""
    added = session.execute(
        insert(FeedFaultMapping)
        .values(
            [
                {"entity_type": t, "attribute": a, "value": v, "category_code": c}
                for t, a, v, c in DEFAULT_MAPPINGS
            ]
        )
        .on_conflict_do_nothing()
        .returning(FeedFaultMapping.value)
    ).all()
    session.commit()
    return len(added)


def list_mappings(session: Session) -> list[FeedFaultMapping]:
    return list(
        session.scalars(
            select(FeedFaultMapping).order_by(
                FeedFaultMapping.entity_type, FeedFaultMapping.attribute, FeedFaultMapping.value
            )
        )
    )


def put_mapping(
    session: Session, entity_type: str, attribute: str, value: str, data: dict
) -> tuple[FeedFaultMapping, bool]:
    """Create or replace a mapping; its category must be an active one (or none: the
    equipment works again). Used from the next poll on."""
    code = data["category"]
    if code is not None:
        _check_category(session, code)
    mapping = session.get(FeedFaultMapping, (entity_type, attribute, value))
    created = mapping is None
    if created:
        mapping = FeedFaultMapping(entity_type=entity_type, attribute=attribute, value=value)
        session.add(mapping)
    mapping.category_code = code
    mapping.active = data["active"]
    session.commit()
    return mapping, created


def _check_category(session: Session, code: str) -> None:
    """An active category a sensor can file: one without required questions (a sensor has
    no answers to give, so every fault would fail)."""
    category = session.scalar(select(Category).where(Category.code == code, Category.active))
    if category is None:
        raise Unprocessable(
            "unknown_category", code=code, errors={"json": {"category": ["unknown or inactive"]}}
        )
    required = [q["code"] for q in category.questions if q.get("required")]
    if required:
        raise Unprocessable(
            "fault_category_has_required_questions",
            code=code,
            questions=", ".join(required),
            errors={"json": {"category": [f"required questions: {', '.join(required)}"]}},
        )


def delete_mapping(session: Session, entity_type: str, attribute: str, value: str) -> None:
    mapping = session.get(FeedFaultMapping, (entity_type, attribute, value))
    if mapping is None:
        raise NotFound(
            "fault_mapping_not_found", entity_type=entity_type, attribute=attribute, value=value
        )
    session.delete(mapping)
    session.commit()


@dataclass
class FaultOutcome:
    opened: int = 0  # tickets opened
    joined: int = 0  # faults covered by a ticket already open on the asset
    recovered: int = 0  # "working again" events added
    failed: int = 0  # faults no ticket could be opened for (logged)

    def as_dict(self) -> dict:
        return asdict(self)


def sensor_uid(feed_name: str) -> str:
    return internal_uid(SENSOR_NAMESPACE, feed_name)


def process_faults(
    session: Session,
    feed_id: int,
    feed_name: str,
    mappings: list[Mapping],
    entity_ids: list[str] | None = None,
) -> FaultOutcome:
    """Open, join or update tickets for the feed's stored states (of ``entity_ids`` only,
    when given); flushes only (the poll commits). A fault that cannot become a ticket
    (outside the area, inactive category) is logged and counted, never fails the poll."""
    outcome = FaultOutcome()
    if not mappings:
        return outcome
    pending = session.execute(
        PENDING if entity_ids is None else PENDING_AMONG,
        {
            "entity_ids": entity_ids,
            "feed_id": feed_id,
            "types": [m.entity_type for m in mappings],
            "attributes": [m.attribute for m in mappings],
            "mapped_values": [m.value for m in mappings],
            "codes": [m.category_code for m in mappings],
        },
    ).all()
    codes = {m.category_code for m in mappings if m.category_code}
    categories = {
        c.code: c
        for c in session.scalars(select(Category).where(Category.code.in_(codes), Category.active))
    }
    for row in pending:
        if row.category_code is None:
            _recovered(session, row, feed_name)
            outcome.recovered += 1
            continue
        try:
            with session.begin_nested():
                opened = _fault(session, row, feed_name, categories.get(row.category_code))
        except Unprocessable as exc:
            outcome.failed += 1
            log.warning(
                "sensor fault opened no ticket",
                extra={"feed": feed_name, "entity": row.entity_id, "code": exc.code},
            )
            continue
        except Exception:  # one fault's ticket must not cost the poll its stored states
            outcome.failed += 1
            log.exception(
                "sensor fault ticket failed", extra={"feed": feed_name, "entity": row.entity_id}
            )
            continue
        if opened:
            outcome.opened += 1
        else:
            outcome.joined += 1
    return outcome


def _fault(session: Session, row, feed_name: str, category: Category | None) -> bool:
    """Link the entity to an open ticket on its asset, else open one; True if opened."""
    if category is None:
        raise Unprocessable("unknown_category", code=row.category_code)
    asset = _matching_asset(session, category, row)
    if asset is not None:
        open_on_asset = session.scalar(
            select(Report.id)
            .where(
                Report.asset_id == asset.id,
                Report.category_id == category.id,
                Report.status.not_in(CLOSED_STATUSES),
            )
            .order_by(Report.created_at, Report.id)
            .limit(1)
        )
        if open_on_asset is not None:
            _link(session, row.id, open_on_asset)
            return False
    reporter = Identity(
        uid=sensor_uid(feed_name),
        role=Role.RESIDENT,  # a reporter's rights, no staff role
        anonymous=False,
        email=None,
        display_name=f"Capteur {feed_name}",
    )
    report = create_report(
        session,
        reporter=reporter,
        data={
            "category": category.code,
            "location": {"lon": row.lon, "lat": row.lat},
            "asset_reference": asset.reference if asset else None,
            "description": fault_description(row, feed_name, category, asset),
            "answers": {},
        },
        language="fr",
        source="sensor",
    )
    # Routed as a duplicate of a resident's open report nearby: the fault joins that one.
    _link(session, row.id, report.duplicate_of_id or report.id)
    return report.status != "duplicate"


@dataclass(frozen=True)
class Equipment:
    """The asset a fault is about, and how it was found: ``named_by`` the entity's
    attribute naming it (``id``: the entity's id), else the nearest, ``distance_m`` away."""

    id: int
    reference: str
    named_by: str | None = None
    distance_m: float | None = None


def _matching_asset(session: Session, category: Category, row) -> Equipment | None:
    """The asset by reference: what the entity names (its EQUIPMENT_IDENTIFIERS, in order,
    then its id), each whole then by its last segment; else the nearest of the category's
    kind within its snap distance."""
    if not category.asset_kind:
        return None
    named = [
        (attribute, value)
        for attribute in EQUIPMENT_IDENTIFIERS.get(row.entity_type, ())
        if (value := (row.measures.get("equipment") or {}).get(attribute))
    ]
    named.append(("id", row.entity_id))
    candidates: dict[str, str] = {}  # reference -> the attribute naming it, in order
    for attribute, value in named:
        candidates.setdefault(value, attribute)
        candidates.setdefault(value.rsplit(":", 1)[-1], attribute)
    found = {
        a.reference: a
        for a in session.scalars(
            select(Asset).where(
                Asset.reference.in_(list(candidates)),
                Asset.kind == category.asset_kind,
                Asset.status != "removed",
            )
        )
    }
    for reference, attribute in candidates.items():
        if reference in found:
            return Equipment(found[reference].id, reference, named_by=attribute)
    nearest = session.execute(
        NEAREST_ASSET,
        {"entity_pk": row.id, "kind": category.asset_kind, "snap": category.snap_distance_m},
    ).first()
    if nearest is None:
        return None
    return Equipment(nearest.id, nearest.reference, distance_m=round(nearest.distance_m, 1))


def fault_description(row, feed_name: str, category: Category, asset: Equipment | None) -> str:
    """The ticket's text for an agent, in French then English: the fault in words, the
    equipment and how it was found, the feed, the sensor and when it observed the fault."""
    local = row.observed_at.astimezone(LOCAL_TIME)
    kind = KIND_NAMES.get(category.asset_kind or "", ("équipement", "equipment"))
    fault = {
        language: f"{label(row.entity_type, row.attribute, row.value, language)} "
        f"({row.attribute} = {row.value})"
        for language in ("fr", "en")
    }
    if asset is None and category.asset_kind:
        where = (
            f"aucun équipement « {kind[0]} » du registre ne correspond au capteur ni ne se "
            f"trouve à moins de {category.snap_distance_m} m : à identifier sur place.",
            f"no {kind[1]} of the register matches the sensor or is within "
            f"{category.snap_distance_m} m: to be identified on site.",
        )
    elif asset is None:
        where = None
    elif asset.named_by == "id":
        where = (
            f"{kind[0]} {asset.reference} (d'après l'identifiant du capteur).",
            f"{kind[1]} {asset.reference} (from the sensor's id).",
        )
    elif asset.named_by:
        where = (
            f"{kind[0]} {asset.reference} (le capteur le désigne par {asset.named_by}).",
            f"{kind[1]} {asset.reference} (the sensor names it by {asset.named_by}).",
        )
    else:
        distance = f"{asset.distance_m:.0f} m"
        where = (
            f"{kind[0]} {asset.reference} (l'équipement de ce type le plus proche du capteur, "
            f"à {distance}).",
            f"{kind[1]} {asset.reference} (the nearest of its kind to the sensor, {distance} "
            "away).",
        )
    sensor = row.entity_id[:200] if not row.name else f"{row.name} ({row.entity_id[:200]})"
    french = [
        f"Panne signalée automatiquement par le flux de capteurs « {feed_name} » : "
        f"{fault['fr']}, observée le {local:%d/%m/%Y à %H:%M} (heure de Paris).",
        *([f"Équipement : {where[0]}"] if where else []),
        f"Capteur : {sensor}.",
    ]
    english = [
        f"Fault reported automatically by the sensor feed “{feed_name}”: {fault['en']}, "
        f"observed on {local:%Y-%m-%d at %H:%M} (Paris time).",
        *([f"Equipment: {where[1]}"] if where else []),
        f"Sensor: {sensor}.",
    ]
    return "\n".join(french) + "\n\n" + "\n".join(english)


def _link(session: Session, entity_pk: int, report_id: int | None) -> None:
    session.execute(
        text("UPDATE feed_entities SET fault_report_id = :report WHERE id = :id"),
        {"report": report_id, "id": entity_pk},
    )


def _recovered(session: Session, row, feed_name: str) -> None:
    """The equipment works again: say so on its open ticket (staff only), and let a later
    fault open or join a ticket anew."""
    report = session.get(Report, row.fault_report_id)
    session.add(
        ReportEvent(
            report_id=report.id,
            actor_uid=sensor_uid(feed_name),
            actor_role="sensor",
            desk_id=report.desk_id,
            crew_id=report.crew_id,
            action=SENSOR_OK,
            from_status=report.status,
            to_status=report.status,
            public=False,
            details={
                "entity": row.entity_id,
                row.attribute: row.value,
                "observed_at": row.observed_at.isoformat(),
            },
        )
    )
    _link(session, row.id, None)
    session.flush()
