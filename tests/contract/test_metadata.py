"""metadataKey / metadataValue: the matching rules of STATS.md and keys that are just strings.

Each subject user owns one message whose inputTokens is a distinct power of two, so the
inputTokens of an allInOrg response names exactly which users matched.
"""

import pytest

from tests.contract.activity import conversation, message, org_with_members
from tests.contract.conftest import ZERO, figures

pytestmark = pytest.mark.django_db

RANGE = {"from": "2024-02-01", "to": "2024-02-29"}
ADMIN = "user_meta_admin"  # has no activity of her own


def matched(*bits: int) -> dict:
    """The whole response when exactly the users owning these token bits matched."""
    if not bits:
        return dict(ZERO)
    return figures(
        conversationCount=len(bits),
        messageCount=len(bits),
        inputTokens=sum(bits),
        totalTokens=sum(bits),
        uniqueUsers=len(bits),
        uniqueAgents=1,
    )


def subjects_org(org: str, agent_id: int, metadata_by_user: dict[str, object]) -> list[dict]:
    """An org with ADMIN and one subject per entry; subject n owns a message of 2**n tokens."""
    members = {ADMIN: {"role": "org:admin"}}
    members |= {user_id: {"metadata": meta} for user_id, meta in metadata_by_user.items()}
    records = org_with_members(org, members, agents=[agent_id])
    for n, user_id in enumerate(metadata_by_user):
        conv = f"conv-{org}-{n}"
        records.append(conversation(conv, org, user_id, agent_id, "2024-02-02T00:00:00Z"))
        records.append(
            message(f"m-{org}-{n}", conv, "2024-02-02T00:00:00Z", usage={"inputTokens": 2**n})
        )
    return records


# --- the value rules ---------------------------------------------------------------------

VALUES_ORG, VALUES_AGENT = "org_meta_values", 801
# Subject n has publicMetadata {"v": STORED[n]}.
STORED = [
    "42",  # 0
    42,  # 1
    42.0,  # 2
    "042",  # 3
    100,  # 4
    "1e2",  # 5
    True,  # 6
    False,  # 7
    "true",  # 8
    None,  # 9
    ["beta", 42, True],  # 10
    [["beta"]],  # 11: an array inside the array never matches
    {"beta": "beta"},  # 12: objects never match
    "Beta",  # 13
    1,  # 14
    0,  # 15
    9007199254740993,  # 16: 2**53 + 1, not representable as a double
    0.1,  # 17
    "null",  # 18
    [{"v": "beta"}, "gamma"],  # 19
    "",  # 20
    [],  # 21
    -0.5,  # 22
    "beta ",  # 23
    "True",  # 24
    [None, 7],  # 25
]
B = [2**n for n in range(len(STORED))]

VALUE_CASES = [
    # (metadataValue, subjects that match)
    ("42", (0, 1, 2, 10)),  # the string "42", the numbers 42 and 42.0, 42 in an array
    ("042", (3,)),  # no number literal: only the string
    ("42.0", (1, 2, 10)),  # a number literal equal to 42; the string "42" is not "42.0"
    ("4.2e1", (1, 2, 10)),
    ("100", (4,)),
    ("1e2", (4, 5)),  # the number 100 and the string "1e2"
    ("1E2", (4,)),
    ("100.00", (4,)),
    ("true", (6, 8, 10)),  # the boolean, the string "true", true in an array
    ("false", (7,)),
    # The literals are `true`/`false`; other spellings are plain strings (case-sensitive).
    ("True", (24,)),
    ("TRUE", ()),
    ("null", (18,)),  # only the string: null never matches a value
    ("beta", (10,)),  # not in a nested array, not in an object, not "Beta", not "beta "
    ("Beta", (13,)),
    ("beta ", (23,)),
    ("gamma", (19,)),
    ("1", (14,)),  # the number 1, never the boolean true
    ("0", (15,)),  # the number 0, never the boolean false
    ("-0", (15,)),
    ("0.0", (15,)),
    ("9007199254740993", (16,)),  # exact decimals, not doubles
    ("9007199254740992", ()),
    ("0.1", (17,)),
    ("0.10", (17,)),
    ("1e-1", (17,)),
    ("-0.5", (22,)),
    ("-.5", ()),  # not a JSON number literal
    ("+42", ()),
    (" 42", ()),
    ("42 ", ()),
    ("0x2A", ()),
    ("NaN", ()),
    ("Infinity", ()),
    ("1e400", ()),  # a number literal no stored number equals; must not overflow into a 500
    ("7", (25,)),
    ('["beta"]', ()),  # an array literal is just a string here
    ('{"beta": "beta"}', ()),
    ('"42"', ()),
]


