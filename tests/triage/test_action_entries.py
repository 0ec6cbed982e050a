"""A triage action is one entry of app/triage/transitions.py: its endpoint, the endpoint's
documentation and body, and its bulk endpoint are built from that entry, and the table
refuses an entry it cannot read."""

import pytest

from app.triage import messages, transitions
from app.triage.schemas import ActionInSchema

ACTION_PATH = "/v1/reports/{report_id}/actions/"
BULK_PATH = "/v1/reports/bulk-actions/"


@pytest.fixture
def spec(app):
    return app.test_client().get("/openapi.json").get_json()


def body_schema(operation: dict, spec: dict) -> tuple[str, dict]:
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    return name, spec["components"]["schemas"][name]


def test_each_entry_is_one_action_endpoint_in_the_table_s_order(spec):
    paths = [path for path in spec["paths"] if path.startswith(ACTION_PATH)]
    assert [p.removeprefix(ACTION_PATH) for p in paths] == [
        name.replace("_", "-") for name in transitions.ENTRIES
    ]


@pytest.mark.parametrize("name", transitions.ACTIONS)
def test_an_action_endpoint_is_documented_and_takes_the_body_its_entry_names(spec, name):
    entry = transitions.ENTRIES[name]
    operation = spec["paths"][ACTION_PATH + name.replace("_", "-")]["post"]
    assert operation["summary"] == entry.summary
    roles = sorted(transitions.roles_for(name))
    assert operation["description"] == "; ".join(transitions.describe(name, r) for r in roles)
    schema_name, schema = body_schema(operation, spec)
    assert schema_name == entry.schema.__name__.removesuffix("Schema")
    assert list(schema["properties"]) == list(entry.schema().fields)
    # A body is required only when the action takes a required field.
    required = any(f.required for f in entry.schema().fields.values())
    assert operation["requestBody"]["required"] is required


def test_the_bulk_endpoints_are_the_entries_marked_bulk(spec):
    paths = [path for path in spec["paths"] if path.startswith(BULK_PATH)]
    bulk = [name for name, entry in transitions.ENTRIES.items() if entry.bulk]
    assert bulk, "no action is offered in bulk"
    assert [p.removeprefix(BULK_PATH) for p in paths] == bulk


@pytest.mark.parametrize("name", [n for n, e in transitions.ENTRIES.items() if e.bulk])
def test_a_bulk_endpoint_takes_its_action_s_body_and_the_selection(spec, name):
    entry = transitions.ENTRIES[name]
    operation = spec["paths"][BULK_PATH + name]["post"]
    assert operation["summary"] == (
        f"{entry.summary}, for a selection: each report with the version the agent saw"
    )
    schema_name, schema = body_schema(operation, spec)
    assert schema_name.startswith("Bulk")
    assert set(schema["properties"]) == {*entry.schema().fields, "reports"}
    assert "reports" in schema["required"]


def test_an_action_with_two_entries_is_refused():
    entry = transitions.ENTRIES["close"]
    with pytest.raises(AssertionError, match="two entries"):
        transitions._build((*transitions.ENTRIES.values(), entry))


def test_an_action_without_words_for_residents_and_staff_is_refused(monkeypatch):
    # Problems name actions in words (app.triage.messages.ACTION_LABELS), never by code.
    inspect = transitions.Action(
        "inspect",
        rows=[(("assigned",), transitions.SAME, transitions.CREW)],
        schema=ActionInSchema,
        summary="Inspect the site (the assigned crew)",
    )
    with pytest.raises(AssertionError):
        transitions._build((*transitions.ENTRIES.values(), inspect))
    # With its words, the same entry makes its rows: the words were all that was missing.
    monkeypatch.setitem(messages.ACTION_LABELS, "inspect", ("inspecter", "inspect"))
    table = transitions._build((*transitions.ENTRIES.values(), inspect))
    assert table["inspect", "assigned"].to_status == "assigned"
    assert table["inspect", "assigned"].roles == transitions.CREW
