"""schemathesis over every operation of the OpenAPI document, as each kind of caller.

Fails on any server error, undocumented status code or content type, or response that does
not match its schema. Besides schemathesis' own examples, each valid body is sent again in
the shapes an outside probe turned into 500s (a lone surrogate or a NUL in every string,
nesting a thousand levels deep), and every operation is called with tokens whose uid
PostgreSQL cannot store.
"""

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.auth.tokens import mint_emulator_token
from app.pagination import encode_cursor
from app.users.models import Role
from tests.conftest import PROJECT_ID

schema = schemathesis.pytest.from_fixture("api_schema")
# OPENAPI_PATHS=^/v1/opendata: only these operations (pytest's -k cannot select them: they
# are generated inside the one test).
if os.environ.get("OPENAPI_PATHS"):
    schema = schema.include(path_regex=os.environ["OPENAPI_PATHS"])

# A schema-valid cursor is one we issued: `next_cursor` of a page. Anything else is a client
# error (400 invalid_cursor), which tests/users/test_views.py covers.
schemathesis.openapi.format(
    "cursor", st.lists(st.text(max_size=20), min_size=1, max_size=1).map(encode_cursor)
)


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


# A valid token whose uid holds what no database text can (Firebase issues neither).
UNSTORABLE_UIDS = {"uid with NUL": "a\u0000b", "uid with a lone surrogate": "a\ud800b"}
# Appended to every string of a valid body: the characters PostgreSQL text or UTF-8 refuse.
HOSTILE_TEXT = ("\ud800", "\u0000")
DEEP = 1000


@pytest.fixture
def callers(token_for):
    headers = {"no token": {}}
    for role in Role:
        headers[role.value] = {"Authorization": f"Bearer {token_for(role)}"}
    for name, uid in UNSTORABLE_UIDS.items():
        headers[name] = {"Authorization": f"Bearer {mint_emulator_token(PROJECT_ID, uid)}"}
    return headers


def _with_text(value, suffix: str):
    """``value`` with ``suffix`` appended to every string in it, keys included."""
    if isinstance(value, str):
        return value + suffix
    if isinstance(value, dict):
        return {_with_text(k, suffix): _with_text(v, suffix) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_text(item, suffix) for item in value]
    return value


def hostile_bodies(case) -> list[bytes]:
    """The case's valid JSON body in the shapes that must be refused with a 4xx."""
    if not isinstance(case.body, dict | list) or "json" not in (case.media_type or ""):
        return []
    # json.dumps escapes a lone surrogate as \ud800, as a hostile client would send it.
    shapes = [json.dumps(_with_text(case.body, text)) for text in HOSTILE_TEXT]
    shapes.append("[" * DEEP + json.dumps(case.body) + "]" * DEEP)
    return [shape.encode() for shape in shapes if shape != json.dumps(case.body)]


# Thousands of requests: more advisory and row locks than one transaction may hold (they are
# released at its end only), so this test commits for real (see tests/conftest.py).
@pytest.mark.processes
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    # Same examples on every run, so CI is reproducible; set HYPOTHESIS_EXPLORE=1 to explore.
    derandomize=not os.environ.get("HYPOTHESIS_EXPLORE"),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_every_operation_conforms_for_every_caller(case, callers):
    if case.meta and case.meta.is_negative_at(ParameterLocation.HEADER):
        # schemathesis broke the Authorization header on purpose: send it as generated.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])
        return
    positive = not (case.meta and case.meta.generation.mode.is_negative)
    for headers in callers.values():
        response = case.call_and_validate(
            headers=headers, excluded_checks=[positive_data_acceptance]
        )
        if positive and response.status_code not in (401, 403):
            # This caller's body is read: send it again as a hostile client would.
            for body in hostile_bodies(case):
                hostile = case.call_and_validate(
                    headers=headers, data=body, excluded_checks=[positive_data_acceptance]
                )
                assert 400 <= hostile.status_code < 500, (hostile.status_code, body[:200])
        if positive and response.status_code in (400, 422):
            # A schema-valid request may break a business rule (an unknown desk, a crew
            # member without a crew), never the request schema itself: the OpenAPI document
            # must describe exactly what the API accepts.
            assert response.json()["code"] not in {"validation_failed", "malformed_json"}, (
                response.text
            )
