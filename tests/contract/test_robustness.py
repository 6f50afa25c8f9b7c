"""Odd but possible input: a clear answer (200 or a 400 naming the parameter), never a 500."""

import pytest

from tests.contract.activity import conversation, message, org_with_members
from tests.contract.conftest import ZERO, assert_error, assert_stats_body, figures

pytestmark = pytest.mark.django_db

ORG, ANN, AGENT = "org_robust", "user_robust_ann", 1101
RANGE = {"from": "2024-09-01", "to": "2024-09-30"}
ONE = figures(
    conversationCount=1,
    messageCount=1,
    inputTokens=3,
    totalTokens=3,
    uniqueUsers=1,
    uniqueAgents=1,
)


@pytest.fixture
def ann(load, bearer):
    records = org_with_members(ORG, {ANN: {"role": "org:admin", "metadata": {"k": "v"}}}, [AGENT])
    records += [
        conversation("conv-robust", ORG, ANN, AGENT, "2024-09-02T00:00:00Z"),
        message("m-robust", "conv-robust", "2024-09-02T00:00:00Z", usage={"inputTokens": 3}),
    ]
    load(records)
    return bearer(user_id=ANN, org_id=ORG, role="org:admin")


def zeros_or_400(response, parameter: str) -> None:
    """Either reading is fair for these inputs; a 500 or a traceback is not."""
    if response.status_code == 400:
        assert_error(response, 400, parameter=parameter)
    else:
        assert assert_stats_body(response) == ZERO


def test_widest_range_counts_everything(ann, stats):
    # The first and last representable days: no overflow adding a day to 9999-12-31.
    assert stats(ann, {"from": "0001-01-01", "to": "9999-12-31"}) == ONE
    assert stats(ann, {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59.999999Z"}) == ONE


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # Offsets pushing the instant outside what a datetime can hold.
        ("from", "0001-01-01T00:00:00+01:00"),
        ("to", "9999-12-31T23:59:59-01:00"),
        ("from", "2024-09-01T23:59:60Z"),  # a leap second
        ("from", "2024-09-01\x00"),
        ("to", "2024-09-30T00:00:00.1234567890Z"),
    ],
)
def test_extreme_datetimes_never_500(ann, get_stats, name, value):
    response = get_stats(ann, {**RANGE, name: value})
    assert response.status_code in (200, 400), (response.status_code, response.content)
    assert b"Traceback" not in response.content
    if response.status_code == 400:
        assert_error(response, 400, parameter=name)
    else:
        assert_stats_body(response)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("metadataKey", "k\x00"),
        ("metadataValue", "v\x00"),
        ("metadataKey", "\x00"),
        ("userId", "user_\x00"),
        ("agentId", "7\x00"),
    ],
)
def test_nul_characters_never_500(ann, get_stats, name, value):
    # PostgreSQL text and jsonb cannot hold NUL: nothing stored can equal these strings.
    params = {**RANGE, name: value}
    if name != "agentId":
        params["allInOrg"] = "true"
    zeros_or_400(get_stats(ann, params), name)


@pytest.mark.parametrize(
    "user_id",
    [
        "user'); --",
        'user"x',
        "ユーザー",
        "%",
        "_",
        "user_robust_%",
        "user_robust_ann ",
        "USER_ROBUST_ANN",
    ],
)
def test_odd_user_ids_match_exactly_themselves(ann, stats, user_id):
    assert stats(ann, {**RANGE, "allInOrg": "true", "userId": user_id}) == ZERO


def test_very_long_metadata_key_and_value(ann, stats):
    long = "k" * 5000
    base = {**RANGE, "allInOrg": "true"}
    assert stats(ann, {**base, "metadataKey": long}) == ZERO
    assert stats(ann, {**base, "metadataValue": long}) == ZERO
    assert stats(ann, {**base, "metadataKey": "k", "metadataValue": "v" * 5000}) == ZERO


@pytest.mark.parametrize("version", [1, 2])
def test_missing_role_is_not_admin(bearer, get_stats, stats, ann, version):
    auth = bearer(user_id=ANN, org_id=ORG, role=None, version=version)
    assert stats(auth, RANGE) == ONE
    assert_error(get_stats(auth, {**RANGE, "allInOrg": "true"}), 403)


def test_active_session_status_is_fine(ann, raw_bearer, stats):
    from tests.clerk import session_claims

    claims = session_claims(user_id=ANN, org_id=ORG, role="org:admin", sts="active")
    assert stats(raw_bearer(claims), {**RANGE, "allInOrg": "true"}) == ONE
