"""Hostile text in metadataKey, metadataValue and userId: never a 500, always the right counts.

Every member owns one message whose inputTokens is a distinct power of two, so the answer's
inputTokens names exactly the set of members the filters kept. That set is checked against
`reference_members`, a plain reading of STATS.md "Metadata matching" written here, not
imported from stats/.
"""

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from asteragents.models import Membership, Organization, User
from conversations.models import Agent, Conversation, Message
from kb.models import KnowledgeBase, KnowledgeBaseFile
from tests.reliability.worlds import refresh_rollups

pytestmark = pytest.mark.django_db

URL = "/api/dashboard/getStats"
ORG = "org_hostile"
ADMIN = "user_admin"
AT = datetime(2024, 3, 1, 9, tzinfo=UTC)
RANGE = {"from": "2024-03-01", "to": "2024-03-01", "allInOrg": "true"}
LONG = "x" * 10_000

# user id -> membership publicMetadata. Keys and values a parser could trip on; no NUL,
# which PostgreSQL cannot store in jsonb.
MEMBERS = {
    ADMIN: {"department": "sales", "tags": ["beta", 42, True, ["nested"], {"o": "beta"}]},
    "user_dots": {"a.b": "dotted", "a": {"b": "dotted"}, "a.b.c": ["dotted"]},
    "user_path": {"$.x": "jp", "x": "jp2", "$": "dollar", "@": "at", "[0]": "idx"},
    "user_quote": {"it's": "quote'", 'say "hi"': 'dq"', "\\": "backslash\\"},
    "user_blank": {"": "empty-key", " ": " space ", "empty": ""},
    "user_numbers": {"level": 42, "ratio": 0.1, "big": 1e20, "neg": -7, "zero": -0.0},
    "user_strings": {"level": "42", "flag": False, "none": None, "ratio": "0.1"},
    "user_unicode": {"unicodé": "ünïcödé", "emoji🙂": "🙂", "cjk": "中文", "rtl\u202e": "\u202e"},
    "user_sql": {"sql": "' OR 1=1 --", "json": '{"a": 1}', "percent": "100%", "like": "a_b"},
    "user_control": {"control": "\x01\x1f\x7f", "newline": "a\nb", "tab\tkey": "v"},
    "user_long": {"long": LONG, LONG: "long-key"},
    "user_mixed": {"arr": [1.5, "1.5", False, None, "true"], "obj": {"k": "v"}, "t": True},
    "user_empty": {},
    "user_'; DROP TABLE asteragents_user; --": {"department": "sales"},
    "user_%": {"tags": ["%", "_"]},
    "user__": {"precise": 1.0000000000000002, "tiny": 5e-324, "huge": 1.7976931348623157e308},
}
OWNERS = list(MEMBERS)  # member i owns one message of 2**i input tokens
KB_FIGURES = {
    "kbFileCount": 1,
    "kbCount": 1,
    "kbExtractTotalTokens": 11,
    "kbExtractInputTokens": 10,
    "kbExtractOutputTokens": 1,
}

# --- the reference: STATS.md "Metadata matching", read plainly -------------------------------

JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?", re.ASCII)


def exact_decimal(number) -> Decimal:
    # A stored float's JSON text is its shortest repr (Python's json writes it so).
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)


def scalar_matches(value, text: str) -> bool:
    if isinstance(value, bool):  # before int: True is an int in Python
        return text in ("true", "false") and value == (text == "true")
    if isinstance(value, str):
        return value == text
    if isinstance(value, int | float):
        if not JSON_NUMBER.fullmatch(text):
            return False
        try:
            return exact_decimal(value) == Decimal(text)
        except InvalidOperation:
            # An exponent beyond what any decimal can hold: only a zero mantissa makes a
            # number that is stored anywhere (zero itself).
            mantissa = re.split("[eE]", text)[0]
            return Decimal(mantissa) == 0 and exact_decimal(value) == 0
    return False  # None, objects


def value_matches(value, text: str) -> bool:
    if isinstance(value, list):
        return any(
            not isinstance(item, list | dict) and scalar_matches(item, text) for item in value
        )
    return scalar_matches(value, text)


def metadata_matches(metadata: dict, key: str | None, value: str | None) -> bool:
    if key is None and value is None:
        return True
    if value is None:
        return key in metadata
    if key is not None:
        return key in metadata and value_matches(metadata[key], value)
    return any(value_matches(item, value) for item in metadata.values())


