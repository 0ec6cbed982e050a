"""The demo feed simulator: its values follow the time, its faults and vehicles are
predictable, our own NGSI-LD, GBFS and GTFS-Realtime adapters read it, and
`python -m tools.demo feeds demo` registers it once."""

import json
import signal
import subprocess
import sys
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from app.assets.service import put_asset
from app.feeds import gtfs_rt, service
from app.feeds.models import Feed, FeedEntity
from app.mobility.congestion import congestion_level
from app.reports.models import Report
from tests.servers import free_port
from tools import sim_equipment
from tools import simulator as sim
from tools.demo import cli as demo_cli

ROOT = Path(__file__).resolve().parents[2]
# A Tuesday in Dijon.
TUESDAY = datetime(2026, 11, 24, tzinfo=sim.PARIS)
LIGHTS = [sim.Streetlight(f"SL-9{n:05d}", 5.03 + n * 5e-4, 47.32) for n in range(40)]
SIGNALS = [sim_equipment.Device(f"TS-9{n:04d}", 5.03 + n * 5e-4, 47.325) for n in range(12)]
CAMERAS = [sim_equipment.Device(f"CAM-9{n:04d}", 5.03 + n * 5e-4, 47.33) for n in range(5)]
VEHICLES = sum(line.vehicles for line in sim.TRANSIT_LINES)


def city() -> sim.City:
    return sim.City(LIGHTS, sim_equipment.Equipment(signals=SIGNALS, cameras=CAMERAS))


# Every feed's entities, by type: the NGSI-LD ones and the vehicles.
COUNTS = {**city().counts(), gtfs_rt.ENTITY_TYPE: VEHICLES}
OUTSIDE_THE_METROPOLIS = text(
    "SELECT count(*) FROM feed_entities e "
    "WHERE NOT ST_Covers((SELECT ST_Union(geom) FROM communes), e.geom)"
)


def at(hour: int, minute: int = 0, day: datetime = TUESDAY) -> datetime:
    return day.replace(hour=hour, minute=minute)


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


@pytest.fixture
def demo(app):
    """``python -m tools.demo``'s commands, on the test's app."""
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(demo_cli, args=list(args))


