"""compare=previous: the period of the same absolute length just before `from`, the delta
and the percent change of all 16 fields.

Current [2024-06-10T00:00:00Z, 2024-06-19T23:59:59.999999Z] (10 days); previous
[2024-05-31T00:00:00Z, 2024-06-09T23:59:59.999999Z]:

| record | instant                      | period   | figures                             |
|--------|------------------------------|----------|-------------------------------------|
| m-out1 | 2024-05-30T23:59:59.999999Z  | neither  | in 1000                             |
| mA     | 2024-05-31T00:00:00Z         | previous | conv X (ann), in 16, out 1, tools 3 |
| mB     | 2024-06-09T23:59:59.999999Z  | previous | conv X, in 16, out 2                |
| mC     | 2024-06-10T00:00:00Z         | current  | conv X, in 17, out 2, tools 2       |
| mD     | 2024-06-19T23:59:59.999999Z  | current  | conv Y (bob), in 16, out 3          |
| m-out2 | 2024-06-20T00:00:00Z         | neither  | in 5000                             |
| fP     | 2024-06-09T23:59:59.999999Z  | previous | not helpful                         |
| fC     | 2024-06-10T00:00:00Z         | current  | helpful                             |
| fO     | 2024-05-30T23:59:59.999999Z  | neither  | helpful                             |
| kP     | 2024-06-09T23:59:59.999999Z  | previous | extraction in 32                    |
| kC     | 2024-06-10T00:00:00Z         | current  | extraction in 31                    |
| kO     | 2024-06-20T00:00:00Z         | neither  | extraction in 7                     |
"""

import pytest

from tests.contract.activity import (
    conversation,
    feedback,
    knowledge_base,
    knowledge_base_file,
    message,
    org_with_members,
)
from tests.dashboard.conftest import FIELDS, ZERO, assert_error, figures

pytestmark = pytest.mark.django_db

ORG, ANN, BOB, AGENT = "org_dash_cmp", "user_cmp_ann", "user_cmp_bob", 21


def tools(n: int) -> list[dict]:
    return [{"toolCallId": f"t{i}", "toolName": "x", "state": "result"} for i in range(n)]


@pytest.fixture
def org_data(load):
    records = org_with_members(ORG, {ANN: {"role": "org:admin"}, BOB: {}}, agents=[AGENT])
    records += [
        conversation("X", ORG, ANN, AGENT, "2024-05-01T00:00:00Z"),
        conversation("Y", ORG, BOB, AGENT, "2024-05-01T00:00:00Z"),
    ]
    msgs = [
        ("m-out1", "X", "2024-05-30T23:59:59.999999Z", 1000, 0, 0),
        ("mA", "X", "2024-05-31T00:00:00Z", 16, 1, 3),
        ("mB", "X", "2024-06-09T23:59:59.999999Z", 16, 2, 0),
        ("mC", "X", "2024-06-10T00:00:00Z", 17, 2, 2),
        ("mD", "Y", "2024-06-19T23:59:59.999999Z", 16, 3, 0),
        ("m-out2", "Y", "2024-06-20T00:00:00Z", 5000, 0, 0),
    ]
    for mid, conv, at, inp, out, n in msgs:
        usage = {"inputTokens": inp, "outputTokens": out}
        records.append(message(mid, conv, at, usage=usage, toolInvocations=tools(n)))
    records += [
        feedback("fP", "mA", ANN, helpful=False, created_at="2024-06-09T23:59:59.999999Z"),
        feedback("fC", "mA", ANN, helpful=True, created_at="2024-06-10T00:00:00Z"),
        feedback("fO", "mA", ANN, helpful=True, created_at="2024-05-30T23:59:59.999999Z"),
        knowledge_base("kb-cmp", ORG),
    ]
    for fid, at, inp in [
        ("kP", "2024-06-09T23:59:59.999999Z", 32),
        ("kC", "2024-06-10T00:00:00Z", 31),
        ("kO", "2024-06-20T00:00:00Z", 7),
    ]:
        extraction = {"inputTokens": inp, "outputTokens": 0}
        records.append(knowledge_base_file(fid, "kb-cmp", processed_at=at, extraction=extraction))
    load(records)


@pytest.fixture
def ann(org_data, bearer):
    return bearer(user_id=ANN, org_id=ORG, role="org:admin")


@pytest.fixture
def bob(org_data, bearer):
    return bearer(user_id=BOB, org_id=ORG, role="org:member")


