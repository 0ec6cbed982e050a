"""A demo history for `make run` (``python -m tools.demo history generate --if-empty``): a
few thousand residents' reports over the last 90 days, in every state, worked by the demo
staff (tools/generators/staff.py), so that a newcomer opening the console sees a control
centre at work.

Written in bulk, in one transaction, as the service would have written it over those days:

- each report is routed by the real intake (``app.routing.intake.route``, at its creation
  time): commune, desk, proposed crew, equipment, priority and the explanation agents read;
  its reference is the database's ``format_report_reference`` of its creation time;
- its life is a path through ``app.triage.transitions`` (every step checked against the
  table: role and from-state), each step one ``report_events`` row as the pipeline writes it
  (desk and crew before the action, details, reason codes), what residents are told decided
  by ``app.triage.templates.publish`` (the real templates), and one notification per
  resident told (reporter and followers at that time, never the actor), titled by
  ``app.notifications.titles``; demo residents have no devices, so no push deliveries;
- supporters ("me too") follow the report from their support on; a few reports are routed
  later near an open one and become its duplicates through the real duplicate detection;
- photos are drawn with Pillow (tools/generators/pictures.py) and run through the real
  image pipeline (``app.photos.service.develop``: metadata stripped, display size and
  thumbnail stored by content hash), a few pictures shared by many reports;
- sensor-opened street-light tickets (source ``sensor``, reporter ``sensor:<feed>``, the
  fault text of ``app.feeds.faults``) on equipment of the demo register.

Driving ``app.triage.pipeline.perform`` per action would stamp every event with the
database's ``now()`` (one transaction and commit per action, ~15,000 of them): a history
needs its past times, so rows are written directly, in the shapes the tests of the triage
and notification services check. Times are relative to ``now`` (the database's clock
unless given).
"""

import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app import clock, i18n
from app.assets.models import Asset
from app.auth.identity import is_internal_uid
from app.categories.models import Category
from app.feeds import faults
from app.notifications.kinds import KINDS, UPDATE
from app.notifications.models import Notification
from app.notifications.titles import render_title, title_texts
from app.organisation.models import Crew, Desk
from app.photos import service as photo_service
from app.photos.models import READY, Photo
from app.reports.models import OPEN_STATUSES, Report, ReportFollower, ReportSupporter
from app.routing import intake
from app.triage import templates, transitions
from app.triage.models import ReportEvent
from app.users.models import Role
from tools.generators import pictures, staff, texts
from tools.generators.reports import shares, valid_answers

DAYS = 90
SIZE = 3000
# Residents who report (some several times) and support; their uids say they are invented.
RESIDENTS = 900
RESIDENT_PREFIX = "demo-resident-"
ANONYMOUS_PREFIX = "demo-anonymous-"
SENSOR_FEED = "demo-street-lights"  # the simulator's street-light feed (tools/simulator.py)
PARIS = ZoneInfo("Europe/Paris")
STATES = ("new", "acknowledged", "assigned", "in_progress", "resolved", "closed", "rejected")
# What residents report, by weight (categories missing from the catalogue are skipped; snow
# and ice only from November to March).
WEIGHTS = {
    "pothole": 18, "damaged_pavement": 7, "road_marking": 3, "blocked_drain": 5,
    "street_furniture": 3, "streetlight_out": 14, "streetlight_day": 3,
    "streetlight_damaged": 2, "traffic_light_fault": 5, "sign_damaged": 4,
    "illegal_dumping": 10, "graffiti": 6, "overflowing_bin": 6, "dead_animal": 2,
    "fallen_tree": 2, "overgrown_vegetation": 3, "snow_ice": 3, "dangerous_object": 2,
    "abandoned_vehicle": 3, "other": 3, "gas_smell": 0,
}  # fmt: skip
WINTER = (11, 12, 1, 2, 3)
# The state a report has reached, by its age in days: (age below, {state: weight}).
TARGETS = (
    (1, {"new": 40, "acknowledged": 22, "assigned": 14, "in_progress": 8, "resolved": 8,
         "rejected": 4, "closed": 0, "reopened": 0}),
    (7, {"new": 8, "acknowledged": 14, "assigned": 14, "in_progress": 12, "resolved": 20,
         "closed": 18, "rejected": 6, "reopened": 4}),
    (30, {"new": 1, "acknowledged": 2.5, "assigned": 3, "in_progress": 2.5, "resolved": 6,
          "closed": 70, "rejected": 8, "reopened": 2}),
    (math.inf, {"new": 0.1, "acknowledged": 0.5, "assigned": 0.5, "in_progress": 0.5,
                "resolved": 1, "closed": 88, "rejected": 8, "reopened": 0.5}),
)  # fmt: skip
# Staff work by day (Paris time): an action drawn at night waits for the morning.
WORKDAY = (7, 20)
RESOLUTIONS = {
    "roads": (("repaired", 60), ("made_safe", 25)),
    "lighting": (("replaced", 50), ("repaired", 40)),
    "traffic_signals": (("repaired", 70), ("replaced", 20)),
    "cleanliness": (("cleaned", 90),),
    "green_spaces": (("cleaned", 60), ("made_safe", 30)),
    "snow_ice": (("made_safe", 90),),
    "safety": (("made_safe", 70), ("other", 10)),
}
ACK_HOURS = {1: 0.3, 2: 1.0, 3: 4.0, 4: 12.0}


