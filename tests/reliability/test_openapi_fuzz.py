"""schemathesis against the service's own OpenAPI schema (/api/schema/), in process.

Requests go through the real WSGI application with a valid admin token, so parameter
parsing, access rules and the selector all run; every answer must be no 5xx, declared in
the schema, and shaped as the schema says.
"""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from asteragents.wsgi import application
from tests.clerk import make_token
from tests.reliability import worlds

pytestmark = pytest.mark.django_db

SCHEMA_PATH = "/api/schema/"
OPERATION = ("/api/dashboard/getStats", "GET")
RESPONSE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def in_process(settings):
    """The WSGI app called in this thread, inside the test's transaction.

    Django's test client does the same: a request must not close the connection that
    holds the test's transaction (close_old_connections on request start and end).
    """
    settings.ALLOWED_HOSTS = ["localhost"]  # the host schemathesis's WSGI client sends
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def operation(in_process, clerk_key):
    schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, application)
    return schema[OPERATION[0]][OPERATION[1]]


@pytest.fixture
def activity():
    """Some activity for the admin's organization, so that 200 answers count something."""
    home = worlds.OrgData(
        org=worlds.HOME,
        tag="home",
        members={"user_1": ("org:admin", {"dept": "sales", "tags": ["beta"]})},
        chats=(
            worlds.ChatData(
                owner="user_1",
                agent=1,
                messages=(worlds.MessageData(worlds.TIMES[3], 5, 6, 11, 1, ()),),
            ),
        ),
        files=(worlds.FileData(0, worlds.TIMES[3], 7, 8),),
    )
    worlds.build(home)
    worlds.refresh_rollups()


def admin_headers() -> dict:
    token = make_token(user_id="user_1", org_id=worlds.HOME, role="org:admin", lifetime=600)
    return {"Authorization": f"Bearer {token}"}


# The schema declares from/to as plain strings (see test_parameter_types_follow_the_contract),
# so schemathesis alone would send almost no valid range and never reach the selector: the
# positive test draws them here, anywhere from year 1 to 9999, with and without offsets.
OFFSETS = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
instants = st.one_of(
    st.dates().map(date.isoformat),
    st.datetimes(timezones=st.sampled_from(OFFSETS)).map(datetime.isoformat),
    st.datetimes().map(datetime.isoformat),  # naive: UTC
    st.sampled_from(["2024-03-01", "2024-03-01T00:00:00Z", "2024-03-01T23:59:59.999999999Z"]),
)
# Likewise allInOrg and agentId, declared as strings: valid values half of the time.
valid_extras = st.fixed_dictionaries(
    {},
    optional={
        "allInOrg": st.sampled_from(["true", "false", "TRUE", "1", "0"]),
        "agentId": st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([1, 2, 11])).map(str),
    },
)

FUZZ_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def call_and_check(case, checks) -> int:
    """Call with the admin token (never a generated Authorization) and run the checks."""
    cache.clear()  # the throttle must not answer for the endpoint
    headers = admin_headers()
    case.headers = {**(case.headers or {}), **headers}
    response = case.call()
    case.validate_response(response, checks=checks, headers=headers)
    return response.status_code


@FUZZ_SETTINGS
@given(start=instants, end=instants, extras=valid_extras, data=st.data())
def test_valid_requests_get_declared_well_formed_answers(
    operation, activity, start, end, extras, data
):
    fixed = {"from": start, "to": end, **extras}
    case = data.draw(operation.as_strategy(GenerationMode.POSITIVE, query=fixed))
    status = call_and_check(case, RESPONSE_CHECKS)
    event(f"status {status}")


@FUZZ_SETTINGS
@given(data=st.data())
def test_invalid_requests_are_rejected_with_declared_errors(operation, activity, data):
    case = data.draw(operation.as_strategy(GenerationMode.NEGATIVE))
    status = call_and_check(case, [*RESPONSE_CHECKS, negative_data_rejection])
    event(f"status {status}")


def test_parameter_types_follow_the_contract():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in schema["paths"][OPERATION[0]][OPERATION[1].lower()]["parameters"]
    }

    def types(declared):
        return {declared.get("type")} | {alt.get("type") for alt in declared.get("anyOf", [])}

    # An empty value is also admitted: STATS.md counts it as left out.
    assert "integer" in types(parameters["agentId"])
    assert "boolean" in types(parameters["allInOrg"])
    for bound in ("from", "to"):
        # A date or a date-time (STATS.md), so a format, not any string.
        declared = parameters[bound]
        formats = {declared.get("format")} | {
            alternative.get("format")
            for alternative in declared.get("oneOf", []) + declared.get("anyOf", [])
        }
        assert formats & {"date-time", "date"}, declared
