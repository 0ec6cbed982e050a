"""Area alerts: residents watch an area (a point and a radius, or a commune) for new public
reports of some categories, and are told of them in one notification at most once an
interval (an hour) per subscription.

The cron job works each due subscription in its own transaction: it gathers the public
reports created in the area between the subscription's watermark and a cutoff (a little
before now, so that a report whose intake is still committing is not skipped), writes one
notification and its deliveries (the outbox the dispatcher works), and moves the watermark
to the cutoff, all in one commit: a crash loses no alert and doubles none.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from geoalchemy2 import WKTElement
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock, i18n
from app.categories.models import Category
from app.errors import Conflict, NotFound, Unprocessable
from app.geo import service as geo
from app.geo.models import WGS84, Commune
from app.notifications.devices import languages_of
from app.notifications.kinds import AREA_ALERT
from app.notifications.models import AreaSubscription
from app.notifications.outbox import write
from app.notifications.titles import render_title, title_texts
from app.reports import public
from app.reports.models import Report
from app.reports.service import outside_service_area

# How many reports an alert's body names, and its deep link lists (FCM data stays small).
BODY_REPORTS = 10
DATA_REPORTS = 50
# What an alert calls a point the resident did not name (French, English).
UNNAMED_AREA = ("votre secteur", "your area")


@dataclass(frozen=True)
class AlertPolicy:
    interval: timedelta = timedelta(hours=1)
    settle: timedelta = timedelta(seconds=60)
    # The public projection's grid: an area is matched against reports' public positions.
    grid_m: int = 50

    @classmethod
    def from_config(cls, config) -> "AlertPolicy":
        return cls(
            interval=timedelta(seconds=int(config["AREA_ALERTS_INTERVAL_SECONDS"])),
            settle=timedelta(seconds=int(config["AREA_ALERTS_SETTLE_SECONDS"])),
            grid_m=public.grid_of(config),
        )


# --- subscriptions --------------------------------------------------------------------------


def list_subscriptions(session: Session, *, uid: str) -> list[dict]:
    rows = session.execute(_presented().where(AreaSubscription.uid == uid))
    return [_present(row) for row in rows]


def get_subscription(session: Session, *, uid: str, subscription_id: int) -> dict:
    row = session.execute(
        _presented().where(AreaSubscription.uid == uid, AreaSubscription.id == subscription_id)
    ).first()
    if row is None:
        raise NotFound("area_subscription_not_found", id=subscription_id)
    return _present(row)


def create_subscription(session: Session, *, uid: str, data: dict, limit: int) -> dict:
    """Subscribe the resident to an area; the same area again is refused (409, with its
    id), and so is one more than ``limit`` subscriptions."""
    _check_area(session, data)
    _lock(session, uid)
    _refuse_same_area(session, uid, data, but=None)
    count = session.scalar(
        select(func.count()).select_from(AreaSubscription).where(AreaSubscription.uid == uid)
    )
    if count >= limit:
        raise Conflict("area_subscriptions_limit", limit=limit)
    subscription = AreaSubscription(uid=uid)
    _fill(subscription, data)
    session.add(subscription)
    session.flush()
    subscription_id = subscription.id
    session.commit()
    return get_subscription(session, uid=uid, subscription_id=subscription_id)


def update_subscription(session: Session, *, uid: str, subscription_id: int, data: dict) -> dict:
    """Replace the area, categories and label of one of the resident's subscriptions (its
    watermark stays: reports already considered are not told again)."""
    _check_area(session, data)
    _lock(session, uid)
    subscription = _own(session, uid, subscription_id)
    _refuse_same_area(session, uid, data, but=subscription_id)
    _fill(subscription, data)
    session.commit()
    return get_subscription(session, uid=uid, subscription_id=subscription_id)


def delete_subscription(session: Session, *, uid: str, subscription_id: int) -> None:
    """Stop the alerts of one of the resident's subscriptions (past ones stay in the feed)."""
    session.delete(_own(session, uid, subscription_id))
    session.commit()


