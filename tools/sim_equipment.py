"""The demo city's equipment that obeys: street lights, traffic signals and cameras whose
state the centre's commands change (the feed simulator, tools/simulator.py, serves them).

Our NGSI-LD command profile (app/equipment/commands.py): a ``PATCH
/ngsi-ld/v1/entities/{id}/attrs`` sets the ``command`` Property ``{id, name, level?}``. The
equipment applies it after a realistic delay (``Behaviour.delay_seconds``, by the broker's
injectable clock): its attributes change (a street light's ``powerState``,
``illuminanceLevel``, ``controlMode``; a signal's ``mode``), its ``commandStatus`` says
``OK``, and its observation time is the moment it applied it. A few percent of commands
fail (``failure_rate``, seeded by the command's id): the equipment reports ``ERROR`` and
keeps its state. Until it applies a command, it reports it ``PENDING``.

The same broker is the tests' stand-in for a misbehaving one (``Behaviour.mode``):
``error`` answers every PATCH 500, ``lose`` reads a PATCH and closes the connection
without an answer (the request is lost), ``ignore`` accepts PATCHes (204, and the
``command`` attribute reads back) but the equipment never applies them, ``refuse`` answers
422. The mode may be changed while it serves.

The values are a pure function of the time, the entity and the commands received, so a
test that sets the clock can predict them.
"""

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

# What each entity type accepts, and the state each command leaves.
ACCEPTED = {
    "Streetlight": ("switch_on", "switch_off", "dim", "schedule"),
    "TrafficSignal": ("flashing_amber", "normal"),
    "Device": (),
}
MODES = ("normal", "error", "lose", "ignore", "refuse")
FAULT_WINDOW_SECONDS = 1800
SIGNAL_FAULT_RATE = 0.002
CAMERA_OUTAGE_RATE = 0.004
SIGNAL_FAULTS = ("lampFailure", "controllerFault", "detectorFault")


def unit(*parts) -> float:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Device:
    """A traffic signal's controller or a camera of the register (its reference, place)."""

    reference: str
    lon: float
    lat: float


@dataclass
class Behaviour:
    delay_seconds: float = 3.0
    failure_rate: float = 0.03
    seed: str = "dijon"
    mode: str = "normal"


@dataclass
class Received:
    """The last command an entity received, and when."""

    id: str
    name: str
    level: int | None
    at: datetime


