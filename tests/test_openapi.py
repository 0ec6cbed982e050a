"""schemathesis over every operation of the OpenAPI document, as each kind of caller.

Fails on any server error, undocumented status code or content type, or response that does
not match its schema.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.pagination import encode_cursor
from app.users.models import Role

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


@pytest.fixture
def callers(token_for):
    headers = {"no token": {}}
    for role in Role:
        headers[role.value] = {"Authorization": f"Bearer {token_for(role)}"}
    return headers


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
    for headers in callers.values():
        response = case.call_and_validate(
            headers=headers, excluded_checks=[positive_data_acceptance]
        )
        if (
            case.meta
            and not case.meta.generation.mode.is_negative
            and response.status_code in (400, 422)
        ):
            # A schema-valid request may break a business rule (an unknown desk, a crew
            # member without a crew), never the request schema itself: the OpenAPI document
            # must describe exactly what the API accepts.
            assert response.json()["code"] not in {"validation_failed", "malformed_json"}, (
                response.text
            )
