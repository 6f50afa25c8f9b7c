"""Query parameters: required bounds, types, booleans, repeats, empty values, check order."""

import pytest

from tests.contract.activity import conversation, message, org_with_members
from tests.contract.conftest import STATS_PATH, assert_error, figures

pytestmark = pytest.mark.django_db

ORG, ANN, BOB, AGENT = "org_params", "user_params_ann", "user_params_bob", 601
RANGE = {"from": "2024-04-01", "to": "2024-04-30"}


@pytest.fixture
def org_data(load):
    """Ann (admin) has one message with 10 input tokens, Bob (member) one with 100."""
    members = {ANN: {"role": "org:admin"}, BOB: {"role": "org:member", "metadata": {"k": "v"}}}
    records = org_with_members(ORG, members, agents=[AGENT])
    records += [
        conversation("conv-p-ann", ORG, ANN, AGENT, "2024-04-02T00:00:00Z"),
        message("m-p-ann", "conv-p-ann", "2024-04-02T00:00:00Z", usage={"inputTokens": 10}),
        conversation("conv-p-bob", ORG, BOB, AGENT, "2024-04-03T00:00:00Z"),
        message("m-p-bob", "conv-p-bob", "2024-04-03T00:00:00Z", usage={"inputTokens": 100}),
    ]
    load(records)


@pytest.fixture
def ann(org_data, bearer):
    return bearer(user_id=ANN, org_id=ORG, role="org:admin")


@pytest.fixture
def bob(org_data, bearer):
    return bearer(user_id=BOB, org_id=ORG, role="org:member")


def one_user(input_tokens: int) -> dict:
    return figures(
        conversationCount=1,
        messageCount=1,
        inputTokens=input_tokens,
        totalTokens=input_tokens,
        uniqueUsers=1,
        uniqueAgents=1,
    )


BOTH_USERS = figures(
    conversationCount=2,
    messageCount=2,
    inputTokens=110,
    totalTokens=110,
    uniqueUsers=2,
    uniqueAgents=1,
)


# --- from / to ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "blamed"),
    [
        ({"to": "2024-04-30"}, "from"),
        ({"from": "2024-04-01"}, "to"),
        ({}, ("from", "to")),
        ({"from": "", "to": "2024-04-30"}, "from"),
        ({"from": "2024-04-01", "to": ""}, "to"),
        ({"from": "", "to": ""}, ("from", "to")),
    ],
)
def test_missing_or_empty_bound_is_400(ann, get_stats, params, blamed):
    assert_error(get_stats(ann, params), 400, parameter=blamed)


@pytest.mark.parametrize(
    "bad",
    [
        "yesterday",
        "2024-13-01",
        "2024-02-30",
        "2024-04-01T25:00:00Z",
        "2024-04-01T10:60:00Z",
        "2024-04-01T10:00:00+25:00",
        "2024-04-01T10:00:00ZZ",
        "1711929600",
        "undefined",
        "null",
        "2024-04-01T10:00:00Z garbage",
    ],
)
@pytest.mark.parametrize("name", ["from", "to"])
def test_unparseable_bound_is_400_naming_it(ann, get_stats, name, bad):
    params = {**RANGE, name: bad}
    assert_error(get_stats(ann, params), 400, parameter=name)


# --- agentId -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["seven", "7.5", "7x", "0x7", "1e3", "true", "7,8"])
def test_non_integer_agent_id_is_400(ann, get_stats, bad):
    assert_error(get_stats(ann, {**RANGE, "agentId": bad}), 400, parameter="agentId")


def test_integer_agent_id_filters(ann, stats):
    assert stats(ann, {**RANGE, "allInOrg": "true", "agentId": str(AGENT)}) == BOTH_USERS
    # A negative integer is still an integer: no such agent, so zeros.
    assert stats(ann, {**RANGE, "allInOrg": "true", "agentId": "-7"}) == figures()


def test_huge_agent_id_is_zeros_or_400_never_500(ann, get_stats):
    # An integer beyond any column's range names no agent; a 400 "out of range" is
    # also a fair answer, a 500 is not.
    response = get_stats(ann, {**RANGE, "allInOrg": "true", "agentId": "9" * 30})
    if response.status_code == 400:
        assert_error(response, 400, parameter="agentId")
    else:
        assert response.status_code == 200, response.content
        assert response.json() == figures()


# --- allInOrg ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "tRuE", "1"])
def test_true_spellings(ann, stats, value):
    assert stats(ann, {**RANGE, "allInOrg": value}) == BOTH_USERS


@pytest.mark.parametrize("value", ["false", "FALSE", "False", "0"])
def test_false_spellings(ann, stats, value):
    assert stats(ann, {**RANGE, "allInOrg": value}) == one_user(10)


@pytest.mark.parametrize("value", ["false", "False", "0"])
def test_member_may_say_all_in_org_false(bob, stats, value):
    assert stats(bob, {**RANGE, "allInOrg": value}) == one_user(100)


