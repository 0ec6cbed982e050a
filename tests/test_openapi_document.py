"""The OpenAPI document is a contract with the mobile app and the partners: the served
``/openapi.json`` is byte for byte the copy kept in tests/openapi.json.

A change to the API changes the copy on purpose, in the same commit:

    UPDATE_OPENAPI=1 make test PYTEST_ARGS=tests/test_openapi_document.py

writes the served document over the copy (review it with ``git diff tests/openapi.json``).
"""

import difflib
import json
import os
from pathlib import Path

STORED = Path(__file__).parent / "openapi.json"
UPDATE = "UPDATE_OPENAPI"


def test_the_served_openapi_document_is_the_stored_copy(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    served = response.get_data(as_text=True)
    if os.environ.get(UPDATE):
        STORED.write_text(served, encoding="utf-8")
    stored = STORED.read_text(encoding="utf-8")
    if served == stored:
        return
    # Key by key, the way a reviewer reads it: the first lines that differ.
    diff = difflib.unified_diff(
        json.dumps(json.loads(stored), indent=1, sort_keys=True).splitlines(),
        json.dumps(json.loads(served), indent=1, sort_keys=True).splitlines(),
        "tests/openapi.json",
        "/openapi.json",
        lineterm="",
        n=2,
    )
    shown = "\n".join(list(diff)[:60]) or "(same content, different bytes: key order or spacing)"
    raise AssertionError(
        "The served OpenAPI document differs from tests/openapi.json. If the API change is "
        f"intended, run with {UPDATE}=1 to store the served document, and commit it:\n"
        f"  {UPDATE}=1 make test PYTEST_ARGS=tests/test_openapi_document.py\n" + shown
    )
