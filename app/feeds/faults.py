"""Equipment faults reported by sensor feeds, turned into tickets.

The mapping is data (``FEEDS_FAULTS``): entity type -> status -> category code, a status
mapped to None meaning the equipment works again. A fault opens a report as intake would
(validation, routing, duplicates) with source ``sensor``, attached to the matching asset;
while that ticket is open, the fault repeated by later polls adds nothing. Working again,
the equipment adds an event to the open ticket; a crew confirms and closes it.
"""

import logging
from dataclasses import asdict, dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.assets.models import Asset
from app.categories.models import Category
from app.config import Config
from app.errors import Unprocessable
from app.reports.models import CLOSED_STATUSES, Report
from app.reports.service import create_report
from app.triage.models import ReportEvent
from app.users.identity import Identity
from app.users.models import Role

log = logging.getLogger(__name__)

# The shipped mapping (Streetlight -> street light out); deployments override FEEDS_FAULTS.
DEFAULT_FAULTS = Config.FEEDS_FAULTS
SENSOR_OK = "sensor_ok"
CLOSED = "(" + ", ".join(f"'{s}'" for s in CLOSED_STATUSES) + ")"

# The feed's entities whose stored state asks for something: a mapped fault not covered by
# an open ticket yet, or a "working" status while the ticket it opened is still open.
# The (feed_id, entity_id) unique index bounds the scan to the feed.
PENDING = text(
    f"""
SELECT e.id, e.entity_id, e.entity_type, e.status, e.observed_at, e.measures,
       e.fault_report_id, m.category_code,
       ST_X(ST_PointOnSurface(e.geom)) AS lon, ST_Y(ST_PointOnSurface(e.geom)) AS lat
FROM feed_entities e
JOIN unnest(CAST(:types AS text[]), CAST(:statuses AS text[]), CAST(:codes AS text[]))
     AS m(entity_type, status, category_code)
  ON m.entity_type = e.entity_type AND m.status = e.status
LEFT JOIN reports r ON r.id = e.fault_report_id
WHERE e.feed_id = :feed_id
  AND CASE WHEN m.category_code IS NOT NULL
           THEN r.id IS NULL OR r.status IN {CLOSED}
           ELSE r.id IS NOT NULL AND r.status NOT IN {CLOSED} END
ORDER BY e.id
"""
)

# The nearest working asset of a kind within the snap distance of the entity (GiST).
NEAREST_ASSET = text(
    """
SELECT a.id, a.reference
FROM assets a, feed_entities e
WHERE e.id = :entity_pk AND a.kind = :kind AND a.status <> 'removed'
  AND ST_DWithin(a.geom_l93, e.geom_l93, :snap)
ORDER BY a.geom_l93 <-> e.geom_l93, a.id
LIMIT 1
"""
)


@dataclass
class FaultOutcome:
    opened: int = 0  # tickets opened
    joined: int = 0  # faults covered by a ticket already open on the asset
    recovered: int = 0  # "working again" events added
    failed: int = 0  # faults no ticket could be opened for (logged)

    def as_dict(self) -> dict:
        return asdict(self)


def sensor_uid(feed_name: str) -> str:
    return f"sensor:{feed_name}"


def process_faults(session: Session, feed_id: int, feed_name: str, faults: dict) -> FaultOutcome:
    """Open, join or update tickets for the feed's stored states; flushes only (the poll
    commits). A fault that cannot become a ticket (outside the area, inactive category) is
    logged and counted, never fails the poll."""
    outcome = FaultOutcome()
    rows = [(t, s, c) for t, statuses in faults.items() for s, c in statuses.items()]
    if not rows:
        return outcome
    pending = session.execute(
        PENDING,
        {
            "feed_id": feed_id,
            "types": [r[0] for r in rows],
            "statuses": [r[1] for r in rows],
            "codes": [r[2] for r in rows],
        },
    ).all()
    for row in pending:
        if row.category_code is None:
            _recovered(session, row, feed_name)
            outcome.recovered += 1
            continue
        try:
            with session.begin_nested():
                opened = _fault(session, row, feed_name)
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


def _fault(session: Session, row, feed_name: str) -> bool:
    """Link the entity to an open ticket on its asset, else open one; True if opened."""
    category = session.scalar(
        select(Category).where(Category.code == row.category_code, Category.active)
    )
    if category is None:
        raise Unprocessable("unknown_category", code=row.category_code)
    asset = _matching_asset(session, category, row)
    if asset is not None:
        open_on_asset = session.scalar(
            select(Report.id)
            .where(
                Report.asset_id == asset[0],
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
            "asset_reference": asset[1] if asset else None,
            "description": f"Défaut signalé par le capteur {row.entity_id[:200]} : {row.status}",
            "answers": {},
        },
        language="fr",
        source="sensor",
    )
    # Routed as a duplicate of a resident's open report nearby: the fault joins that one.
    _link(session, row.id, report.duplicate_of_id or report.id)
    return report.status != "duplicate"


def _matching_asset(session: Session, category: Category, row) -> tuple[int, str] | None:
    """The asset by reference (the entity's refStreetlight, else the last segment of its
    id), else the nearest of the category's kind within its snap distance."""
    if not category.asset_kind:
        return None
    named = [row.measures.get("ref_streetlight"), row.entity_id]
    references = [ref.rsplit(":", 1)[-1] for ref in named if ref]
    references = list(dict.fromkeys([*(r for r in named if r), *references]))
    found = {
        a.reference: (a.id, a.reference)
        for a in session.scalars(
            select(Asset).where(
                Asset.reference.in_(references),
                Asset.kind == category.asset_kind,
                Asset.status != "removed",
            )
        )
    }
    for reference in references:
        if reference in found:
            return found[reference]
    nearest = session.execute(
        NEAREST_ASSET,
        {"entity_pk": row.id, "kind": category.asset_kind, "snap": category.snap_distance_m},
    ).first()
    return None if nearest is None else (nearest.id, nearest.reference)


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
                "status": row.status,
                "observed_at": row.observed_at.isoformat(),
            },
        )
    )
    _link(session, row.id, None)
    session.flush()