CURRENT = figures(
    conversationCount=2,
    messageCount=2,
    toolCalls=2,
    totalTokens=38,
    inputTokens=33,
    outputTokens=5,
    uniqueUsers=2,
    uniqueAgents=1,
    totalFeedback=1,
    totalHelpful=1,
    kbFileCount=1,
    kbCount=1,
    kbExtractTotalTokens=31,
    kbExtractInputTokens=31,
)
PREVIOUS = figures(
    conversationCount=1,
    messageCount=2,
    toolCalls=3,
    totalTokens=35,
    inputTokens=32,
    outputTokens=3,
    uniqueUsers=1,
    uniqueAgents=1,
    totalFeedback=1,
    totalNotHelpful=1,
    kbFileCount=1,
    kbCount=1,
    kbExtractTotalTokens=32,
    kbExtractInputTokens=32,
)
CHANGE = {
    "conversationCount": {"delta": 1, "percent": 100.0},
    "messageCount": {"delta": 0, "percent": 0.0},
    "toolCalls": {"delta": -1, "percent": -33.33},  # -33.333...
    "totalTokens": {"delta": 3, "percent": 8.57},  # 8.5714...
    "inputTokens": {"delta": 1, "percent": 3.13},  # 3.125: half-up, not half-even
    "outputTokens": {"delta": 2, "percent": 66.67},  # 66.666...
    "uniqueUsers": {"delta": 1, "percent": 100.0},
    "uniqueAgents": {"delta": 0, "percent": 0.0},
    "totalFeedback": {"delta": 0, "percent": 0.0},
    "totalHelpful": {"delta": 1, "percent": None},  # previous 0
    "totalNotHelpful": {"delta": -1, "percent": -100.0},
    "kbFileCount": {"delta": 0, "percent": 0.0},
    "kbCount": {"delta": 0, "percent": 0.0},
    "kbExtractOutputTokens": {"delta": 0, "percent": None},  # 0 -> 0
}
# -3.125 rounded half-up away from zero (decimal.ROUND_HALF_UP); the decided API says
# "half-up" without naming the direction for negatives, see the report.
NEGATIVE_TIE = {
    "kbExtractTotalTokens": {"delta": -1, "percent": -3.13},
    "kbExtractInputTokens": {"delta": -1, "percent": -3.13},
}
assert set(CHANGE) | set(NEGATIVE_TIE) == set(FIELDS)


@pytest.mark.parametrize(
    "bounds",
    [
        {"from": "2024-06-10T00:00:00Z", "to": "2024-06-19T23:59:59.999999Z"},
        {"from": "2024-06-10", "to": "2024-06-19"},
        {"from": "2024-06-10T02:00:00+02:00", "to": "2024-06-19T23:59:59.999999"},
    ],
    ids=["instants", "dates", "offset-and-naive"],
)
def test_previous_period_delta_and_percent(ann, report, bounds):
    body = report(ann, {**bounds, "allInOrg": "true", "compare": "previous"})
    assert {f: body[f] for f in FIELDS} == CURRENT
    assert body["previous"] == PREVIOUS
    assert {f: body["change"][f] for f in CHANGE} == CHANGE


def test_negative_half_way_percent_rounds_away_from_zero(ann, report):
    params = {"from": "2024-06-10", "to": "2024-06-19", "allInOrg": "true", "compare": "previous"}
    body = report(ann, params)
    assert {f: body["change"][f] for f in NEGATIVE_TIE} == NEGATIVE_TIE


def test_delta_is_current_minus_previous_for_every_field(ann, report):
    params = {"from": "2024-06-10", "to": "2024-06-19", "allInOrg": "true", "compare": "previous"}
    body = report(ann, params)
    for field in FIELDS:
        assert body["change"][field]["delta"] == CURRENT[field] - PREVIOUS[field], field


