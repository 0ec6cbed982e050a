"""The demo city's equipment served by the simulator's broker in a thread of the test (its
clock set by the test), registered as feeds and as assets of the register."""

import threading
from datetime import timedelta

import pytest
from flask import g

from app.equipment.dispatch import Policy
from app.extensions import db
from app.feeds import service as feeds
from app.users.models import Role
from app.users.service import put_user
from tests.factories import add_equipment_assets, add_equipment_rules
from tools import sim_equipment
from tools import simulator as sim

LIGHTS = [sim.Streetlight(f"SL-9{n:05d}", 5.030 + n * 4e-4, 47.3200) for n in range(6)]
SIGNALS = [sim_equipment.Device(f"TS-9{n:04d}", 5.030 + n * 4e-4, 47.3230) for n in range(2)]
CAMERAS = [sim_equipment.Device(f"CAM-9{n:04d}", 5.030 + n * 4e-4, 47.3260) for n in range(2)]
POLICY = Policy(batch=100, lease_seconds=60, retry_base_seconds=5, timeout_seconds=120)


class City:
    """The broker, its clock, and the feeds and assets that read it."""

    def __init__(self, broker, clock):
        self.broker = broker
        self.clock = clock
        self.equipment: sim_equipment.Equipment = broker.city.equipment
        self.feeds: dict[str, int] = {}

    @property
    def now(self):
        return self.clock["now"]

    def at(self, **delta):
        """Move the broker's clock on by ``delta``; returns the new instant."""
        self.clock["now"] = self.clock["now"] + timedelta(**delta)
        return self.clock["now"]

    def poll(self, session, *names) -> None:
        for name in names or tuple(self.feeds):
            outcome = feeds.poll_feed(session, self.feeds[name], now=self.now)
            assert outcome["status"] == "ok", outcome


@pytest.fixture
def city(app, now):
    """Broker, feeds (lights, signals, cameras) and the matching assets; its clock starts
    at the database's; its equipment obeys after 2 s and never fails unless told."""
    clock = {"now": now}
    equipment = sim_equipment.Equipment(
        signals=SIGNALS,
        cameras=CAMERAS,
        behaviour=sim_equipment.Behaviour(delay_seconds=2, failure_rate=0.0),
    )
    server = sim.Broker(("127.0.0.1", 0), sim.City(LIGHTS, equipment), lambda: clock["now"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    town = City(server, clock)
    with app.app_context():
        session = db.session
        for kind, devices in (
            ("street_light", LIGHTS),
            ("traffic_signal", SIGNALS),
            ("camera", CAMERAS),
        ):
            add_equipment_assets(session, kind, devices)
        for name, kind, entity_type in (
            ("test-lights", "streetlights", "Streetlight&options=keyValues"),
            ("test-signals", "traffic_signals", "TrafficSignal"),
            ("test-cameras", "cameras", "Device&options=keyValues"),
        ):
            feed, _ = feeds.put_feed(
                session,
                name,
                {
                    "kind": kind,
                    "format": "ngsi-ld",
                    "source_url": f"{server.url}/ngsi-ld/v1/entities?type={entity_type}",
                    "poll_interval_seconds": 30,
                    "freshness_limit_seconds": 3600,
                    "enabled": True,
                },
            )
            town.feeds[name] = feed.id
        add_equipment_rules(session)
        db.session.remove()
    yield town
    server.shutdown()
    server.server_close()


def call(client, method: str, url: str, headers: dict, body=None, key: str | None = None):
    """A request as its own caller: the test's application context (which the ``session``
    fixture holds open) would otherwise keep the previous request's identity in ``g``."""
    g.pop("identity", None)
    if key is not None:
        headers = {**headers, "Idempotency-Key": key}
    return client.open(url, method=method, json=body, headers=headers)


@pytest.fixture
def staff(app):
    """``staff(uid, role, desks)``: that staff account, and its Authorization header."""
    from app.auth.tokens import mint_emulator_token
    from tests.conftest import PROJECT_ID

    def make(uid, role, desks=()):
        if role == Role.SUPERVISOR and not desks:
            desks = ["voirie"]  # a supervisor of roads runs the equipment all the same
        with app.app_context():
            put_user(db.session, actor=None, uid=uid, role=role, desks=list(desks))
            db.session.remove()
        return {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, uid)}"}

    return make