@pytest.fixture
def values_admin(load, bearer):
    load(
        subjects_org(
            VALUES_ORG, VALUES_AGENT, {f"user_val_{n}": {"v": v} for n, v in enumerate(STORED)}
        )
    )
    return bearer(user_id=ADMIN, org_id=VALUES_ORG, role="org:admin")


@pytest.mark.parametrize(
    ("value", "subjects"), VALUE_CASES, ids=[c[0] or "empty" for c in VALUE_CASES]
)
def test_value_at_key(values_admin, stats, value, subjects):
    params = {**RANGE, "allInOrg": "true", "metadataKey": "v", "metadataValue": value}
    assert stats(values_admin, params) == matched(*(B[n] for n in subjects))


@pytest.mark.parametrize(
    ("value", "subjects"), VALUE_CASES, ids=[c[0] or "empty" for c in VALUE_CASES]
)
def test_value_at_any_top_level_key(values_admin, stats, value, subjects):
    params = {**RANGE, "allInOrg": "true", "metadataValue": value}
    assert stats(values_admin, params) == matched(*(B[n] for n in subjects))


def test_value_at_another_key_does_not_match(values_admin, stats):
    params = {**RANGE, "allInOrg": "true", "metadataKey": "w", "metadataValue": "42"}
    assert stats(values_admin, params) == ZERO


def test_key_alone_matches_every_value_even_null(values_admin, stats):
    params = {**RANGE, "allInOrg": "true", "metadataKey": "v"}
    assert stats(values_admin, params) == matched(*B)


@pytest.mark.parametrize("key", ["V", "v ", " v", "beta", "$.v", "w"])
def test_key_alone_is_exact(values_admin, stats, key):
    assert stats(values_admin, {**RANGE, "allInOrg": "true", "metadataKey": key}) == ZERO


# --- keys and values together ------------------------------------------------------------

KEYS_ORG, KEYS_AGENT = "org_meta_keys", 802
KEYS_SUBJECTS = {
    "user_key_0": {"dept": "sales", "team": "beta"},  # 1
    "user_key_1": {"profile": {"dept": "sales", "team": "beta"}},  # 2: nested only
    "user_key_2": {"dept": None, "team": ["beta", "gamma"]},  # 4
    "user_key_3": {},  # 8
    "user_key_4": {"Dept": "sales"},  # 16
}


@pytest.fixture
def keys_admin(load, bearer):
    load(subjects_org(KEYS_ORG, KEYS_AGENT, KEYS_SUBJECTS))
    return bearer(user_id=ADMIN, org_id=KEYS_ORG, role="org:admin")


@pytest.mark.parametrize(
    ("params", "bits"),
    [
        ({"metadataKey": "dept"}, (1, 4)),  # present, even as null; never nested
        ({"metadataKey": "Dept"}, (16,)),
        ({"metadataKey": "profile"}, (2,)),
        ({"metadataKey": "team"}, (1, 4)),
        ({"metadataValue": "sales"}, (1, 16)),
        ({"metadataValue": "beta"}, (1, 4)),
        ({"metadataValue": "gamma"}, (4,)),
        ({"metadataKey": "dept", "metadataValue": "sales"}, (1,)),
        ({"metadataKey": "dept", "metadataValue": "beta"}, ()),
        ({"metadataKey": "team", "metadataValue": "beta"}, (1, 4)),
        ({"metadataKey": "team", "metadataValue": "gamma"}, (4,)),
        ({"metadataKey": "dept", "metadataValue": "null"}, ()),
        ({"metadataKey": "profile", "metadataValue": "sales"}, ()),
        ({"metadataKey": "nope"}, ()),
        ({"metadataKey": "nope", "metadataValue": "sales"}, ()),
    ],
)
def test_key_and_value(keys_admin, stats, params, bits):
    assert stats(keys_admin, {**RANGE, "allInOrg": "true", **params}) == matched(*bits)


