"""Freshness and HTTP caching: generatedAt / dataThrough, ETag, If-None-Match -> 304,
Cache-Control: private with a short max-age."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.contract.activity import conversation, message, org_with_members
from tests.dashboard.conftest import FIELDS, assert_error, assert_report, parse_z

pytestmark = pytest.mark.django_db

ORG, ANN, BOB, AGENT = "org_dash_cache", "user_cache_ann", "user_cache_bob", 41
RANGE = {"from": "2024-07-01", "to": "2024-07-31", "allInOrg": "true"}


@pytest.fixture
def org_data(load):
    records = org_with_members(ORG, {ANN: {"role": "org:admin"}, BOB: {}}, agents=[AGENT])
    records += [
        conversation("conv-cache", ORG, ANN, AGENT, "2024-07-01T00:00:00Z"),
        message("m-cache-1", "conv-cache", "2024-07-02T00:00:00Z", usage={"inputTokens": 5}),
    ]
    load(records)


@pytest.fixture
def ann(org_data, bearer):
    return bearer(user_id=ANN, org_id=ORG, role="org:admin")


@pytest.fixture
def bob(org_data, bearer):
    return bearer(user_id=BOB, org_id=ORG, role="org:member")


OPTIONS = [
    {"tz": "UTC"},
    {"tz": "Europe/Berlin"},
    {"interval": "day"},
    {"groupBy": "agent"},
    {"groupBy": "metadata", "groupKey": "k"},
    {"compare": "previous"},
    {"tz": "Asia/Kolkata", "interval": "week", "groupBy": "user", "compare": "previous"},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "&".join(o))
def test_generated_at_and_data_through_with_any_option(ann, get_stats, options):
    before = timezone.now()
    response = get_stats(ann, {**RANGE, **options})
    after = timezone.now()
    body = assert_report(response, {**RANGE, **options})
    generated = parse_z(body["generatedAt"])
    through = parse_z(body["dataThrough"])
    assert before - timedelta(seconds=1) <= generated <= after + timedelta(seconds=1)
    # The read snapshot's instant: taken for this request, and not after the answer.
    # (A database clock may be the transaction's start, so allow a margin before.)
    assert before - timedelta(minutes=5) <= through <= after + timedelta(seconds=1)
    assert response["X-Generated-At"] == body["generatedAt"]
    assert response["X-Data-Through"] == body["dataThrough"]


@pytest.mark.django_db(transaction=True)
def test_data_through_is_not_before_the_last_commit(ann, load, report):
    """Everything committed before the request is reflected, so dataThrough is not earlier
    than the commit of the last import (real commits here, not one test transaction)."""
    load([message("m-cache-2", "conv-cache", "2024-07-03T00:00:00Z", usage={"inputTokens": 7})])
    committed = timezone.now()
    body = report(ann, {**RANGE, "tz": "UTC"})
    assert (body["messageCount"], body["inputTokens"]) == (2, 12)
    assert committed <= parse_z(body["dataThrough"]) <= timezone.now()


def test_plain_answer_has_no_freshness_fields(ann, get_stats):
    response = get_stats(ann, RANGE)
    body = json.loads(response.content)
    assert set(body) == set(FIELDS)


@pytest.mark.parametrize("options", [{}, *OPTIONS], ids=lambda o: "&".join(o) or "plain")
def test_etag_and_cache_control_on_every_200(ann, get_stats, options):
    response = get_stats(ann, {**RANGE, **options})
    assert response.status_code == 200
    # A strong tag (no W/ prefix), quoted. Its hex sha256 form: test_open_defects.py.
    assert re.fullmatch(r'"[^"]+"', response["ETag"]), response["ETag"]
    assert_cache_control(response)


def assert_cache_control(response):
    directives = [d.strip().lower() for d in response["Cache-Control"].split(",")]
    assert "private" in directives, directives
    assert "public" not in directives, directives
    max_age = [int(d.split("=", 1)[1]) for d in directives if d.startswith("max-age=")]
    # "a short max-age": present, positive, at most five minutes.
    assert len(max_age) == 1 and 0 < max_age[0] <= 300, directives
    vary = {v.strip().lower() for v in response.get("Vary", "").split(",")}
    assert "authorization" in vary, response.get("Vary")


@pytest.mark.parametrize("options", [{}, {"interval": "day", "compare": "previous"}])
def test_etag_is_stable_for_the_same_answer(ann, get_stats, options):
    # generatedAt differs between the two answers; the tag leaves it out.
    first = get_stats(ann, {**RANGE, **options})
    second = get_stats(ann, {**RANGE, **options})
    assert first["ETag"] == second["ETag"]


@pytest.mark.parametrize("options", [{}, {"interval": "day", "groupBy": "user"}])
def test_matching_if_none_match_is_304_with_empty_body(ann, get_stats, client, options):
    from urllib.parse import urlencode

    first = get_stats(ann, {**RANGE, **options})
    tag = first["ETag"]
    url = f"/api/dashboard/getStats?{urlencode({**RANGE, **options})}"
    for header in (tag, f"W/{tag}", "*", f'"{"0" * 64}", {tag}'):
        response = client.get(url, HTTP_IF_NONE_MATCH=header, **ann)
        assert response.status_code == 304, (header, response.status_code, response.content)
        assert response.content == b""
        assert response["ETag"] == tag
        assert_cache_control(response)


def test_other_tag_is_200(ann, client):
    url = "/api/dashboard/getStats?from=2024-07-01&to=2024-07-31&allInOrg=true"
    response = client.get(url, HTTP_IF_NONE_MATCH=f'"{"0" * 64}"', **ann)
    assert response.status_code == 200
    assert json.loads(response.content)["messageCount"] == 1


def test_tag_changes_after_new_data(ann, client, load):
    url = "/api/dashboard/getStats?from=2024-07-01&to=2024-07-31&allInOrg=true&interval=month"
    old = client.get(url, **ann)
    load([message("m-cache-3", "conv-cache", "2024-07-04T00:00:00Z", usage={"inputTokens": 9})])
    new = client.get(url, HTTP_IF_NONE_MATCH=old["ETag"], **ann)
    assert new.status_code == 200
    assert new["ETag"] != old["ETag"]
    body = json.loads(new.content)
    assert (body["messageCount"], body["inputTokens"]) == (2, 14)
    assert body["series"][0]["messageCount"] == 2


def test_different_answers_have_different_tags(ann, bob, get_stats):
    # Ann's organization-wide answer has her message; Bob's own answer is all zeros.
    assert (
        get_stats(ann, RANGE)["ETag"]
        != get_stats(bob, {"from": "2024-07-01", "to": "2024-07-31"})["ETag"]
    )


def test_if_none_match_does_not_bypass_the_token(org_data, client):
    url = "/api/dashboard/getStats?from=2024-07-01&to=2024-07-31"
    response = client.get(url, HTTP_IF_NONE_MATCH="*")
    assert_error(response, 401)


def test_if_none_match_does_not_bypass_the_role(bob, client):
    url = "/api/dashboard/getStats?from=2024-07-01&to=2024-07-31&allInOrg=true"
    assert_error(client.get(url, HTTP_IF_NONE_MATCH="*", **bob), 403)


def test_if_none_match_does_not_hide_a_bad_parameter(ann, client):
    url = "/api/dashboard/getStats?from=2024-07-01&to=2024-07-31&interval=fortnight"
    assert_error(client.get(url, HTTP_IF_NONE_MATCH="*", **ann), 400, parameter="interval")