@dataclass
class Equipment:
    """The equipment's commanded state, shared by the broker's threads."""

    signals: list[Device] = field(default_factory=list)
    cameras: list[Device] = field(default_factory=list)
    behaviour: Behaviour = field(default_factory=Behaviour)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._received: dict[str, Received] = {}
        # Every PATCH that reached the broker (tests count them): (entity id, command id).
        self.patches: list[tuple[str, str]] = []

    # Commands ---------------------------------------------------------------------------

    def receive(self, entity_type: str, entity_id: str, body, moment: datetime):
        """A PATCH of the entity's attributes: ``(status, problem or None)``."""
        if not isinstance(body, dict) or "command" not in body:
            return 400, ("BadRequestData", "expected the attribute command")
        command = body["command"]
        if isinstance(command, dict) and command.get("type") == "Property":
            command = command.get("value")
        if not isinstance(command, dict) or not isinstance(command.get("id"), str):
            return 400, ("BadRequestData", "command is not {id, name, level?}")
        name = command.get("name")
        if name not in ACCEPTED.get(entity_type, ()):
            return 400, ("BadRequestData", f"{entity_type} does not accept {name}")
        level = command.get("level")
        if name == "dim" and (
            not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 100
        ):
            return 400, ("BadRequestData", "dim needs a level from 0 to 100")
        if self.behaviour.mode == "refuse":
            return 422, ("OperationNotSupported", "this broker refuses commands")
        with self._lock:
            self.patches.append((entity_id, command["id"]))
            self._received[entity_id] = Received(command["id"], name, level, moment)
        return 204, None

    def received(self, entity_id: str) -> Received | None:
        with self._lock:
            return self._received.get(entity_id)

    def _outcome(self, entity_id: str, moment: datetime):
        """``(received, applied?, failed?)`` of the entity's last command at ``moment``."""
        received = self.received(entity_id)
        if received is None:
            return None, False, False
        due = moment >= received.at + timedelta(seconds=self.behaviour.delay_seconds)
        if self.behaviour.mode == "ignore" or not due:
            return received, False, False
        failed = unit(self.behaviour.seed, "fails", received.id) < self.behaviour.failure_rate
        return received, not failed, failed

    def _report(self, entity: dict, received, applied, failed, moment) -> None:
        if received is None:
            return
        entity["command"] = {"id": received.id, "name": received.name}
        if received.level is not None:
            entity["command"]["level"] = received.level
        done = applied or failed
        entity["commandStatus"] = {
            "id": received.id,
            "status": "OK" if applied else "ERROR" if failed else "PENDING",
            **({"info": "the equipment did not respond to the command"} if failed else {}),
        }
        # When it changed: when it received the command, then when it applied it.
        at = received.at + timedelta(seconds=self.behaviour.delay_seconds if done else 0)
        if at <= moment:
            entity["observationDateTime"] = max(entity["observationDateTime"], iso(at))

    # The entities, as the city serves them ---------------------------------------------

    def lights(self, entities: list[dict], moment: datetime) -> list[dict]:
        """The city's street lights (key-values) with the commands applied."""
        out = []
        for base in entities:
            entity = dict(base)
            lit = entity["powerState"] == "on"
            entity["controlMode"] = "schedule"
            entity["illuminanceLevel"] = 1.0 if lit else 0.0
            received, applied, failed = self._outcome(entity["id"], moment)
            if applied and entity["status"] == "ok" and received.name != "schedule":
                level = {"switch_on": 100, "switch_off": 0}.get(received.name, received.level)
                entity["powerState"] = "on" if level else "off"
                entity["illuminanceLevel"] = level / 100
                entity["controlMode"] = "manual"
            self._report(entity, received, applied, failed, moment)
            out.append(entity)
        return out

    def traffic_signals(self, moment: datetime) -> list[dict]:
        window = int(moment.timestamp() // FAULT_WINDOW_SECONDS)
        since = iso(datetime.fromtimestamp(window * FAULT_WINDOW_SECONDS, UTC))
        out = []
        for signal in self.signals:
            faulty = unit("signal-fault", signal.reference, window) < SIGNAL_FAULT_RATE
            entity = {
                "id": f"urn:ngsi-ld:TrafficSignal:dijon:{signal.reference}",
                "type": "TrafficSignal",
                "controllerNum": signal.reference,
                "mode": "off" if faulty else "normal",
                "status": SIGNAL_FAULTS[int(unit("kind", signal.reference, window) * 3)]
                if faulty
                else "ok",
                "location": {"type": "Point", "coordinates": [signal.lon, signal.lat]},
                "observationDateTime": since,
            }
            received, applied, failed = self._outcome(entity["id"], moment)
            if applied and not faulty:
                entity["mode"] = received.name
            self._report(entity, received, applied, failed, moment)
            out.append(entity)
        return out

    def devices(self, moment: datetime) -> list[dict]:
        window = int(moment.timestamp() // FAULT_WINDOW_SECONDS)
        since = iso(datetime.fromtimestamp(window * FAULT_WINDOW_SECONDS, UTC))
        return [
            {
                "id": f"urn:ngsi-ld:Device:dijon:{camera.reference}",
                "type": "Device",
                "category": ["sensor"],
                "controlledProperty": ["image"],
                "serialNumber": camera.reference,
                "deviceState": "disconnected"
                if unit("camera-outage", camera.reference, window) < CAMERA_OUTAGE_RATE
                else "ok",
                "location": {"type": "Point", "coordinates": [camera.lon, camera.lat]},
                "observationDateTime": since,
            }
            for camera in self.cameras
        ]


def entity_type_of(entity_id: str) -> str | None:
    """``urn:ngsi-ld:<Type>:...``'s type."""
    parts = entity_id.split(":")
    return parts[2] if len(parts) > 3 and parts[0] == "urn" and parts[1] == "ngsi-ld" else None


def handle_patch(handler, entity_id: str) -> None:
    """The simulator's ``PATCH /ngsi-ld/v1/entities/{id}/attrs`` (handler: its request)."""
    server = handler.server
    equipment: Equipment = server.city.equipment
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    if equipment.behaviour.mode == "lose":
        handler.close_connection = True
        return  # read, never answered: the client sees the connection close
    if equipment.behaviour.mode == "error":
        handler._error(500, "InternalError", "the broker is failing (stand-in mode error)")
        return
    entity = server.city.entity(entity_id, server.clock())
    if entity is None:
        handler._error(404, "ResourceNotFound", f"no entity {entity_id[:100]}")
        return
    try:
        body = json.loads(raw)
    except ValueError:
        handler._error(400, "InvalidRequest", "not JSON")
        return
    status, problem = equipment.receive(entity["type"], entity_id, body, server.clock())
    if problem is not None:
        handler._error(status, *problem)
        return
    handler.send_response(204)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def load_devices(database_url: str, kind: str, wanted: int) -> list[Device]:
    """Every n-th asset of ``kind`` of the equipment register (about ``wanted``)."""
    import psycopg

    from tools.pg import libpq_url

    query = """
SELECT reference, ST_X(geom), ST_Y(geom)
FROM (SELECT reference, geom, row_number() OVER (ORDER BY reference) AS n,
             count(*) OVER () AS total
      FROM assets WHERE kind = %(kind)s AND status <> 'removed') a
WHERE (n - 1) %% GREATEST(1, ceil(total / %(wanted)s::numeric)::int) = 0
ORDER BY reference
"""
    with psycopg.connect(libpq_url(database_url), connect_timeout=5) as conn:
        rows = conn.execute(query, {"kind": kind, "wanted": wanted}).fetchall()
    return [Device(reference, lon, lat) for reference, lon, lat in rows]