def test_metadata_narrows_user_id_and_agent_too(keys_admin, stats):
    base = {**RANGE, "allInOrg": "true", "metadataValue": "sales"}
    assert stats(keys_admin, {**base, "userId": "user_key_0"}) == matched(1)
    assert stats(keys_admin, {**base, "userId": "user_key_2"}) == ZERO
    assert stats(keys_admin, {**base, "agentId": str(KEYS_AGENT)}) == matched(1, 16)
    assert stats(keys_admin, {**base, "agentId": "803"}) == ZERO


def test_metadata_filters_a_members_own_scope(load, bearer, stats):
    load(subjects_org(KEYS_ORG, KEYS_AGENT, KEYS_SUBJECTS))
    member = bearer(user_id="user_key_0", org_id=KEYS_ORG, role="org:member")
    assert stats(member, {**RANGE, "metadataValue": "sales"}) == matched(1)
    assert stats(member, {**RANGE, "metadataKey": "team", "metadataValue": "beta"}) == matched(1)
    assert stats(member, {**RANGE, "metadataValue": "gamma"}) == ZERO
    assert stats(member, {**RANGE, "metadataKey": "profile"}) == ZERO


def test_empty_key_is_stored_but_metadata_key_empty_means_no_filter(load, bearer, stats):
    # `metadataKey=` is "left out" (STATS.md), so the "" key can only be reached through
    # metadataValue at any top-level key.
    subjects = {"user_blank_0": {"": "blank"}, "user_blank_1": {"x": "other"}}
    load(subjects_org("org_meta_blank", 804, subjects))
    admin = bearer(user_id=ADMIN, org_id="org_meta_blank", role="org:admin")
    base = {**RANGE, "allInOrg": "true"}
    assert stats(admin, {**base, "metadataValue": "blank"}) == matched(1)
    assert stats(admin, {**base, "metadataKey": ""}) == matched(1, 2)
    assert stats(admin, {**base, "metadataKey": "", "metadataValue": "blank"}) == matched(1)


# --- the membership of the token's organization only -------------------------------------


@pytest.fixture
def eve_in_two_orgs(load):
    """Eve is `support` in org_meta_one and a `sales` VIP in org_meta_two."""
    one = org_with_members(
        "org_meta_one",
        {ADMIN: {"role": "org:admin"}, "user_eve": {"metadata": {"dept": "support"}}},
        agents=[805],
    )
    two = org_with_members(
        "org_meta_two",
        {ADMIN: {"role": "org:admin"}, "user_eve": {"metadata": {"dept": "sales", "vip": True}}},
        agents=[806],
    )
    activity = [
        conversation("conv-eve-1", "org_meta_one", "user_eve", 805, "2024-02-02T00:00:00Z"),
        message("m-eve-1", "conv-eve-1", "2024-02-02T00:00:00Z", usage={"inputTokens": 1}),
        conversation("conv-eve-2", "org_meta_two", "user_eve", 806, "2024-02-02T00:00:00Z"),
        message("m-eve-2", "conv-eve-2", "2024-02-02T00:00:00Z", usage={"inputTokens": 2}),
    ]
    load(one + two + activity)