class Empty(Exception):
    """Nothing to generate from: no active category, desk or commune."""


@dataclass
class Plan:
    """One report to write: what the resident sent, where routing put it, and its life."""

    created_at: datetime
    category: Category
    lon: float
    lat: float
    reporter_uid: str
    reporter_anonymous: bool = False
    language: str = "fr"
    source: str = "app"
    description: str | None = None
    answers: dict = field(default_factory=dict)
    asset_reference: str | None = None
    target: str = "new"
    routed: intake.Routed | None = None
    id: int | None = None
    reference: str | None = None
    status: str = "new"
    crew_id: int | None = None
    priority: int = 3
    duplicate_of_id: int | None = None
    events: list = field(default_factory=list)
    # (uid, anonymous, at)
    supporters: list = field(default_factory=list)
    # (kind, motif key, uploader uid, at)
    photos: list = field(default_factory=list)


@dataclass
class World:
    """What the generator draws from: the organisation, the demo staff, the pictures."""

    rng: random.Random
    now: datetime
    desks: dict  # id -> Desk
    crews_of_desk: dict  # desk id -> [Crew]
    crews: dict  # id -> Crew
    agents: dict  # desk code -> agent uid
    # (motif, kind) -> [(display key, thumbnail key, width, height)]
    picture_keys: dict = field(default_factory=dict)
    titles: dict = field(default_factory=dict)
    templates: dict = field(default_factory=dict)
    # Reports whose supporters grew after they were written (their duplicates' reporters).
    supported_later: set = field(default_factory=set)


def is_empty(session: Session) -> bool:
    """No demo history yet (its residents' reports are what marks it)."""
    return (
        session.scalar(
            select(Report.id).where(Report.reporter_uid.like(RESIDENT_PREFIX + "%")).limit(1)
        )
        is None
    )