@pytest.fixture
def broker():
    """The simulator's broker in a thread of the test, its clock set by the test."""
    clock = {"now": at(11, 30)}
    server = sim.Broker(("127.0.0.1", 0), city(), lambda: clock["now"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.clock_setting = clock
    yield server
    server.shutdown()
    server.server_close()


def get_json(url: str) -> tuple[int, dict, object]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


# --- values that follow the time ------------------------------------------------------------


def test_car_park_occupancy_follows_the_time_of_day_predictably():
    city = sim.City([])
    night = {p["id"]: p for p in city.car_parks(at(4))}
    noon = {p["id"]: p for p in city.car_parks(at(11, 30))}
    centre = [p for p in sim.CAR_PARKS if p.profile == "centre"]
    for park in centre:
        key = f"urn:ngsi-ld:OffStreetParking:dijon:{park.slug}"
        assert night[key]["occupancy"] < 0.25 < 0.6 < noon[key]["occupancy"], park.slug
        assert night[key]["availableSpotNumber"] > noon[key]["availableSpotNumber"]
        # The curve plus noise of at most 3 points, and exactly what the module predicts.
        share = sim.occupancy("centre", park.slug, at(11, 30))
        assert noon[key]["availableSpotNumber"] == park.total - round(park.total * share)
    # Sundays are quieter than working days, at the same hour.
    sunday = {p["id"]: p for p in city.car_parks(at(11, 30, TUESDAY + timedelta(days=5)))}
    assert sum(p["occupancy"] for p in sunday.values()) < sum(p["occupancy"] for p in noon.values())
    # The same minute, in another city (another process): the same answer; another
    # minute: other noise, same curve.
    same_minute = at(11, 30).astimezone(UTC) + timedelta(seconds=20)
    assert sim.City([]).car_parks(same_minute) == city.car_parks(at(11, 30))
    later = {p["id"]: p for p in city.car_parks(at(11, 31))}
    assert later != noon
    assert all(abs(later[k]["occupancy"] - noon[k]["occupancy"]) < 0.1 for k in noon)


def levels(moment: datetime) -> dict[str, str]:
    """The congestion residents see on each simulated road at ``moment``, by road."""
    return {
        r["id"].rsplit(":", 1)[1]: congestion_level(
            r["congested"], r["occupancy"], r["averageVehicleSpeed"], 50.0
        )
        for r in sim.City([]).traffic(moment)
    }


def test_traffic_jams_at_rush_hour_on_the_busiest_roads_and_flows_at_night_and_midday():
    assert set(levels(at(3)).values()) == {"free"}
    rush = levels(at(8))
    assert sorted(set(rush.values())) == ["free", "heavy", "moderate"], rush
    assert list(levels(at(17, 45)).values()).count("heavy") >= 3
    # Late morning, between the rush hours: the roads flow.
    assert set(levels(at(11)).values()) == {"free"}
    rush, night = sim.City([]).traffic(at(17, 45)), sim.City([]).traffic(at(3))
    assert all(r["intensity"] > n["intensity"] for r, n in zip(rush, night, strict=True))
    assert all(r["location"]["type"] == "LineString" for r in rush)


def test_the_congestion_rule_agrees_with_the_simulated_speeds_all_week():
    """Every road, every 5 minutes for a week: what residents are told agrees with how fast
    the simulator says traffic moves on that road (its own free-flow speed, 50 to 90 km/h)."""
    free_flow = {road.slug: road.free_flow_kmh for road in sim.ROADS}
    seen = set()
    for period in range(7 * 288):
        moment = at(0) + timedelta(minutes=5 * period)
        for r in sim.City([]).traffic(moment):
            slug = r["id"].rsplit(":", 1)[1]
            level = congestion_level(r["congested"], r["occupancy"], r["averageVehicleSpeed"], 50.0)
            share = r["averageVehicleSpeed"] / free_flow[slug]
            seen.add(level)
            # Near free-flow speed (78.7 km/h on a 90 km/h road...): free, never moderate.
            if share >= 0.85:
                assert level == "free", (moment, r)
            # Heavy exactly when the source flags the lane congested.
            assert (level == "heavy") == r["congested"], (moment, r)
    assert seen == {"free", "moderate", "heavy"}


def test_simulated_occupancy_follows_from_flow_and_speed_as_a_detector_measures_it():
    lanes = {road.slug: road.lanes for road in sim.ROADS}
    for hour in (3, 8, 11, 13, 17, 22):
        for r in sim.City([]).traffic(at(hour)):
            per_lane_hour = r["intensity"] / lanes[r["id"].rsplit(":", 1)[1]] * 12
            density = per_lane_hour / r["averageVehicleSpeed"]  # vehicles per km of lane
            assert r["occupancy"] == pytest.approx(
                min(density * sim.EFFECTIVE_VEHICLE_LENGTH_M / 1000, sim.MAX_OCCUPANCY), abs=0.01
            ), r


def test_bike_stations_fill_in_the_centre_in_the_morning():
    city = sim.City([])
    morning = city.bike_stations(at(11))
    evening = city.bike_stations(at(19))
    centre = [i for i, s in enumerate(sim.BIKE_STATIONS) if s.central]
    assert sum(morning[i]["availableBikeNumber"] for i in centre) > sum(
        evening[i]["availableBikeNumber"] for i in centre
    )
    assert all(
        s["availableBikeNumber"] + s["freeSlotNumber"] == s["totalSlotNumber"] for s in morning
    )
    assert len(morning) == 40


def a_fault() -> tuple[str, int, int]:
    """A (reference, first window, length) of a fault of one of LIGHTS, from TUESDAY backwards."""
    now = sim.fault_window(TUESDAY)
    for window in range(now, now - 5000, -1):
        for light in LIGHTS:
            if sim.unit("fault", light.reference, window) < sim.FAULT_START_RATE:
                length = 1 + int(sim.unit("length", light.reference, window) * 4)
                return light.reference, window, length
    raise AssertionError("no fault in 5000 windows")


def test_street_light_faults_appear_then_return_to_ok_deterministically():
    reference, start, length = a_fault()
    city, other = sim.City(LIGHTS), sim.City(LIGHTS)

    def status(window: int, city=city) -> str:
        moment = datetime.fromtimestamp(window * sim.FAULT_WINDOW_SECONDS + 60, UTC)
        [light] = [
            entity
            for entity in city.lights(moment)
            if entity["id"] == f"urn:ngsi-ld:Streetlight:dijon:{reference}"
        ]
        return light["status"], light["powerState"], light["observationDateTime"]

    during = [status(w) for w in range(start, start + length)]
    assert {s for s, _, _ in during} <= set(sim.FAULTS) and len({s for s, _, _ in during}) == 1
    assert {p for _, p, _ in during} == {"off"}
    assert status(start + length)[0] == "ok" or sim.fault_status(reference, start + length)
    # Observed at the start of its window: one observation per light and half hour.
    assert during[0][2] == sim.iso(datetime.fromtimestamp(start * sim.FAULT_WINDOW_SECONDS, UTC))
    # Another city (another process) predicts the same faults.
    assert [status(w, other) for w in range(start, start + length)] == during
    assert sim.fault_status(reference, start) == during[0][0]


# --- the broker, read by our own adapter ------------------------------------------------------


def test_the_broker_speaks_ngsi_ld_paging_forms_and_errors(broker):
    base = broker.url + sim.ENTITIES_PATH
    status, headers, page = get_json(f"{base}?type=OffStreetParking&limit=5&offset=10&count=true")
    assert status == 200
    assert headers["Content-Type"] == "application/ld+json"
    assert headers["NGSILD-Results-Count"] == str(len(sim.CAR_PARKS))
    assert len(page) == len(sim.CAR_PARKS) - 10
    assert page[0]["availableSpotNumber"]["type"] == "Property"  # normalized by default
    assert page[0]["location"]["type"] == "GeoProperty"
    _, _, key_values = get_json(f"{base}?type=Streetlight&options=keyValues&limit=1000")
    assert len(key_values) == len(LIGHTS)
    assert key_values[0]["status"] in ("ok", *sim.FAULTS)
    assert get_json(f"{base}?type=WeatherObserved")[2] == []
    assert len(get_json(f"{base}?type=BikeHireDockingStation")[2]) == sim.DEFAULT_LIMIT
    for query in (
        "",
        "?type=Streetlight&limit=0",
        "?type=Streetlight&limit=5000",
        "?type=X&offset=a",
    ):
        status, _, problem = get_json(base + query)
        assert status == 400, query
        assert problem["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
    assert get_json(broker.url + "/nowhere")[0] == 404
    assert get_json(broker.url + "/")[2]["counts"]["Streetlight"] == len(LIGHTS)


def test_every_demo_feed_parses_with_our_adapter_with_the_expected_counts(session, demo, broker):
    assert demo("feeds", "demo", "--base-url", broker.url).exit_code == 0
    limits = service.PollLimits(timeout_seconds=10, page_size=7)  # several pages each
    for feed in sim.DEMO_FEEDS:
        feed_id = session.scalar(select(Feed.id).where(Feed.name == feed.name))
        outcome = service.poll_feed(session, feed_id, limits=limits)
        assert outcome["status"] == "ok", outcome
        assert (outcome["seen"], outcome["skipped"]) == (COUNTS[feed.entity_type], 0), feed.name
    stored = dict(
        session.execute(
            select(FeedEntity.entity_type, func.count()).group_by(FeedEntity.entity_type)
        ).all()
    )
    assert stored == COUNTS
    # What the residents see is what the simulator computed for that minute.
    expected = {p["id"]: p["availableSpotNumber"] for p in sim.City([]).car_parks(at(11, 30))}
    parkings = session.execute(
        select(FeedEntity.entity_id, FeedEntity.available).where(
            FeedEntity.entity_type == "OffStreetParking"
        )
    ).all()
    assert dict(parkings) == expected
    # Everything is inside the 23 communes (a road may cross from one to the next).
    assert session.scalar(OUTSIDE_THE_METROPOLIS) == 0


def test_a_later_poll_follows_the_simulated_clock(session, demo, broker):
    demo("feeds", "demo", "--base-url", broker.url)
    feed_id = session.scalar(select(Feed.id).where(Feed.name == "demo-car-parks"))
    dauphine = "urn:ngsi-ld:OffStreetParking:dijon:dauphine"

    def free_spaces() -> int:
        assert service.poll_feed(session, feed_id)["status"] == "ok"
        value = session.scalar(select(FeedEntity.available).where(FeedEntity.entity_id == dauphine))
        session.rollback()
        return value

    broker.clock_setting["now"] = at(4)
    night = free_spaces()
    broker.clock_setting["now"] = at(11, 30)
    assert free_spaces() < night


def test_residents_see_the_simulated_rush_hour_s_three_levels(session, client, auth, demo, broker):
    broker.clock_setting["now"] = at(8, 2)
    demo("feeds", "demo", "--base-url", broker.url)
    feed_id = session.scalar(select(Feed.id).where(Feed.name == "demo-traffic"))
    outcome = service.poll_feed(session, feed_id, now=at(8, 2).astimezone(UTC))
    assert outcome["status"] == "ok", outcome
    response = client.get("/v1/mobility/traffic?bbox=4.95,47.25,5.15,47.40", headers=auth())
    assert response.status_code == 200
    shown = {
        f["properties"]["source_id"].rsplit(":", 1)[1]: f["properties"]["congestion"]
        for f in response.json["features"]
    }
    assert shown == levels(at(8, 2))
    assert sorted(set(shown.values())) == ["free", "heavy", "moderate"]


def test_the_gbfs_stations_agree_with_the_ngsi_ld_ones(session, demo, broker):
    broker.clock_setting["now"] = at(11, 30) + timedelta(seconds=20)
    status, headers, discovery = get_json(broker.url + "/gbfs/gbfs.json")
    assert (status, headers["Content-Type"], discovery["version"]) == (
        200,
        "application/json",
        "3.0",
    )
    assert {feed["name"] for feed in discovery["data"]["feeds"]} == {
        "station_information",
        "station_status",
    }
    _, _, information = get_json(broker.url + "/gbfs/station_information.json")
    assert information["data"]["stations"][0]["name"] == [{"text": "Darcy", "language": "fr"}]
    _, _, status_file = get_json(broker.url + "/gbfs/station_status.json")
    # Current until the next minute's figures.
    assert (status_file["last_updated"], status_file["ttl"]) == (sim.iso(at(11, 30)), 40)
    assert get_json(broker.url + "/gbfs/free_bike_status.json")[0] == 404

    demo("feeds", "demo", "--base-url", broker.url)
    feed_id = session.scalar(select(Feed.id).where(Feed.name == "demo-bikes-gbfs"))
    outcome = service.poll_feed(session, feed_id)
    assert (outcome["status"], outcome["seen"], outcome["skipped"]) == ("ok", 40, 0)
    stored = {
        entity_id: (name, available, capacity, measures["free_docks"], observed)
        for entity_id, name, available, capacity, measures, observed in session.execute(
            select(
                FeedEntity.entity_id,
                FeedEntity.name,
                FeedEntity.available,
                FeedEntity.capacity,
                FeedEntity.measures,
                FeedEntity.observed_at,
            ).where(FeedEntity.feed_id == feed_id)
        )
    }
    ngsi_ld = {
        entity["id"].rsplit(":", 1)[1]: (
            entity["name"],
            entity["availableBikeNumber"],
            entity["totalSlotNumber"],
            entity["freeSlotNumber"],
            datetime.fromisoformat(entity["observationDateTime"]),
        )
        for entity in sim.City([]).bike_stations(at(11, 30))
    }
    assert stored == ngsi_ld


def test_vehicle_positions_parse_with_our_adapter_inside_the_metropolis(session, demo, broker):
    with urllib.request.urlopen(broker.url + sim.VEHICLES_PATH, timeout=5) as response:
        assert response.headers["Content-Type"] == "application/x-protobuf"
        message = gtfs_rt.load(response.read())
    assert message.header.timestamp == int(at(11, 30).timestamp())
    demo("feeds", "demo", "--base-url", broker.url)
    feed_id = session.scalar(select(Feed.id).where(Feed.name == "demo-vehicles"))
    outcome = service.poll_feed(session, feed_id)
    assert (outcome["status"], outcome["seen"], outcome["skipped"]) == ("ok", VEHICLES, 0)
    vehicles = session.scalars(select(FeedEntity).where(FeedEntity.feed_id == feed_id)).all()
    assert len(vehicles) == VEHICLES == 28
    assert {v.measures["route_id"] for v in vehicles} == {
        "T1",
        "T2",
        "L3",
        "L4",
        "L5",
        "L6",
        "L7",
    }
    assert all(
        v.measures["trip_id"].startswith(v.measures["route_id"] + "-")
        and 0 <= v.measures["bearing"] < 360
        and v.measures["speed_kmh"] in (15.0, 16.0, 17.0, 20.0)
        and v.observed_at == at(11, 30)
        for v in vehicles
    )
    assert session.scalar(OUTSIDE_THE_METROPOLIS) == 0


def test_vehicles_move_along_their_line_predictably():
    city = sim.City([])
    start = at(11, 30)
    # Positions are sampled every 15 seconds.
    assert city.vehicles(start + timedelta(seconds=14)) == city.vehicles(start)
    now = {v["id"]: v for v in city.vehicles(start)}
    later = {v["id"]: v for v in city.vehicles(start + timedelta(seconds=60))}
    assert now.keys() == later.keys()
    straight = 0
    for key, before in now.items():
        after = later[key]
        assert (after["lon"], after["lat"]) != (before["lon"], before["lat"]), key
        if after["trip_id"] == before["trip_id"] and after["bearing"] == before["bearing"]:
            # Still on the same stretch: 60 seconds at the line's speed, heading its way.
            moved = sim.metres((before["lon"], before["lat"]), (after["lon"], after["lat"]))
            assert moved == pytest.approx(before["speed"] * 60, abs=0.5), key
            heading = sim.bearing((before["lon"], before["lat"]), (after["lon"], after["lat"]))
            assert heading == pytest.approx(before["bearing"], abs=0.5), key
            straight += 1
    assert straight >= VEHICLES // 2
    for line in sim.TRANSIT_LINES:
        period = timedelta(seconds=line.round_trip_seconds)
        spacing = period / line.vehicles
        first, second = sim.vehicle(line, 0, start), sim.vehicle(line, 1, start)
        # The next vehicle is where this one will be a spacing later...
        ahead = sim.vehicle(line, 0, start + spacing)
        assert (ahead["lon"], ahead["lat"]) == pytest.approx((second["lon"], second["lat"]))
        # ... and a round trip later the vehicle is back where it was, on its next trip.
        back = sim.vehicle(line, 0, start + period)
        assert (back["lon"], back["lat"]) == pytest.approx((first["lon"], first["lat"]))
        route, trip, direction = first["trip_id"].split("-")
        assert back["trip_id"] == f"{route}-{int(trip) + 1}-{direction}"


# --- the demo command ------------------------------------------------------------------------


def test_feeds_demo_is_idempotent_and_follows_the_simulator_s_address(session, demo):
    # An earlier demo registered the NGSI-LD bike stations: the GBFS feed replaces it.
    service.put_feed(
        session,
        "demo-bike-stations",
        sim.ngsi_ld("x", "bikes", "BikeHireDockingStation", True, 30, 300).definition(
            "http://127.0.0.1:8001"
        ),
    )
    first = demo("feeds", "demo", "--base-url", "http://127.0.0.1:8001")
    assert first.exit_code == 0, first.output
    assert first.output.count("created") == len(sim.DEMO_FEEDS)
    assert "feed demo-bike-stations: removed (replaced)" in first.output
    second = demo("feeds", "demo", "--base-url", "http://127.0.0.1:8011/")
    assert second.exit_code == 0, second.output
    assert second.output.count("updated") == len(sim.DEMO_FEEDS)
    assert "removed" not in second.output
    feeds = {f.name: f for f in session.scalars(select(Feed))}
    assert sorted(feeds) == sorted(f.name for f in sim.DEMO_FEEDS)
    # One bikes feed: each station listed once.
    assert [f.name for f in feeds.values() if f.kind == "bikes"] == ["demo-bikes-gbfs"]
    bikes, vehicles = feeds["demo-bikes-gbfs"], feeds["demo-vehicles"]
    assert (bikes.format, bikes.source_url) == ("gbfs", "http://127.0.0.1:8011/gbfs/gbfs.json")
    assert (vehicles.kind, vehicles.format, vehicles.poll_interval_seconds) == (
        "vehicles",
        "gtfs-rt",
        20,
    )
    assert vehicles.source_url == "http://127.0.0.1:8011/gtfs-rt/vehicle-positions.pb"
    lights = feeds["demo-street-lights"]
    assert lights.source_url == (
        "http://127.0.0.1:8011/ngsi-ld/v1/entities?type=Streetlight&options=keyValues"
    )
    # Every 30 s: a command's outcome is seen within half a minute of the equipment's.
    assert (lights.kind, lights.format, lights.poll_interval_seconds) == (
        "streetlights",
        "ngsi-ld",
        30,
    )
    signals = feeds["demo-traffic-signals"]
    assert (signals.kind, signals.source_url) == (
        "traffic_signals",
        "http://127.0.0.1:8011/ngsi-ld/v1/entities?type=TrafficSignal",
    )
    assert feeds["demo-cameras"].kind == "cameras"
    assert all(15 <= f.poll_interval_seconds <= 60 and f.enabled for f in feeds.values())
    refused = demo("feeds", "demo", "--base-url", "ftp://127.0.0.1")
    assert refused.exit_code != 0
    assert "http or https" in refused.output


# --- end to end: the simulator's own process -------------------------------------------------


@pytest.mark.processes
def test_the_simulator_process_feeds_parkings_and_opens_a_ticket_for_a_faulty_light(
    app, session, client, auth, cli, demo, database_url
):
    for light in LIGHTS:
        put_asset(
            session,
            light.reference,
            {
                "kind": "street_light",
                "status": "in_service",
                "location": {"lon": light.lon, "lat": light.lat},
            },
        )
    session.commit()
    reference, window, _length = a_fault()
    # The clock frozen inside the fault's first window: the test knows what it will say.
    frozen = datetime.fromtimestamp(window * sim.FAULT_WINDOW_SECONDS + 120, UTC)
    faulty = sim.City(LIGHTS).faults(window)
    assert reference in faulty
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tools.simulator",
            "--port",
            str(port),
            "--database-url",
            database_url,
            "--at",
            frozen.isoformat(),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        assert f"on http://127.0.0.1:{port} ({len(LIGHTS)} street lights)" in banner, banner
        assert demo("feeds", "demo", "--base-url", f"http://127.0.0.1:{port}").exit_code == 0
        for feed in sim.DEMO_FEEDS:
            polled = cli("feeds", "poll", feed.name)
            assert polled.exit_code == 0, polled.output
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert process.returncode == 0

    response = client.get(
        "/v1/mobility/parkings?lon=5.0415&lat=47.322&radius=1000&limit=100", headers=auth()
    )
    assert response.status_code == 200
    names = {item["name"] for item in response.json["items"]}
    assert {"Parking Dauphine", "Parking Grangier", "Rue de la Préfecture"} <= names
    [dauphine] = [i for i in response.json["items"] if i["name"] == "Parking Dauphine"]
    expected = sim.City([]).car_parks(frozen)[0]
    assert dauphine["free_spaces"] == expected["availableSpotNumber"]
    assert dauphine["stale"] is True  # frozen in the past: older than the 5-minute limit

    # The buses and trams, as the simulator placed them at that instant (stale too).
    response = client.get(
        "/v1/mobility/vehicles?bbox=4.95,47.25,5.15,47.40&limit=100", headers=auth()
    )
    assert response.status_code == 200
    features = {f["properties"]["source_id"]: f for f in response.json["features"]}
    expected = {v["id"]: v for v in sim.City([]).vehicles(frozen)}
    assert features.keys() == expected.keys()
    t1 = features["divia-t1-1"]
    assert t1["geometry"]["coordinates"] == pytest.approx(
        [expected["divia-t1-1"]["lon"], expected["divia-t1-1"]["lat"]], abs=1e-5
    )
    assert t1["properties"]["route_id"] == "T1"
    assert t1["properties"]["trip_id"] == expected["divia-t1-1"]["trip_id"]
    assert t1["properties"]["stale"] is True
    # Each bike station once, with the simulator's figures.
    response = client.get(
        "/v1/mobility/bikes?lon=5.0415&lat=47.322&radius=5000&limit=100", headers=auth()
    )
    assert response.status_code == 200
    bikes = sorted((i["name"], i["bikes_available"]) for i in response.json["items"])
    assert bikes == sorted(
        (s["name"], s["availableBikeNumber"]) for s in sim.City([]).bike_stations(frozen)
    )

    tickets = session.execute(
        text(
            "SELECT a.reference, c.code FROM reports r JOIN assets a ON a.id = r.asset_id "
            "JOIN categories c ON c.id = r.category_id WHERE r.source = 'sensor'"
        )
    ).all()
    assert sorted(tickets) == sorted((ref, "streetlight_out") for ref in faulty)
    assert session.scalar(select(func.count()).select_from(Report)) == len(faulty)
