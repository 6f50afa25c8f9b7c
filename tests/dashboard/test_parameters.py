"""The new parameters under the contract's rules: given twice is a 400, an empty value is
left out, and the check order 401, 403 (no organization), 400, 403 (role) still holds."""

import json

import pytest

from tests.contract.activity import conversation, message, org_with_members
from tests.dashboard.conftest import FIELDS, assert_error

pytestmark = pytest.mark.django_db

ORG, ANN, BOB, AGENT = "org_dash_params", "user_dp_ann", "user_dp_bob", 51
RANGE = {"from": "2024-08-01", "to": "2024-08-31"}


@pytest.fixture
def org_data(load):
    members = {ANN: {"role": "org:admin", "metadata": {"k": "v"}}, BOB: {}}
    records = org_with_members(ORG, members, agents=[AGENT])
    records += [
        conversation("conv-dp", ORG, ANN, AGENT, "2024-08-01T00:00:00Z"),
        message("m-dp", "conv-dp", "2024-08-02T00:00:00Z", usage={"inputTokens": 3}),
    ]
    load(records)


@pytest.fixture
def ann(org_data, bearer):
    return bearer(user_id=ANN, org_id=ORG, role="org:admin")


@pytest.fixture
def bob(org_data, bearer):
    return bearer(user_id=BOB, org_id=ORG, role="org:member")


# --- given twice -----------------------------------------------------------------------------

TWICE = {
    # name: (first, second, other parameters that make the first value valid alone)
    "tz": ("UTC", "Europe/Berlin", {}),
    "interval": ("day", "week", {}),
    "groupBy": ("agent", "user", {}),
    "groupKey": ("k", "j", {"groupBy": "metadata"}),
    "limit": ("5", "6", {"groupBy": "user"}),
    "compare": ("previous", "previous", {}),
}


@pytest.mark.parametrize("name", list(TWICE))
@pytest.mark.parametrize("same_value", [False, True], ids=["different", "same"])
def test_new_parameter_given_twice_is_400(ann, get_stats, name, same_value):
    first, second, context = TWICE[name]
    pairs = [
        *RANGE.items(),
        *context.items(),
        (name, first),
        (name, first if same_value else second),
    ]
    body = assert_error(get_stats(ann, pairs), 400, parameter=name)
    assert body["code"] == "duplicate_parameter", body


# --- an empty value is the parameter left out --------------------------------------------------


@pytest.mark.parametrize("name", ["tz", "interval", "groupBy", "compare", "limit", "groupKey"])
def test_empty_new_parameter_is_left_out(ann, report, name):
    # report() checks the exact keys: nothing beyond the 16 fields.
    body = report(ann, {**RANGE, name: ""})
    assert (body["messageCount"], body["inputTokens"]) == (1, 3)


def test_empty_tz_is_utc(ann, report):
    body = report(ann, {**RANGE, "tz": "", "interval": "month"})
    assert [(b["start"], b["end"]) for b in body["series"]] == [
        ("2024-08-01T00:00:00+00:00", "2024-09-01T00:00:00+00:00")
    ]


def test_empty_group_by_with_group_key_is_400(ann, get_stats):
    response = get_stats(ann, {**RANGE, "groupBy": "", "groupKey": "k"})
    body = assert_error(response, 400, parameter="groupKey")
    assert body["code"] == "invalid_parameter"


def test_empty_limit_is_the_default(ann, report):
    body = report(ann, {**RANGE, "groupBy": "user", "limit": ""})
    assert [r["key"] for r in body["breakdown"]["rows"]] == [ANN]


# --- check order -------------------------------------------------------------------------------

BAD_NEW = [
    {"interval": "fortnight"},
    {"tz": "Mars/Olympus_Mons"},
    {"groupBy": "team"},
    {"groupBy": "metadata"},
    {"groupKey": "k"},
    {"limit": "0"},
    {"limit": "101"},
    {"compare": "last-year"},
    {"interval": "hour", "from": "2000-01-01", "to": "2024-12-31"},
    [("tz", "UTC"), ("tz", "UTC")],
]


def params_with(bad) -> list[tuple[str, str]]:
    items = list(bad.items()) if isinstance(bad, dict) else list(bad)
    names = {n for n, _ in items}
    return [*((k, v) for k, v in RANGE.items() if k not in names), *items]


@pytest.mark.parametrize("bad", BAD_NEW, ids=str)
def test_no_token_is_401_before_new_parameters(org_data, get_stats, bad):
    assert_error(get_stats(None, params_with(bad)), 401)


@pytest.mark.parametrize("bad", BAD_NEW, ids=str)
def test_no_organization_is_403_before_new_parameters(org_data, bearer, get_stats, bad):
    assert_error(get_stats(bearer(user_id=ANN, org_id=None), params_with(bad)), 403)


@pytest.mark.parametrize("bad", BAD_NEW, ids=str)
def test_member_all_in_org_with_bad_new_parameter_is_400_not_403(bob, get_stats, bad):
    response = get_stats(bob, [*params_with(bad), ("allInOrg", "true")])
    assert_error(response, 400)


@pytest.mark.parametrize("bad", BAD_NEW, ids=str)
def test_member_other_user_with_bad_new_parameter_is_400_not_403(bob, get_stats, bad):
    response = get_stats(bob, [*params_with(bad), ("userId", ANN)])
    assert_error(response, 400)


@pytest.mark.parametrize(
    "good",
    [
        {"interval": "day"},
        {"tz": "Europe/Berlin"},
        {"groupBy": "user"},
        {"groupBy": "metadata", "groupKey": "k"},
        {"compare": "previous"},
        {"limit": "5"},
    ],
    ids=str,
)
def test_member_all_in_org_with_good_new_parameters_is_403(bob, get_stats, good):
    assert_error(get_stats(bob, {**RANGE, **good, "allInOrg": "true"}), 403)


def test_plain_member_answer_is_unchanged(bob, get_stats):
    response = get_stats(bob, RANGE)
    assert response.status_code == 200
    assert json.loads(response.content) == dict.fromkeys(FIELDS, 0)