def generate(
    session: Session, *, size: int = SIZE, days: int = DAYS, now: datetime | None = None, seed=1
) -> dict:
    """Write the demo history (``size`` residents' reports over the last ``days`` days before
    ``now``) in one transaction and commit it, the demo staff first if they are missing;
    returns counts of what was written."""
    now = now or clock.now(session)
    rng = random.Random(seed)
    if not staff.exist(session):  # the history's actors are the demo staff
        staff.seed_staff(session)
    world = _world(session, rng, now)
    plans = _plans(session, world, size, days)
    if not plans:
        raise Empty("no active category, commune or desk to generate reports from")
    world.picture_keys = _develop_pictures(seed)
    plans += _sensor_plans(session, world, max(3, size // 150))
    for plan in plans:
        plan.routed = intake.route(
            session,
            plan.category.code,
            plan.lon,
            plan.lat,
            asset_reference=plan.asset_reference,
            at=plan.created_at,
        )
    plans.sort(key=lambda p: p.created_at)
    _references(session, plans)
    _force_every_state(world, plans)
    for plan in plans:
        _live(session, world, plan)
        _support(world, plan)
        _illustrate(world, plan)
    _insert_reports(session, plans)
    duplicates = _duplicates(session, world, plans, max(2, size * 3 // 100))
    _insert_reports(session, duplicates)
    plans += duplicates
    counts = _insert_rest(session, world, plans)
    session.commit()
    by_status = defaultdict(int)
    for plan in plans:
        by_status[plan.status] += 1
    return {"reports": len(plans), **counts, "by_status": dict(sorted(by_status.items()))}


# --- what there is to draw from ---------------------------------------------------------------


def _world(session: Session, rng: random.Random, now: datetime) -> World:
    desks = {d.id: d for d in session.scalars(select(Desk))}
    crews = {c.id: c for c in session.scalars(select(Crew).where(Crew.active).order_by(Crew.id))}
    crews_of_desk = defaultdict(list)
    for crew in crews.values():
        crews_of_desk[crew.desk_id].append(crew)
    agents = {}
    for account in staff.accounts(session):
        if account.role == Role.AGENT:
            for desk in account.desks:
                agents.setdefault(desk, account.uid)
    return World(rng, now, desks, crews_of_desk, crews, agents)


def _develop_pictures(seed: int) -> dict:
    """The demo pictures through the real image pipeline, stored as the worker stores them
    (by content hash: a picture used by many reports is one pair of files)."""
    developed = {}
    for key, variants in pictures.pictures(seed).items():
        developed[key] = []
        for data in variants:
            photo = Photo(upload_key=photo_service.store_upload(data), attempts=0)
            photo_service.develop(photo)
            photo_service.storage().delete(photo.upload_key)
            developed[key].append(
                (photo.display_key, photo.thumbnail_key, photo.width, photo.height)
            )
    return developed


def _points(session: Session, rng: random.Random, size: int) -> list[tuple[float, float]]:
    """``size`` points inside the communes: 60% in Dijon, the rest by area."""
    weights = shares(session)
    counts = {code: int(size * share) for code, share in weights.items()}
    if not counts:
        return []
    biggest = max(counts, key=lambda code: weights[code])
    counts[biggest] += size - sum(counts.values())
    points = []
    for code, n in counts.items():
        if n:
            points += session.execute(
                text(
                    "SELECT ST_X(g), ST_Y(g) FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, :n, "
                    ":seed))).geom AS g FROM communes WHERE insee_code = :code) AS p"
                ),
                {"n": n, "seed": rng.randint(1, 1_000_000), "code": code},
            ).all()
    rng.shuffle(points)
    return [(float(x), float(y)) for x, y in points]


def _when(rng: random.Random, now: datetime, days: int) -> datetime:
    """A creation time: more reports lately, few at night (Paris time)."""
    at = now - timedelta(days=days * rng.random() ** 1.15)
    local = at.astimezone(PARIS)
    if local.hour < 7 and at + timedelta(hours=9) < now:
        at += timedelta(hours=rng.uniform(7, 9))
    return at


def _plans(session: Session, world: World, size: int, days: int) -> list[Plan]:
    rng, now = world.rng, world.now
    categories = list(
        session.scalars(select(Category).where(Category.active).order_by(Category.code))
    )
    if not categories or not world.desks:
        return []
    plans = []
    for lon, lat in _points(session, rng, size):
        created_at = _when(rng, now, days)
        season = [
            (
                c,
                0
                if c.code == "snow_ice" and created_at.month not in WINTER
                else WEIGHTS.get(c.code, 1),
            )
            for c in categories
        ]
        choices = [c for c, w in season if w > 0] or categories
        weights = [w for _, w in season if w > 0] or None
        category = rng.choices(choices, weights)[0]
        language = "en" if rng.random() < 0.07 else "fr"
        french, english = texts.DESCRIPTIONS.get(category.code, texts.GENERIC)
        written = rng.choice(english if language == "en" else french)
        anonymous = rng.random() < 0.35
        plans.append(
            Plan(
                created_at=created_at,
                category=category,
                lon=lon,
                lat=lat,
                reporter_uid=(
                    f"{ANONYMOUS_PREFIX}{rng.getrandbits(40):010x}"
                    if anonymous
                    else f"{RESIDENT_PREFIX}{rng.randint(1, RESIDENTS):04d}"
                ),
                reporter_anonymous=anonymous,
                language=language,
                description=None
                if rng.random() < 0.1
                else written.format(street=rng.choice(texts.STREETS)),
                answers=_answers(rng, category),
            )
        )
    return plans


def _answers(rng: random.Random, category: Category) -> dict:
    """Answers that pass the category's questions, varied: any choice, either boolean."""
    answers = valid_answers(category)
    for question in category.questions or []:
        code, kind = question["code"], question["type"]
        if kind == "single_choice":
            answers[code] = rng.choice(question["choices"])["key"]
        elif kind == "multiple_choice":
            keys = [c["key"] for c in question["choices"]]
            answers[code] = rng.sample(keys, rng.randint(1, min(2, len(keys))))
        elif kind == "boolean":
            answers[code] = rng.random() < 0.4
        elif kind == "number" and code in answers:
            low = math.ceil(question.get("min") or 1)
            high = math.floor(min(question.get("max") or 5, 5))
            answers[code] = rng.randint(low, max(low, high))
    return answers


def _sensor_plans(session: Session, world: World, count: int) -> list[Plan]:
    """Street lights the simulator's feed declared faulty, opened as the feed's poll opens
    them (``app.feeds.faults``): mostly in the last days, so the map shows open faults."""
    category = session.scalar(
        select(Category).where(Category.code == "streetlight_out", Category.active)
    )
    if category is None:
        return []
    rows = session.execute(
        select(Asset.reference, Asset.geom.ST_X(), Asset.geom.ST_Y())
        .where(Asset.kind == "street_light", Asset.status != "removed")
        .order_by(Asset.id)
    ).all()
    if not rows:
        return []
    plans = []
    for row in world.rng.sample(rows, min(count, len(rows))):
        reference, lon, lat = row
        recent = world.rng.random() < 0.8
        hours = world.rng.uniform(0.2, 72) if recent else world.rng.uniform(72, 24 * 40)
        observed_at = world.now - timedelta(hours=hours)
        entity = SimpleNamespace(
            entity_type="Streetlight",
            attribute="status",
            value=world.rng.choice(("defectiveLamp", "defectiveLamp", "brokenLantern")),
            observed_at=observed_at,
            name=None,
            entity_id=f"urn:ngsi-ld:Streetlight:dijon:{reference}",
        )
        # Not checked against the register here: routing does (it raises if unknown).
        asset = faults.Equipment(0, reference, named_by="streetPoleNum")
        plans.append(
            Plan(
                created_at=observed_at + timedelta(seconds=world.rng.uniform(5, 60)),
                category=category,
                lon=float(lon),
                lat=float(lat),
                reporter_uid=faults.sensor_uid(SENSOR_FEED),
                source="sensor",
                description=faults.fault_description(entity, SENSOR_FEED, category, asset),
                asset_reference=reference,
            )
        )
    return plans


def _references(session: Session, plans: list[Plan]) -> None:
    """References as the database gives them (DIJ-<year of creation>-<number>), in order of
    creation."""
    references = session.scalars(
        text(
            "SELECT format_report_reference(at, nextval('report_reference_seq')) "
            "FROM unnest(CAST(:ats AS timestamptz[])) WITH ORDINALITY AS t(at, n) ORDER BY n"
        ),
        {"ats": [p.created_at for p in plans]},
    ).all()
    for plan, reference in zip(plans, references, strict=True):
        plan.reference = reference


# --- a report's life --------------------------------------------------------------------------


def _target(world: World, plan: Plan) -> str:
    age = (world.now - plan.created_at).total_seconds() / 86400
    weights = next(w for limit, w in TARGETS if age < limit)
    if plan.source == "sensor":  # mostly still open: the map shows the faults
        weights = {**weights, "new": weights["new"] + 30, "acknowledged": 20, "assigned": 15}
    return world.rng.choices(list(weights), list(weights.values()))[0]


def _force_every_state(world: World, plans: list[Plan]) -> None:
    """Every state at least once (small histories too): recent reports of desks with crews
    reach each state in turn (a few days old for the states work ends in); the others draw
    theirs by age."""
    for plan in plans:
        plan.target = _target(world, plan)
    crewed = [
        p
        for p in reversed(plans)
        if p.routed.original is None
        and p.routed.desk is not None
        and _crews_for(world, p)
        and p.source == "app"
    ]
    for state in (*STATES, "reopened"):
        settled = state in ("resolved", "closed", "rejected", "reopened")
        old_enough = [p for p in crewed if world.now - p.created_at > timedelta(days=3)]
        chosen = next(iter(old_enough if settled and old_enough else crewed), None)
        if chosen is not None:
            chosen.target = state
            crewed.remove(chosen)


def _crews_for(world: World, plan: Plan) -> list[Crew]:
    """The crews of the report's desk that have its category among their skills, else any
    of the desk's."""
    desk_id = plan.routed.desk.id if plan.routed.desk else None
    crews = world.crews_of_desk.get(desk_id, [])
    skilled = [c for c in crews if not c.skills or plan.category.code in c.skills]
    return skilled or crews


class _Life:
    """A report's path through the transition table: each step is checked against it (the
    actor's role may do the action from the current state) and recorded as the pipeline
    records it."""

    def __init__(self, session: Session, world: World, plan: Plan):
        self.session, self.world, self.plan = session, world, plan
        self.status = "new"
        self.crew_id = plan.routed.crew_id
        self.priority = plan.routed.priority
        self.desk = plan.routed.desk
        self.report = SimpleNamespace(
            category_id=plan.category.id,
            category=plan.category,
            desk=world.desks.get(self.desk.id) if self.desk else None,
            reference=plan.reference,
            duplicate_of=None,
        )

    def act(self, action, at, actor, role, *, reason=None, details=None, note=None, message=None):
        entry = transitions.ENTRIES[action]
        rows = [r for r in entry.rows if role in r[2] and self.status in r[0]]
        assert rows, f"{action} by {role} from {self.status} is not in the transition table"
        to_status = rows[0][1] or self.status
        event = SimpleNamespace(
            report_id=None,
            created_at=at,
            client_at=None,
            actor_uid=actor,
            actor_role=role.value,
            desk_id=self.desk.id if self.desk else None,
            crew_id=self.crew_id,
            action=action,
            from_status=self.status,
            to_status=to_status,
            reason_code=reason,
            internal_note=note,
            details=dict(details or {}),
            public=False,
            message_fr=None,
            message_en=None,
        )
        _publish(self.session, self.world, self.report, event, message)
        self.plan.events.append(event)
        self.status = to_status

    def crew_code(self, crew_id):
        return self.world.crews[crew_id].code if crew_id in self.world.crews else None


def _publish(session: Session, world: World, report, event, message: dict | None) -> None:
    """The pipeline's ``app.triage.templates.publish``, each template read once."""

    def template_of(category_id: int, status: str) -> tuple[str, str]:
        key = (category_id, status)
        if key not in world.templates:
            world.templates[key] = templates.template_for(session, *key)
        return world.templates[key]

    templates.publish(session, report, event, {"message": message}, template_of)


def _live(session: Session, world: World, plan: Plan) -> None:
    """Walk the report to its target state, with times drawn and then fitted between its
    creation and now."""
    if plan.routed.original is not None:  # routed as a duplicate: no life of its own
        plan.status, plan.duplicate_of_id = "duplicate", plan.routed.original[0]
        plan.crew_id, plan.priority = plan.routed.crew_id, plan.routed.priority
        return
    rng = world.rng
    life = _Life(session, world, plan)
    steps = _steps(world, plan)
    span = (world.now - plan.created_at).total_seconds() * 0.95
    total = sum(delay for delay, *_ in steps) * 3600
    scale = min(1.0, span / total) if total else 1.0
    at = plan.created_at
    for delay, action, actor, role, kwargs in steps:
        at += timedelta(seconds=max(1.0, delay * 3600 * scale))
        if role != Role.RESIDENT:
            at = _by_day(rng, at, world.now)
        at = min(at, world.now - timedelta(seconds=1))
        if action == "assign":
            kwargs["details"] = {"crew": [life.crew_code(life.crew_id), kwargs.pop("crew").code]}
        if action == "hand_back":
            kwargs["details"] = {"crew": [life.crew_code(life.crew_id), None]}
        if action == "set_priority":
            new = max(1, life.priority - 1) if rng.random() < 0.7 else min(4, life.priority + 1)
            kwargs["details"] = {"priority": [life.priority, new]}
        life.act(action, at, actor, role, **kwargs)
        # What the handler changes besides the state.
        if action == "assign":
            life.crew_id = next(
                c.id for c in world.crews.values() if c.code == kwargs["details"]["crew"][1]
            )
        elif action == "hand_back":
            life.crew_id = None
        elif action == "set_priority":
            life.priority = kwargs["details"]["priority"][1]
    plan.status, plan.crew_id, plan.priority = life.status, life.crew_id, life.priority


def _by_day(rng: random.Random, at: datetime, now: datetime) -> datetime:
    """``at``, or the next morning when it falls at night, unless that is still to come."""
    local = at.astimezone(PARIS)
    if WORKDAY[0] <= local.hour < WORKDAY[1]:
        return at
    morning = local.replace(hour=WORKDAY[0], minute=30, second=0, microsecond=0)
    if local.hour >= WORKDAY[1]:
        morning += timedelta(days=1)
    morning += timedelta(minutes=rng.uniform(0, 90))
    return morning if morning < now else at


def _steps(world: World, plan: Plan) -> list[tuple]:
    """The actions that lead to the plan's target: (hours after the previous one, action,
    actor uid, role, keyword arguments)."""
    rng, target = world.rng, plan.target
    crews = _crews_for(world, plan)
    desk = plan.routed.desk.code if plan.routed.desk else None
    if desk is None:
        return []
    if not crews and target in ("assigned", "in_progress", "resolved", "closed", "reopened"):
        target = "rejected" if rng.random() < 0.4 else "acknowledged"
    agent = world.agents.get(desk, staff.SUPERVISOR)
    steps: list[tuple] = []

    def desk_actor():
        return (staff.SUPERVISOR, Role.SUPERVISOR) if rng.random() < 0.12 else (agent, Role.AGENT)

    def by_desk(hours, action, **kwargs):
        steps.append((hours, action, *desk_actor(), kwargs))

    def by_crew(hours, action, crew, **kwargs):
        steps.append((hours, action, staff.crew_member_uid(crew.code), Role.CREW, kwargs))

    def hours(mean):
        return rng.expovariate(1 / mean)

    ack = ACK_HOURS.get(plan.routed.priority, 4.0) * rng.lognormvariate(0, 0.8)
    if target == "new":
        return steps

    def take_up(allow_direct=True):
        """Acknowledged, or (one in six) sent straight to a crew."""
        if allow_direct and target != "acknowledged" and rng.random() < 0.17:
            return False
        by_desk(ack, "acknowledge")
        if rng.random() < 0.08:
            by_desk(hours(1), "set_priority")
        if rng.random() < 0.1:
            by_desk(hours(2), "note", note=rng.choice(texts.AGENT_NOTES))
        return True

    def work(resolve: bool):
        """Assigned (after a hand-back sometimes), started, resolved."""
        crew = next((c for c in crews if c.id == plan.routed.crew_id), None) or rng.choice(crews)
        by_desk(hours(3), "assign", crew=crew)
        if rng.random() < 0.05 and len(crews) > 1:
            reason, note = rng.choice(texts.HAND_BACKS)
            by_crew(hours(12), "hand_back", crew, reason=reason, note=note)
            crew = rng.choice([c for c in crews if c is not crew])
            by_desk(hours(4), "assign", crew=crew)
        if rng.random() < 0.12:
            message = rng.choice(texts.PUBLIC_UPDATES)
            by_desk(hours(8), "public_update", message={"fr": message[0], "en": message[1]})
        if target == "assigned":
            return crew
        if not resolve or rng.random() < 0.85:
            by_crew(hours(20), "start", crew)
            if rng.random() < 0.3:
                by_crew(hours(2), "note", crew, note=rng.choice(texts.CREW_NOTES))
        if resolve:
            codes = RESOLUTIONS.get(plan.category.group, (("repaired", 50), ("other", 10)))
            codes = (*codes, ("already_fixed", 5))
            resolution = rng.choices([c for c, _ in codes], [w for _, w in codes])[0]
            by_crew(hours(3), "resolve", crew, reason=resolution)
        return crew

    if target == "rejected":
        if rng.random() < 0.5:
            take_up(allow_direct=False)
        reason = rng.choices(
            ("not_our_problem", "not_our_responsibility", "not_found_on_site"), (3, 5, 2)
        )[0]
        by_desk(ack + hours(2), "reject", reason=reason)
        return steps
    take_up(allow_direct=target != "acknowledged")
    if target == "acknowledged":
        if crews and rng.random() < 0.1:  # given to a crew, which handed it back
            crew = rng.choice(crews)
            by_desk(hours(3), "assign", crew=crew)
            reason, note = rng.choice(texts.HAND_BACKS)
            by_crew(hours(12), "hand_back", crew, reason=reason, note=note)
        elif rng.random() < 0.15:
            message = rng.choice(texts.PUBLIC_UPDATES)
            by_desk(hours(8), "public_update", message={"fr": message[0], "en": message[1]})
        return steps
    work(resolve=target not in ("assigned", "in_progress"))
    if target in ("assigned", "in_progress", "resolved"):
        return steps
    resident = not is_internal_uid(plan.reporter_uid)
    if target == "reopened" or (target == "closed" and rng.random() < 0.04):
        if rng.random() < 0.4:
            by_desk(hours(48), "close")
        gap = rng.uniform(20, 400)  # within the 30 days residents may reopen in
        if resident:
            steps.append(
                (gap, "reopen", plan.reporter_uid, Role.RESIDENT,
                 {"details": {"reason": rng.choice(texts.REOPEN_REASONS)}})
            )  # fmt: skip
        else:
            by_desk(gap, "reopen", details={"reason": texts.DESK_REOPEN_REASON})
        if target == "reopened":
            return steps
        take_up(allow_direct=False)
        work(resolve=True)
    by_desk(hours(48), "close")
    return steps


def _support(world: World, plan: Plan) -> None:
    """Some residents say "me too" while the report is open; they follow it from then on."""
    rng = world.rng
    if plan.status == "duplicate" or rng.random() > 0.22:
        return
    until = next(
        (e.created_at for e in plan.events if e.to_status in ("resolved", "rejected")), world.now
    )
    if until <= plan.created_at:
        return
    for _ in range(rng.choices((1, 2, 3, 5, 8), (40, 25, 15, 12, 8))[0]):
        anonymous = rng.random() < 0.4
        uid = (
            f"{ANONYMOUS_PREFIX}{rng.getrandbits(40):010x}"
            if anonymous
            else f"{RESIDENT_PREFIX}{rng.randint(1, RESIDENTS):04d}"
        )
        if uid != plan.reporter_uid and uid not in {s[0] for s in plan.supporters}:
            at = plan.created_at + (until - plan.created_at) * rng.random()
            plan.supporters.append((uid, anonymous, at))


def _illustrate(world: World, plan: Plan) -> None:
    """A photo from a third of the residents whose problem can be pictured; the crew's photo
    of the work done on some resolutions."""
    rng = world.rng
    draw = pictures.MOTIFS.get(plan.category.code)
    if draw is None or plan.source != "app":
        return
    if rng.random() < 0.35:
        at = plan.created_at + timedelta(seconds=rng.uniform(5, 40))
        plan.photos.append(("report", (draw.__name__, "report"), plan.reporter_uid, at))
    if (draw.__name__, "after") in world.picture_keys:
        for event in plan.events:
            if event.action == "resolve" and rng.random() < 0.4:
                at = event.created_at - timedelta(seconds=rng.uniform(30, 300))
                plan.photos.append(("after", (draw.__name__, "after"), event.actor_uid, at))


# --- duplicates -------------------------------------------------------------------------------


def _duplicates(session: Session, world: World, plans: list[Plan], count: int) -> list[Plan]:
    """Reports made near an open one of the same category, within its duplicate window: the
    real intake finds the original (the reporters then support it)."""
    rng = world.rng
    candidates = [
        p
        for p in plans
        if p.status in OPEN_STATUSES
        and p.source == "app"
        and p.category.duplicate_radius_m
        and world.now - p.created_at < timedelta(days=p.category.duplicate_window_days)
    ]
    by_id = {p.id: p for p in plans}
    duplicates = []
    for original in rng.sample(candidates, min(count, len(candidates))):
        at = original.created_at + (world.now - original.created_at) * rng.uniform(0.2, 0.95)
        # A few metres away (about a third of the duplicate radius), in any direction.
        metres = original.category.duplicate_radius_m * rng.uniform(0.05, 0.3)
        angle = rng.uniform(0, 2 * math.pi)
        lat = original.lat + metres * math.sin(angle) / 111_200
        lon = original.lon + metres * math.cos(angle) / (111_200 * math.cos(math.radians(lat)))
        plan = Plan(
            created_at=at,
            category=original.category,
            lon=lon,
            lat=lat,
            reporter_uid=f"{RESIDENT_PREFIX}{rng.randint(1, RESIDENTS):04d}",
            description=rng.choice(
                texts.DESCRIPTIONS.get(original.category.code, texts.GENERIC)[0]
            ).format(street=rng.choice(texts.STREETS)),
            answers=_answers(rng, original.category),
        )
        plan.routed = intake.route(session, plan.category.code, lon, lat, at=at)
        # Intake may find another open report nearer than the one aimed at: that one, then.
        target = by_id.get(plan.routed.original[0]) if plan.routed.original else None
        if target is None or plan.reporter_uid == target.reporter_uid:
            continue
        (plan.reference,) = session.scalars(
            text("SELECT format_report_reference(:at, nextval('report_reference_seq'))"),
            {"at": at},
        ).all()
        plan.status, plan.duplicate_of_id = "duplicate", target.id
        plan.priority = plan.routed.priority
        # The reporter's voice goes to the original, as intake's add_support does.
        if plan.reporter_uid not in {s[0] for s in target.supporters}:
            target.supporters.append((plan.reporter_uid, False, at))
            world.supported_later.add(target.id)
        duplicates.append(plan)
    return duplicates


# --- writing ----------------------------------------------------------------------------------

_REPORTS = Report.__table__


def _bulk_insert(session: Session, table, rows: list[dict], *, returning: bool = False):
    """INSERT ... SELECT FROM unnest(one array per column): one short statement for
    thousands of rows (a VALUES list that long costs more to build than to run). With
    ``returning``, the new ids in the rows' order (a sequence numbers them as inserted,
    and they are inserted in the arrays' order)."""
    if not rows:
        return []
    names = list(rows[0])
    arrays, casts, selected = {}, [], []
    for i, name in enumerate(names):
        column = table.c[name]
        kind = column.type.compile(dialect=session.get_bind().dialect)
        values = [row[name] for row in rows]
        selected.append(name)
        if isinstance(column.type, JSONB):
            values = [None if v is None else json.dumps(v) for v in values]
        elif kind.startswith("geometry"):
            # Passed as EWKT text: geometry arrays' literals use another delimiter.
            kind, selected[-1] = "text", f"ST_GeomFromEWKT({name})"
        arrays[f"c{i}"] = values
        casts.append(f"CAST(:c{i} AS {kind}[])")
    statement = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(casts)}) "
        f"WITH ORDINALITY AS t({', '.join(names)}, n) ORDER BY n"
    )
    if not returning:
        session.execute(text(statement), arrays)
        return []
    return sorted(session.scalars(text(statement + " RETURNING id"), arrays).all())


def _insert_reports(session: Session, plans: list[Plan]) -> None:
    if not plans:
        return
    rows = []
    for plan in plans:
        routed = plan.routed
        last = max(
            [plan.created_at]
            + [e.created_at for e in plan.events]
            + [s[2] for s in plan.supporters]
        )
        rows.append(
            {
                **routed.values(),
                "reference": plan.reference,
                "status": plan.status,
                "geom": f"SRID=4326;POINT({plan.lon} {plan.lat})",
                "description": plan.description,
                "answers": plan.answers,
                "reporter_uid": plan.reporter_uid,
                "reporter_anonymous": plan.reporter_anonymous,
                "language": plan.language,
                "source": plan.source,
                "crew_id": plan.crew_id,
                "priority": plan.priority,
                "due_at": plan.created_at + timedelta(hours=plan.category.service_level_hours),
                "duplicate_of_id": plan.duplicate_of_id,
                "support_count": len(plan.supporters),
                "anonymous_support_count": sum(1 for s in plan.supporters if s[1]),
                "version": 1 + len(plan.events),
                "created_at": plan.created_at,
                "updated_at": last,
            }
        )
    ids = _bulk_insert(session, _REPORTS, rows, returning=True)
    for plan, report_id in zip(plans, ids, strict=True):
        plan.id = report_id


def _insert_rest(session: Session, world: World, plans: list[Plan]) -> dict:
    """Supporters and followers, events (in time order: a report's history reads by id),
    notifications and photos."""
    # Supports counted after the reports were written (duplicates add to their originals).
    for plan in plans:
        if plan.id in world.supported_later:
            session.execute(
                update(_REPORTS)
                .where(_REPORTS.c.id == plan.id)
                .values(
                    support_count=len(plan.supporters),
                    anonymous_support_count=sum(1 for s in plan.supporters if s[1]),
                    updated_at=max(plan.created_at, *(s[2] for s in plan.supporters),
                                   *(e.created_at for e in plan.events)),
                )
            )  # fmt: skip
    supporters = [
        {"report_id": p.id, "uid": uid, "anonymous": anonymous, "created_at": at}
        for p in plans
        for uid, anonymous, at in p.supporters
    ]
    followers = [
        {"report_id": r["report_id"], "uid": r["uid"], "reason": "supporter",
         "created_at": r["created_at"]}
        for r in supporters
    ]  # fmt: skip
    if supporters:
        _bulk_insert(session, ReportSupporter.__table__, supporters)
        _bulk_insert(session, ReportFollower.__table__, followers)
    events = sorted(
        ((plan, event) for plan in plans for event in plan.events),
        key=lambda pe: (pe[1].created_at, pe[0].id),
    )
    columns = [c.name for c in ReportEvent.__table__.columns if c.name != "id"]
    rows = [
        {**{c: getattr(event, c) for c in columns}, "report_id": plan.id} for plan, event in events
    ]
    ids = _bulk_insert(session, ReportEvent.__table__, rows, returning=True)
    notifications = []
    for (plan, event), event_id in zip(events, ids, strict=True):
        notifications += _notifications(session, world, plan, event, event_id)
    notifications.sort(key=lambda n: n["created_at"])
    if notifications:
        _bulk_insert(session, Notification.__table__, notifications)
    photos = [
        {
            "report_id": plan.id,
            "status": READY,
            "kind": kind,
            "display_key": display,
            "thumbnail_key": thumbnail,
            "width": width,
            "height": height,
            "uploaded_by": uploader,
            "attempts": 1,
            "created_at": at,
            "processed_at": at + timedelta(seconds=world.rng.uniform(1, 8)),
        }
        for plan in plans
        for kind, motif, uploader, at in plan.photos
        for display, thumbnail, width, height in [world.rng.choice(world.picture_keys[motif])]
    ]
    if photos:
        _bulk_insert(session, Photo.__table__, photos)
    return {
        "events": len(rows),
        "notifications": len(notifications),
        "supporters": len(supporters),
        "photos": len(photos),
    }


def _notifications(session, world: World, plan: Plan, event, event_id: int) -> list[dict]:
    """What ``app.notifications.outbox.notify`` writes for a public event: one per resident
    told (the reporter and those following by then, never the actor), in the reporter's
    language or French (demo residents have no device to tell theirs)."""
    if not event.public:
        return []
    audience = {plan.reporter_uid} | {
        uid for uid, _, at in plan.supporters if at <= event.created_at
    }
    audience = {u for u in audience if not is_internal_uid(u)} - {event.actor_uid}
    kind = event.to_status if event.from_status != event.to_status else UPDATE
    if kind not in world.titles:
        world.titles[kind] = title_texts(session, kind)
    titles = world.titles[kind]
    rows = []
    for uid in sorted(audience):
        language = plan.language if uid == plan.reporter_uid else i18n.DEFAULT
        body = event.message_en if language == "en" else event.message_fr
        rows.append(
            {
                "uid": uid,
                "report_id": plan.id,
                "event_id": event_id,
                "kind": kind,
                "language": language,
                "title": render_title(
                    kind, titles.get(language, titles["fr"]), {"reference": plan.reference}
                ),
                "body": body or event.message_fr or "",
                "data": {
                    "report_id": str(plan.id),
                    "reference": plan.reference,
                    "status": event.to_status,
                    "kind": kind,
                },
                "collapse_key": KINDS[kind].subject.collapse_key(plan.id),
                "created_at": event.created_at,
            }
        )
    return rows