@pytest.mark.parametrize(
    "bad", ["yes", "maybe", "no", "on", "off", "2", "-1", "t", "truee", "null"]
)
def test_unknown_boolean_is_400(ann, get_stats, bad):
    assert_error(get_stats(ann, {**RANGE, "allInOrg": bad}), 400, parameter="allInOrg")


# --- a parameter given twice -------------------------------------------------------------

TWICE = {
    "from": ("2024-04-01", "2024-04-02"),
    "to": ("2024-04-30", "2024-04-29"),
    "allInOrg": ("true", "false"),
    "agentId": (str(AGENT), "602"),
    "userId": (ANN, BOB),
    "metadataKey": ("k", "j"),
    "metadataValue": ("v", "w"),
}


@pytest.mark.parametrize("name", list(TWICE))
@pytest.mark.parametrize("same_value", [False, True], ids=["different", "same"])
def test_parameter_given_twice_is_400(ann, get_stats, name, same_value):
    first, second = TWICE[name]
    pairs = [(k, v) for k, v in RANGE.items() if k != name]
    pairs += [(name, first), (name, first if same_value else second)]
    assert_error(get_stats(ann, pairs), 400, parameter=name)


def test_repeated_parameter_is_400_even_for_a_member_asking_all_in_org(bob, get_stats):
    pairs = [*RANGE.items(), ("allInOrg", "true"), ("allInOrg", "true")]
    assert_error(get_stats(bob, pairs), 400, parameter="allInOrg")


# --- an empty value is a parameter left out ----------------------------------------------


@pytest.mark.parametrize("name", ["agentId", "userId", "metadataKey", "metadataValue", "allInOrg"])
def test_empty_value_is_left_out_for_admin(ann, stats, name):
    # allInOrg= is the default false: Ann's own figures.
    assert stats(ann, {**RANGE, name: ""}) == one_user(10)


@pytest.mark.parametrize("name", ["agentId", "userId", "metadataKey", "metadataValue"])
def test_empty_value_is_left_out_all_in_org(ann, stats, name):
    assert stats(ann, {**RANGE, "allInOrg": "true", name: ""}) == BOTH_USERS


@pytest.mark.parametrize("name", ["agentId", "userId", "metadataKey", "metadataValue", "allInOrg"])
def test_empty_value_is_left_out_for_member(bob, stats, name):
    # userId= is not "another user's id" and allInOrg= is not true: no 403.
    assert stats(bob, {**RANGE, name: ""}) == one_user(100)


# --- the order of checks: token 401, organization 403, parameters 400, role 403 ----------

BAD_PARAMS = [
    {"to": "2024-04-30"},
    {**RANGE, "agentId": "seven"},
    {**RANGE, "allInOrg": "maybe"},
    {"from": "2024-04-30", "to": "2024-04-01"},
]


@pytest.mark.parametrize("params", BAD_PARAMS)
def test_no_token_is_401_before_parameters(org_data, get_stats, params):
    response = get_stats(None, params)
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("params", BAD_PARAMS)
def test_bad_token_is_401_before_parameters(org_data, get_stats, params):
    response = get_stats({"HTTP_AUTHORIZATION": "Bearer not.a.jwt"}, params)
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("params", BAD_PARAMS)
def test_no_organization_is_403_before_parameters(org_data, bearer, get_stats, params):
    auth = bearer(user_id=ANN, org_id=None)
    assert_error(get_stats(auth, params), 403)


@pytest.mark.parametrize("params", BAD_PARAMS)
def test_pending_session_is_403_before_parameters(org_data, raw_bearer, get_stats, params):
    from tests.clerk import session_claims

    auth = raw_bearer(session_claims(user_id=ANN, org_id=ORG, role="org:admin", sts="pending"))
    assert_error(get_stats(auth, params), 403)


def test_member_all_in_org_with_bad_agent_id_is_400_not_403(bob, get_stats):
    response = get_stats(bob, {**RANGE, "allInOrg": "true", "agentId": "seven"})
    assert_error(response, 400, parameter="agentId")


def test_member_other_user_id_with_missing_from_is_400_not_403(bob, get_stats):
    response = get_stats(bob, {"to": "2024-04-30", "userId": ANN})
    assert_error(response, 400, parameter="from")


def test_member_all_in_org_with_reversed_range_is_400_not_403(bob, get_stats):
    response = get_stats(bob, {"from": "2024-04-30", "to": "2024-04-01", "allInOrg": "1"})
    assert_error(response, 400, parameter=("from", "to"))


def test_member_all_in_org_with_good_parameters_is_403(bob, get_stats):
    assert_error(get_stats(bob, {**RANGE, "allInOrg": "true"}), 403)


# --- the path ----------------------------------------------------------------------------


@pytest.mark.parametrize("with_token", [True, False])
def test_trailing_slash_is_not_a_redirect(ann, get_stats, with_token):
    response = get_stats(ann if with_token else None, RANGE, path=STATS_PATH + "/")
    assert response.status_code not in (301, 302, 303, 307, 308), response.status_code
    assert not response.has_header("Location")
    assert b"Traceback" not in response.content


def test_slashless_path_answers_directly(ann, get_stats):
    assert get_stats(ann, RANGE).status_code == 200