def reference_members(user_id, key, value) -> list[str]:
    """The members whose message counts; an empty parameter is one left out."""
    user_id, key, value = (p if p != "" else None for p in (user_id, key, value))
    return [
        owner
        for owner in OWNERS
        if (user_id is None or owner == user_id) and metadata_matches(MEMBERS[owner], key, value)
    ]


def expected_figures(members: list[str]) -> dict[str, int]:
    tokens = sum(2 ** OWNERS.index(owner) for owner in members)
    count = len(members)
    return {
        "conversationCount": count,
        "messageCount": count,
        "toolCalls": 0,
        "totalTokens": tokens,
        "inputTokens": tokens,
        "outputTokens": 0,
        "uniqueUsers": count,
        "uniqueAgents": 1 if members else 0,
        "totalFeedback": 0,
        "totalHelpful": 0,
        "totalNotHelpful": 0,
        **KB_FIGURES,
    }


# --- data and requests ------------------------------------------------------------------------


@pytest.fixture
def members():
    organization = Organization.objects.create(id=ORG)
    agent = Agent.objects.create(id=1, organization=organization)
    for index, (user_id, metadata) in enumerate(MEMBERS.items()):
        user = User.objects.create(id=user_id)
        Membership.objects.create(organization=organization, user=user, public_metadata=metadata)
        conversation = Conversation.objects.create(
            id=f"c{index}", organization=organization, user=user, agent=agent, created_at=AT
        )
        Message.objects.create(
            id=f"m{index}",
            organization=organization,
            conversation=conversation,
            owner=user,
            agent=agent,
            role=Message.Role.ASSISTANT,
            created_at=AT,
            input_tokens=2**index,
            total_tokens=2**index,
        )
    knowledge_base = KnowledgeBase.objects.create(id="kb", organization=organization)
    KnowledgeBaseFile.objects.create(
        id="kbf",
        organization=organization,
        knowledge_base=knowledge_base,
        name="f.pdf",
        processed_at=AT,
        extract_input_tokens=10,
        extract_output_tokens=1,
        extract_total_tokens=11,
    )
    refresh_rollups()


def stored_texts() -> list[str]:
    """Every key, string value and number text of the data, and every user id."""
    texts = list(OWNERS)
    for metadata in MEMBERS.values():
        for key, value in metadata.items():
            texts.append(key)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    texts.append(item)
                elif isinstance(item, int | float) and not isinstance(item, bool):
                    texts.append(repr(item))
    return texts


SYNTAX = [
    "' OR '1'='1",
    "'; DROP TABLE asteragents_membership; --",
    "\\",
    "%",
    "_",
    "*",
    "$",
    "$.*",
    "$.a.b",
    "$[*]",
    '$.** ? (@ == "sales")',
    "@",
    'strict $."a.b"',
    "lax $.department",
    "{}",
    "[]",
    '{"department": "sales"}',
    '["beta"]',
    "null",
    "NULL",
    "true",
    "True",
    "false",
    "42",
    "42.0",
    "4.2e1",
    "042",
    "+42",
    "0x2A",
    "-0",
    "0",
    "1e20",
    "100000000000000000000",
    "0.1",
    "0.10000000000000001",
    "1E+999999",
    "0e99999999999999999999",
    "1e-99999999999999999999",
    "NaN",
    "Infinity",
    "-Infinity",
    "٤٢",  # Arabic-Indic digits: no JSON number
    "４２",  # fullwidth digits
    "\x00",
    "sales\x00",
    "department\x00",
    "\u202e",
    "\ufeffsales",
    "sales ",
    LONG,
    LONG + "x",
]
JSON_NUMBER_TEXT = st.from_regex(JSON_NUMBER, fullmatch=True)
hostile_text = st.one_of(
    st.text(max_size=40),  # any unicode, control characters and NUL included
    st.text(st.characters(codec="ascii"), max_size=40),
    st.sampled_from(stored_texts()),
    st.sampled_from(SYNTAX),
    JSON_NUMBER_TEXT,
    st.integers(1, 12_000).map(lambda n: "x" * n),  # long strings, up to past LONG
    st.tuples(st.sampled_from(stored_texts()), st.sampled_from(SYNTAX)).map("".join),
)
maybe = st.one_of(st.none(), hostile_text)


def ask(client, bearer, *, user_id, key, value):
    """The response to an admin's allInOrg request with these filters (None: left out)."""
    cache.clear()
    params = dict(RANGE)
    for name, given_value in (("userId", user_id), ("metadataKey", key), ("metadataValue", value)):
        if given_value is not None:
            params[name] = given_value
    return client.get(URL, params, **bearer(user_id=ADMIN, org_id=ORG, role="org:admin"))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(user_id=maybe, key=maybe, value=maybe)
