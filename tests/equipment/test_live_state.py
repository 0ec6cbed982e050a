"""Each asset's live state from the feeds: polled, linked by reference, newest wins."""

from datetime import timedelta

from sqlalchemy import select

from app.equipment import live_state
from app.equipment.models import AssetLiveState
from app.equipment.service import live_states
from app.feeds.service import store_states
from app.feeds.states import EntityState
from app.users.models import Role
from tests.equipment.conftest import CAMERAS, LIGHTS, SIGNALS


def test_polling_gives_each_light_signal_and_camera_its_live_state(city, session, client, auth):
    night = city.at(hours=0)  # whatever the hour: the simulator says what it is
    city.poll(session)
    read = client.get(f"/v1/assets/{LIGHTS[0].reference}", headers=auth(Role.AGENT))
    assert read.status_code == 200
    live = read.get_json()["live"]
    served = city.broker.city.lights(night)[0]
    assert live["power_state"] == served["powerState"]
    assert live["dimming_level"] == (100 if served["powerState"] == "on" else 0)
    assert live["control_mode"] == "schedule"
    assert live["stale"] is False
    assert live["feed"] == "test-lights"
    assert live["entity_id"] == f"urn:ngsi-ld:Streetlight:dijon:{LIGHTS[0].reference}"
    signal = client.get(f"/v1/assets/{SIGNALS[0].reference}", headers=auth(Role.SUPERVISOR))
    assert signal.get_json()["live"]["mode"] in ("normal", "off")
    camera = client.get(f"/v1/assets/{CAMERAS[0].reference}", headers=auth(Role.ADMIN))
    assert camera.get_json()["live"]["online"] in (True, False)
    # The map's layer: every asset with its live state, in GeoJSON.
    layer = client.get("/v1/assets/geojson?kind=street_light", headers=auth(Role.AGENT))
    assert layer.status_code == 200
    features = {f["id"]: f for f in layer.get_json()["features"]}
    assert set(features) == {light.reference for light in LIGHTS}
    first = features[LIGHTS[0].reference]
    assert first["geometry"]["type"] == "Point"
    assert first["properties"]["live"]["power_state"] == served["powerState"]


def test_an_asset_no_feed_reports_has_no_live_state(city, session, client, auth):
    response = client.get(f"/v1/assets/{LIGHTS[0].reference}", headers=auth(Role.AGENT))
    assert response.get_json()["live"] is None


def test_a_state_older_than_the_feeds_freshness_limit_is_stale(city, session):
    city.poll(session, "test-lights")
    asset_id = session.scalar(select(AssetLiveState.asset_id).limit(1))
    assert live_states(session, [asset_id], now=city.now)[asset_id]["stale"] is False
    later = city.now + timedelta(hours=2)  # the freshness limit is an hour
    assert live_states(session, [asset_id], now=later)[asset_id]["stale"] is True


def light_state(observed_at, power, status="ok"):
    import shapely

    light = LIGHTS[1]
    return EntityState(
        entity_id=f"urn:ngsi-ld:Streetlight:other:{light.reference}",
        entity_type="Streetlight",
        geom=shapely.Point(light.lon, light.lat),
        observed_at=observed_at,
        status=status,
        measures={"power_state": power, "equipment": {"streetPoleNum": light.reference}},
    )


def test_an_older_observation_changes_nothing_and_faults_are_remembered(city, session):
    feed_id = city.feeds["test-lights"]
    t = city.now
    store_states(session, feed_id, [light_state(t, "off", "defectiveLamp")])
    assert live_state.refresh(session, feed_id, None, t)["changed"] == 1
    store_states(session, feed_id, [light_state(t + timedelta(minutes=5), "on")])
    live_state.refresh(session, feed_id, None, t)
    # Out of order: an observation older than the stored one is ignored.
    store_states(session, feed_id, [light_state(t - timedelta(minutes=5), "off", "brokenLantern")])
    assert live_state.refresh(session, feed_id, None, t)["changed"] == 0
    state = session.scalar(select(AssetLiveState).where(AssetLiveState.entity_id.like("%other%")))
    session.refresh(state)
    assert (state.power_state, state.fault) == ("on", None)
    assert (state.last_fault, state.last_fault_at) == ("defectiveLamp", t)