def _own(session: Session, uid: str, subscription_id: int) -> AreaSubscription:
    subscription = session.scalar(
        select(AreaSubscription).where(
            AreaSubscription.id == subscription_id, AreaSubscription.uid == uid
        )
    )
    if subscription is None:
        raise NotFound("area_subscription_not_found", id=subscription_id)
    return subscription


def _lock(session: Session, uid: str) -> None:
    # One resident's subscriptions change one request at a time: two identical creations
    # sent at once make one subscription and a 409, and the limit holds.
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"area-subscriptions {uid}"))))


def _check_area(session: Session, data: dict) -> None:
    point, commune = data.get("point"), data.get("commune")
    _check_choice(point, commune, data.get("radius_m"))
    if point is not None and not geo.locate(session, point["lon"], point["lat"]).inside:
        raise outside_service_area(session, point["lon"], point["lat"], "point")
    if commune is not None and session.get(Commune, commune) is None:
        raise Unprocessable(
            "commune_not_found",
            insee_code=commune,
            errors={"json": {"commune": ["not a commune of Dijon Métropole (GET /v1/communes)"]}},
        )
    wanted = set(data["categories"])
    known = set(
        session.scalars(select(Category.code).where(Category.code.in_(wanted), Category.active))
    )
    if unknown := sorted(wanted - known):
        raise Unprocessable(
            "unknown_category",
            code=", ".join(unknown),
            errors={"json": {"categories": [f"no active category {code}" for code in unknown]}},
        )


def _check_choice(point: dict | None, commune: str | None, radius_m: int | None) -> None:
    """A point with its radius, or a commune: the request schema cannot say "either"."""
    if (point is None) == (commune is None):
        wrong = {"point": ["give either point (with radius_m) or commune"]}
    elif point is not None and radius_m is None:
        wrong = {"radius_m": ["give the radius around point, 1 to 2000"]}
    elif commune is not None and radius_m is not None:
        wrong = {"radius_m": ["a commune takes no radius: leave radius_m out"]}
    else:
        return
    raise Unprocessable("area_choice", errors={"json": wrong})


def _refuse_same_area(session: Session, uid: str, data: dict, *, but: int | None) -> None:
    query = select(AreaSubscription.id).where(AreaSubscription.uid == uid)
    if but is not None:
        query = query.where(AreaSubscription.id != but)
    if data.get("commune") is not None:
        query = query.where(AreaSubscription.commune_insee == data["commune"])
    else:
        query = query.where(
            func.ST_Equals(AreaSubscription.geom, _point(data["point"])),
            AreaSubscription.radius_m == data["radius_m"],
        )
    existing = session.scalar(query.limit(1))
    if existing is not None:
        raise Conflict("area_subscription_exists", id=existing, extra={"subscription_id": existing})


def _point(point: dict) -> WKTElement:
    return WKTElement(f"POINT({point['lon']!r} {point['lat']!r})", srid=WGS84)


def _fill(subscription: AreaSubscription, data: dict) -> None:
    point = data.get("point")
    subscription.label = data.get("label")
    subscription.geom = _point(point) if point else None
    subscription.radius_m = data.get("radius_m") if point else None
    subscription.commune_insee = data.get("commune")
    subscription.categories = sorted(set(data["categories"]))


def _presented():
    return (
        select(
            AreaSubscription,
            func.ST_X(AreaSubscription.geom).label("lon"),
            func.ST_Y(AreaSubscription.geom).label("lat"),
            Commune.name.label("commune_name"),
        )
        .outerjoin(Commune, Commune.insee_code == AreaSubscription.commune_insee)
        .order_by(AreaSubscription.id)
    )


def _present(row) -> dict:
    subscription = row.AreaSubscription
    return {
        "id": subscription.id,
        "label": subscription.label,
        "point": None if row.lon is None else {"lon": row.lon, "lat": row.lat},
        "radius_m": subscription.radius_m,
        "commune": None
        if subscription.commune_insee is None
        else {"insee_code": subscription.commune_insee, "name": row.commune_name},
        "categories": subscription.categories,
        "last_alert_at": subscription.last_alert_at,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }


# --- the alerts (a cron job) ----------------------------------------------------------------