def test_one_microsecond_range_compares_with_the_microsecond_before(ann, report):
    params = {
        "from": "2024-06-10T00:00:00Z",
        "to": "2024-06-10T00:00:00Z",
        "allInOrg": "true",
        "compare": "previous",
    }
    body = report(ann, params)
    # Current: mC, fC, kC. Previous (09T23:59:59.999999Z alone): mB, fP, kP.
    assert {f: body[f] for f in FIELDS} == figures(
        conversationCount=1,
        messageCount=1,
        toolCalls=2,
        totalTokens=19,
        inputTokens=17,
        outputTokens=2,
        uniqueUsers=1,
        uniqueAgents=1,
        totalFeedback=1,
        totalHelpful=1,
        kbFileCount=1,
        kbCount=1,
        kbExtractTotalTokens=31,
        kbExtractInputTokens=31,
    )
    assert body["previous"] == figures(
        conversationCount=1,
        messageCount=1,
        totalTokens=18,
        inputTokens=16,
        outputTokens=2,
        uniqueUsers=1,
        uniqueAgents=1,
        totalFeedback=1,
        totalNotHelpful=1,
        kbFileCount=1,
        kbCount=1,
        kbExtractTotalTokens=32,
        kbExtractInputTokens=32,
    )
    assert body["change"]["toolCalls"] == {"delta": 2, "percent": None}
    assert body["change"]["inputTokens"] == {"delta": 1, "percent": 6.25}


def test_member_compares_only_their_own_data(bob, report):
    body = report(bob, {"from": "2024-06-10", "to": "2024-06-19", "compare": "previous"})
    # Bob's mD now, nothing of his before; the KB figures are organization-wide.
    assert {f: body[f] for f in FIELDS} == figures(
        conversationCount=1,
        messageCount=1,
        totalTokens=19,
        inputTokens=16,
        outputTokens=3,
        uniqueUsers=1,
        uniqueAgents=1,
        kbFileCount=1,
        kbCount=1,
        kbExtractTotalTokens=31,
        kbExtractInputTokens=31,
    )
    assert body["previous"] == figures(
        kbFileCount=1, kbCount=1, kbExtractTotalTokens=32, kbExtractInputTokens=32
    )
    assert body["change"]["messageCount"] == {"delta": 1, "percent": None}
    assert body["change"]["kbExtractInputTokens"]["delta"] == -1


def test_previous_is_absolute_length_not_local_calendar(load, bearer, report):
    """Berlin 2024-04-01..2024-04-10 is [03-31T22:00Z, 04-10T21:59:59.999999Z], 240 hours;
    the previous period is [03-21T22:00Z, 03-31T21:59:59.999999Z], which starts at local
    03-21 23:00+01:00 (the local days 03-22..03-31 would start an hour later)."""
    records = org_with_members("org_dash_cmp_tz", {"user_cmp_tz": {"role": "org:admin"}}, [22])
    records.append(conversation("Z", "org_dash_cmp_tz", "user_cmp_tz", 22, "2024-01-01T00:00:00Z"))
    for n, at in enumerate(
        [
            "2024-03-21T21:59:59.999999Z",  # 1: neither
            "2024-03-21T22:00:00Z",  # 2: previous
            "2024-03-21T22:59:59.999999Z",  # 4: previous
            "2024-03-31T21:59:59.999999Z",  # 8: previous
            "2024-03-31T22:00:00Z",  # 16: current
            "2024-04-10T21:59:59.999999Z",  # 32: current
            "2024-04-10T22:00:00Z",  # 64: neither
        ]
    ):
        records.append(message(f"mz{n}", "Z", at, usage={"inputTokens": 2**n}))
    load(records)
    auth = bearer(user_id="user_cmp_tz", org_id="org_dash_cmp_tz", role="org:admin")
    params = {
        "tz": "Europe/Berlin",
        "from": "2024-04-01",
        "to": "2024-04-10",
        "compare": "previous",
    }
    body = report(auth, params)
    assert (body["messageCount"], body["inputTokens"]) == (2, 48)
    assert (body["previous"]["messageCount"], body["previous"]["inputTokens"]) == (3, 14)
    assert body["change"]["inputTokens"] == {"delta": 34, "percent": 242.86}  # 242.857...


def test_empty_previous_gives_null_percent_everywhere_it_is_zero(ann, report):
    params = {"from": "2024-05-01", "to": "2024-05-01", "allInOrg": "true", "compare": "previous"}
    body = report(ann, params)
    assert {f: body[f] for f in FIELDS} == ZERO
    assert body["previous"] == ZERO
    assert body["change"] == {f: {"delta": 0, "percent": None} for f in FIELDS}


@pytest.mark.parametrize("bad", ["Previous", "prev", "true", "1", "year", "previous "])
def test_unknown_compare_is_400(ann, get_stats, bad):
    params = {"from": "2024-06-10", "to": "2024-06-19", "compare": bad}
    body = assert_error(get_stats(ann, params), 400)
    assert (body["code"], body.get("parameter")) == ("invalid_parameter", "compare"), body
