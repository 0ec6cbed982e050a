"""The format registry is the one list: the API, the checks and the poll all read it."""

import pytest
from sqlalchemy import CheckConstraint

from app.errors import Unprocessable
from app.feeds import adapters, formats, service
from app.feeds.models import Feed

EVERY_KIND = (
    "parking",
    "bikes",
    "traffic",
    "streetlights",
    "traffic_signals",
    "cameras",
    "vehicles",
)


def test_the_kinds_are_those_the_formats_carry_in_the_order_of_the_database_check():
    # The CHECK on feeds.kind is built from this order; tests/test_migrations.py compares
    # it with the migrated database's.
    assert formats.KINDS == EVERY_KIND
    assert formats.KIND_ENTITY_TYPES["bikes"] == ("BikeHireDockingStation",)
    assert formats.KIND_ENTITY_TYPES["vehicles"] == ("TransitVehicle",)
    assert formats.KIND_ENTITY_TYPES["traffic_signals"] == ("TrafficSignal",)
    assert formats.KIND_ENTITY_TYPES["cameras"] == ("Device",)


def test_the_database_checks_list_every_registered_format_and_kind():
    checks = {
        str(check.sqltext)
        for check in Feed.__table__.constraints
        if isinstance(check, CheckConstraint)
    }
    assert "format IN ('ngsi-ld', 'ngsi-ld-document', 'gbfs', 'gtfs-rt')" in checks
    assert f"kind IN ({', '.join(repr(k) for k in EVERY_KIND)})" in checks


def test_the_api_takes_and_describes_every_registered_format(client):
    spec = client.get("/openapi.json").get_json()
    feed_in = spec["components"]["schemas"]["FeedIn"]["properties"]
    assert feed_in["format"]["enum"] == list(formats.NAMES)
    assert feed_in["kind"]["enum"] == list(formats.KINDS)
    for entry in formats.FORMATS:
        assert f"{entry.name} ({entry.description})" in feed_in["format"]["description"]
    health = spec["components"]["schemas"]["FeedHealth"]["properties"]
    for refusal in formats.REFUSALS:
        assert refusal in health["last_error_code"]["description"]
    put = spec["paths"]["/v1/admin/feeds/{name}"]["put"]["responses"]["422"]["description"]
    assert "gbfs carries bikes, gtfs-rt vehicles" in put


@pytest.mark.parametrize("entry", formats.FORMATS, ids=lambda entry: entry.name)
def test_each_format_builds_its_adapter_for_a_poll(entry):
    adapter = formats.adapter_for(entry.name, page_size=7, state={"url": "kept"})
    assert isinstance(adapter, entry.adapter)
    assert adapter.refusal in formats.REFUSALS
    if isinstance(adapter, adapters.NgsiLdBroker):
        assert adapter.page_size == 7
    if isinstance(adapter, adapters.Gbfs):
        assert adapter.state == {"url": "kept"}


def test_an_unknown_format_has_no_adapter():
    with pytest.raises(ValueError):
        formats.adapter_for("siri")


@pytest.mark.parametrize("entry", formats.FORMATS, ids=lambda entry: entry.name)
@pytest.mark.parametrize("kind", EVERY_KIND)
def test_a_feed_may_be_of_the_kinds_its_format_carries_only(entry, kind):
    if kind in entry.kinds:
        service.check_format(kind, entry.name)
    else:
        with pytest.raises(Unprocessable):
            service.check_format(kind, entry.name)