def send_alerts(session: Session, policy: AlertPolicy, *, now: datetime | None = None) -> int:
    """Tell every due subscription (never told, or told ``policy.interval`` ago) of the new
    public reports in its area, one transaction each; returns how many were told. ``now``
    defaults to the database's clock, which stamps the reports."""
    now = now or clock.now(session)
    due = list(
        session.scalars(
            select(AreaSubscription.id).where(_due(now, policy)).order_by(AreaSubscription.id)
        )
    )
    session.rollback()
    return sum(_alert(session, subscription_id, now, policy) for subscription_id in due)


def _due(now: datetime, policy: AlertPolicy):
    last = AreaSubscription.last_alert_at
    return last.is_(None) | (last <= now - policy.interval)


def _alert(session: Session, subscription_id: int, now: datetime, policy: AlertPolicy) -> int:
    # Locked, and due still: a concurrent run told it meanwhile, or works it now.
    subscription = session.scalar(
        select(AreaSubscription)
        .where(AreaSubscription.id == subscription_id, _due(now, policy))
        .with_for_update(skip_locked=True)
    )
    cutoff = now - policy.settle
    if subscription is None or cutoff <= subscription.watermark:
        session.rollback()
        return 0
    found = session.execute(new_reports(subscription, cutoff, policy.grid_m)).all()
    subscription.watermark = cutoff
    if found:
        _write_alert(session, subscription, found, now)
        subscription.last_alert_at = now
    session.commit()
    return 1 if found else 0


def new_reports(subscription: AreaSubscription, cutoff: datetime, grid_m: int = 50):
    """The public reports a subscription is to be told of, oldest first: created after its
    watermark up to ``cutoff``, in its area and categories, not duplicates of another, not
    the subscriber's own. Public as Open311 and open data have it: positioned, and in the
    area by its public position (snapped to ``grid_m``), so that small areas cannot locate a
    report more finely than every other public channel."""
    query = (
        select(Report.id, Report.reference, Category.name_fr, Category.name_en)
        .join(Category, Category.id == Report.category_id)
        .where(
            Report.created_at > subscription.watermark,
            Report.created_at <= cutoff,
            Report.geom_l93.is_not(None),
            Report.duplicate_of_id.is_(None),
            Report.status != "duplicate",
            Report.reporter_uid != subscription.uid,
        )
        .order_by(Report.created_at, Report.id)
    )
    if subscription.commune_insee is not None:
        query = query.where(Report.commune_insee == subscription.commune_insee)
    else:
        # Metres, in Lambert-93: the reports' GiST index finds the candidates first.
        centre = (
            select(AreaSubscription.geom_l93)
            .where(AreaSubscription.id == subscription.id)
            .scalar_subquery()
        )
        query = query.where(public.within(grid_m, centre, subscription.radius_m))
    if subscription.categories:
        query = query.where(Category.code.in_(subscription.categories))
    return query


def _write_alert(session: Session, subscription: AreaSubscription, found: list, now) -> None:
    uid = subscription.uid
    language = languages_of(session, [uid]).get(uid, i18n.DEFAULT)
    english = language == "en"
    area = subscription.label or (
        session.get(Commune, subscription.commune_insee).name
        if subscription.commune_insee
        else UNNAMED_AREA[1 if english else 0]
    )
    titles = title_texts(session, AREA_ALERT)
    title = render_title(AREA_ALERT, titles[language], {"area": area, "count": str(len(found))})
    alert = {
        "uid": uid,
        "language": language,
        "title": title,
        "body": _body(found, english),
        "data": {
            "subscription_id": str(subscription.id),
            "count": str(len(found)),
            "report_ids": ",".join(str(row.id) for row in found[:DATA_REPORTS]),
            "references": ",".join(row.reference for row in found[:DATA_REPORTS]),
        },
    }
    write(session, AREA_ALERT, subscription.id, [alert], now)


def _body(found: list, english: bool) -> str:
    """The reports by reference and category, the first few, then how many more."""
    named = ", ".join(
        f"{row.reference} ({row.name_en if english else row.name_fr})"
        for row in found[:BODY_REPORTS]
    )
    more = len(found) - BODY_REPORTS
    if more <= 0:
        return named
    return f"{named} and {more} more" if english else f"{named} et {more} autres"