@example(user_id=None, key="a.b", value="dotted")
@example(user_id=None, key="a.b", value=None)
@example(user_id=None, key="$.x", value="jp")
@example(user_id=None, key="it's", value="quote'")
@example(user_id=None, key="", value="empty-key")
@example(user_id=None, key=" ", value=" space ")
@example(user_id=None, key=None, value="42")
@example(user_id=None, key=None, value="4.2e1")
@example(user_id=None, key="level", value="042")
@example(user_id=None, key="big", value="100000000000000000000")
@example(user_id=None, key="precise", value="1.0000000000000002")
@example(user_id=None, key="zero", value="0")
@example(user_id=None, key="huge", value="1.7976931348623157e308")
@example(user_id=None, key=None, value="0e99999999999999999999")
@example(user_id=None, key=None, value="1E+999999")
@example(user_id=None, key="none", value="null")
@example(user_id=None, key="none", value=None)
@example(user_id=None, key="sql", value="' OR 1=1 --")
@example(user_id=None, key="long", value=LONG)
@example(user_id=None, key=LONG, value=None)
@example(user_id=None, key="department", value="sales\x00")
@example(user_id=None, key="department\x00", value="sales")
@example(user_id="user_%", key=None, value=None)
@example(user_id="user__", key=None, value=None)
@example(user_id="%", key=None, value=None)
@example(user_id="user_admin\x00", key=None, value=None)
@example(user_id="user_'; DROP TABLE asteragents_user; --", key="department", value="sales")
def test_hostile_filters_count_what_the_reference_says(
    client, bearer, members, user_id, key, value
):
    response = ask(client, bearer, user_id=user_id, key=key, value=value)
    assert response.status_code == 200, (response.status_code, response.content[:500])
    assert response.json() == expected_figures(reference_members(user_id, key, value))


@pytest.mark.parametrize(
    ("user_id", "key", "value"),
    [
        (None, None, "sales\x00"),
        (None, "department\x00", None),
        ("user_admin\x00", None, None),
    ],
    ids=["metadataValue", "metadataKey", "userId"],
)
def test_nul_in_a_text_parameter_matches_nothing(client, bearer, members, user_id, key, value):
    response = ask(client, bearer, user_id=user_id, key=key, value=value)
    assert response.status_code == 200, response.content
    assert response.json() == expected_figures([])


def test_the_data_reaches_every_member_unfiltered(client, bearer, members):
    """No filter: every member's message counts (the property's baseline is not empty)."""
    answer = ask(client, bearer, user_id=None, key=None, value=None).json()
    assert answer["messageCount"] == len(MEMBERS) == 16
    assert answer["inputTokens"] == 2 ** len(MEMBERS) - 1


@pytest.mark.parametrize("text", ["0E-16384", "-0.0e-20000", "0e1073741823", "0.0E+2000000000"])
def test_zero_beyond_numeric_scale_matches_zero(client, bearer, members, text):
    # STATS.md: a number literal matches a number equal to it; user_numbers has zero: -0.0.
    response = ask(client, bearer, user_id=None, key="zero", value=text)
    assert response.status_code == 200, response.content
    assert response.json() == expected_figures(["user_numbers"])


HUGE = 123456789012345678901234567890  # beyond 64 bits: SQLite's JSON reads it as a double


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("123456789012345678901234567890", True),
        ("1.23456789012345678901234567890e29", True),
        ("1.2345678901234568e+29", False),  # the nearest double, not the stored number
    ],
)
def test_integers_beyond_64_bits_compare_as_exact_decimals(client, bearer, members, text, matches):
    organization = Organization.objects.get(id=ORG)
    user = User.objects.create(id="user_huge")
    Membership.objects.create(organization=organization, user=user, public_metadata={"n": HUGE})
    conversation = Conversation.objects.create(
        id="c_huge", organization=organization, user=user, agent_id=1, created_at=AT
    )
    Message.objects.create(
        id="m_huge",
        organization=organization,
        conversation=conversation,
        owner=user,
        agent_id=1,
        role=Message.Role.ASSISTANT,
        created_at=AT,
        input_tokens=7,
        total_tokens=7,
    )
    refresh_rollups()
    response = ask(client, bearer, user_id=None, key="n", value=text)
    assert response.status_code == 200, response.content
    assert (response.json()["messageCount"], response.json()["inputTokens"]) == (
        (1, 7) if matches else (0, 0)
    )