@pytest.mark.parametrize(
    ("org", "params", "bits"),
    [
        ("org_meta_one", {"metadataValue": "support"}, (1,)),
        ("org_meta_one", {"metadataValue": "sales"}, ()),
        ("org_meta_one", {"metadataKey": "vip"}, ()),
        ("org_meta_one", {"metadataKey": "dept", "metadataValue": "sales"}, ()),
        ("org_meta_two", {"metadataValue": "sales"}, (2,)),
        ("org_meta_two", {"metadataKey": "vip", "metadataValue": "true"}, (2,)),
        ("org_meta_two", {"metadataValue": "support"}, ()),
    ],
)
def test_metadata_of_another_organization_never_counts(
    eve_in_two_orgs, bearer, stats, org, params, bits
):
    admin = bearer(user_id=ADMIN, org_id=org, role="org:admin")
    assert stats(admin, {**RANGE, "allInOrg": "true", **params}) == matched(*bits)
    eve = bearer(user_id="user_eve", org_id=org, role="org:member")
    assert stats(eve, {**RANGE, **params}) == matched(*bits)


# --- hostile keys and values: exact strings, never paths, never a 500 --------------------

HOSTILE = [
    "'",
    '"',
    "__",
    "a__b",
    "a.b",
    "'); --",
    "' OR '1'='1",
    "$.*",
    "$[0]",
    "$",
    "*",
    "0",
    "-1",
    "ключ",
    "🔑",
    "a b",
    " ",
    "%",
    "_",
    "\\",
    'a\\"b',
    "{a}",
    "{a,b}",
    "a,b",
    "->",
    "->>",
    "?",
    "?|",
    "@>",
    "null",
    "line\nbreak",
    "[0]",
]
# Neighbours a path-parsing, LIKE-matching or case-folding implementation would confuse
# with the hostile key; decoys never hold the hostile key itself.
DECOY = {"x": "hit", "a": {"b": "hit"}, "ab": "hit", "A": "hit", "b": ["hit"], "1": "hit"}


@pytest.fixture
def hostile_org(load, bearer):
    def _load(key: str):
        subjects = {
            "user_hostile_hit": {key: "hit"},  # 1
            "user_hostile_decoy": {k: v for k, v in DECOY.items() if k != key},  # 2
            "user_hostile_null": {key: None},  # 4
            "user_hostile_array": {key: ["hit", 5]},  # 8
        }
        load(subjects_org("org_meta_hostile", 807, subjects))
        return bearer(user_id=ADMIN, org_id="org_meta_hostile", role="org:admin")

    return _load


@pytest.mark.parametrize("key", HOSTILE, ids=[repr(k) for k in HOSTILE])
def test_hostile_key_matches_exactly_itself(hostile_org, stats, key):
    admin = hostile_org(key)
    base = {**RANGE, "allInOrg": "true", "metadataKey": key}
    assert stats(admin, base) == matched(1, 4, 8)
    assert stats(admin, {**base, "metadataValue": "hit"}) == matched(1, 8)
    assert stats(admin, {**base, "metadataValue": "5"}) == matched(8)
    assert stats(admin, {**base, "metadataValue": "miss"}) == ZERO
    assert stats(admin, {**base, "metadataValue": key}) == ZERO


HOSTILE_VALUES = [
    "%",
    "_",
    "h_t",
    "hi%",
    "%hit%",
    "'",
    '"',
    '"hit"',
    "'); DROP TABLE conversations_message; --",
    "\\",
    "hit\\",
    "$.*",
    "ключ",
    "🔑",
    " hit",
    "hit ",
    "HIT",
    "*",
    '["hit"]',
]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=[repr(v) for v in HOSTILE_VALUES])
def test_hostile_value_matches_exactly_itself(load, bearer, stats, value):
    subjects = {
        "user_hv_hit": {"v": value},  # 1
        "user_hv_plain": {"v": "hit"},  # 2
        "user_hv_other": {"v": "x", "w": "ab"},  # 4
        "user_hv_array": {"w": [value, "hit"]},  # 8
    }
    load(subjects_org("org_meta_hostile_values", 808, subjects))
    admin = bearer(user_id=ADMIN, org_id="org_meta_hostile_values", role="org:admin")
    base = {**RANGE, "allInOrg": "true", "metadataValue": value}
    assert stats(admin, {**base, "metadataKey": "v"}) == matched(1)
    assert stats(admin, base) == matched(1, 8)
