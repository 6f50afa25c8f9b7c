"""What is counted: tool invocations, usage, distinct figures, feedback, knowledge bases."""

import pytest

from tests.contract.activity import (
    conversation,
    feedback,
    knowledge_base,
    knowledge_base_file,
    message,
    org_with_members,
)
from tests.contract.conftest import ZERO, figures

pytestmark = pytest.mark.django_db

ORG, ANN, BOB, A1, A2 = "org_count", "user_count_ann", "user_count_bob", 901, 902
RANGE = {"from": "2024-06-01", "to": "2024-06-30"}
IN, OUT = "2024-06-15T12:00:00Z", "2024-07-01T00:00:00Z"


def org_records(bob_metadata=None) -> list[dict]:
    members = {
        ANN: {"role": "org:admin", "metadata": {"team": "core"}},
        BOB: {"role": "org:member", "metadata": bob_metadata or {"team": "edge"}},
    }
    return org_with_members(ORG, members, agents=[A1, A2])


def admin(bearer):
    return bearer(user_id=ANN, org_id=ORG, role="org:admin")


def one_message(**counts) -> dict:
    """The whole response for one message in one conversation, with these counts."""
    return figures(conversationCount=1, messageCount=1, uniqueUsers=1, uniqueAgents=1, **counts)


# --- tool invocations --------------------------------------------------------------------

INVOCATION = {"toolCallId": "c", "toolName": "lookup", "args": {}, "state": "result", "result": 1}


def part(kind: str) -> dict:
    return {"type": kind}


@pytest.mark.parametrize(
    ("fields", "tool_calls"),
    [
        ({"toolInvocations": [INVOCATION] * 3, "parts": [part("tool-invocation")] * 5}, 3),
        # An empty array still wins over parts.
        ({"toolInvocations": [], "parts": [part("tool-invocation"), part("tool-x")]}, 0),
        # null is no array: parts decide.
        (
            {
                "toolInvocations": None,
                "parts": [
                    part("tool-invocation"),
                    part("dynamic-tool"),
                    part("tool-xyz"),
                    part("text"),
                ],
            },
            3,
        ),
        ({"toolInvocations": [INVOCATION], "parts": None}, 1),
        ({"toolInvocations": [INVOCATION, INVOCATION]}, 2),
        (
            {
                "parts": [
                    part("tool-invocation"),
                    part("dynamic-tool"),
                    part("tool-getWeather"),
                    part("text"),
                    part("reasoning"),
                    part("step-start"),
                    part("source-url"),
                    part("file"),
                    part("tool"),
                    part("tools-x"),
                    part("dynamic-tool-x"),
                    part("my-tool-x"),
                    {"text": "a part with no type"},
                ]
            },
            3,
        ),
        # "starts with tool-" read literally: the bare prefix counts, `Tool-x` (capital) does not.
        ({"parts": [part("tool-")]}, 1),
        ({"parts": [part("Tool-x"), part("TOOL-INVOCATION"), part("Dynamic-Tool")]}, 0),
        ({"parts": []}, 0),
        ({"parts": None}, 0),
        ({}, 0),
    ],
)
def test_tool_invocation_count(load, bearer, stats, fields, tool_calls):
    load(
        org_records()
        + [
            conversation("conv-tool", ORG, ANN, A1, IN),
            message("m-tool", "conv-tool", IN, **fields),
        ]
    )
    assert stats(admin(bearer), RANGE) == one_message(toolCalls=tool_calls)


def test_tool_calls_sum_over_messages_in_range_only(load, bearer, stats):
    load(
        org_records()
        + [
            conversation("conv-tools", ORG, ANN, A1, IN),
            message("m-t1", "conv-tools", IN, toolInvocations=[INVOCATION] * 2),
            message("m-t2", "conv-tools", IN, parts=[part("tool-a"), part("dynamic-tool")]),
            message("m-t3", "conv-tools", OUT, toolInvocations=[INVOCATION] * 7),
        ]
    )
    assert stats(admin(bearer), RANGE) == figures(
        conversationCount=1, messageCount=2, toolCalls=4, uniqueUsers=1, uniqueAgents=1
    )


# --- usage -------------------------------------------------------------------------------

USAGE_CASES = [
    # (usage as imported or "absent", (input, output, total))
    ({"inputTokens": 10, "outputTokens": 5}, (10, 5, 15)),
    ({"inputTokens": 10, "outputTokens": 5, "totalTokens": 100}, (10, 5, 100)),
    ({"promptTokens": 7, "completionTokens": 3}, (7, 3, 10)),
    ({"promptTokens": 7, "completionTokens": 3, "totalTokens": 12}, (7, 3, 12)),
    (
        {"inputTokens": 10, "promptTokens": 99, "outputTokens": 1, "completionTokens": 50},
        (10, 1, 11),
    ),
    ({"inputTokens": 10, "completionTokens": 4}, (10, 4, 14)),
    ({"promptTokens": 8, "outputTokens": 2}, (8, 2, 10)),
    ({"inputTokens": 5}, (5, 0, 5)),
    ({"outputTokens": 6}, (0, 6, 6)),
    ({"totalTokens": 9}, (0, 0, 9)),
    ({"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}, (0, 0, 0)),
    # Beyond 32 bits: the sums must not overflow.
    ({"inputTokens": 3_000_000_000, "outputTokens": 3_000_000_000}, (3e9, 3e9, 6e9)),
    ({}, (0, 0, 0)),
    (None, (0, 0, 0)),
    ("absent", (0, 0, 0)),
]


def usage_field(usage, name: str) -> dict:
    return {} if usage == "absent" else {name: usage}


@pytest.mark.parametrize(("usage", "expected"), USAGE_CASES, ids=[str(c[0]) for c in USAGE_CASES])
def test_message_usage(load, bearer, stats, usage, expected):
    load(
        org_records()
        + [
            conversation("conv-usage", ORG, ANN, A1, IN),
            message("m-usage", "conv-usage", IN, **usage_field(usage, "usage")),
        ]
    )
    inp, out, total = (int(n) for n in expected)
    assert stats(admin(bearer), RANGE) == one_message(
        inputTokens=inp, outputTokens=out, totalTokens=total
    )


@pytest.mark.parametrize(("usage", "expected"), USAGE_CASES, ids=[str(c[0]) for c in USAGE_CASES])
def test_kb_extraction_usage(load, bearer, stats, usage, expected):
    kb_file = knowledge_base_file("kbf-usage", "kb-usage", processed_at=IN)
    kb_file |= usage_field(usage, "extraction")
    load(org_records() + [knowledge_base("kb-usage", ORG), kb_file])
    inp, out, total = (int(n) for n in expected)
    assert stats(admin(bearer), RANGE) == figures(
        kbFileCount=1,
        kbCount=1,
        kbExtractInputTokens=inp,
        kbExtractOutputTokens=out,
        kbExtractTotalTokens=total,
    )


def test_usage_sums_over_messages(load, bearer, stats):
    load(
        org_records()
        + [
            conversation("conv-sum", ORG, ANN, A1, IN),
            message("m-s1", "conv-sum", IN, usage={"inputTokens": 100, "outputTokens": 20}),
            message(
                "m-s2",
                "conv-sum",
                IN,
                usage={"promptTokens": 3, "completionTokens": 4, "totalTokens": 50},
            ),
            message("m-s3", "conv-sum", IN, role="user"),
            message("m-s4", "conv-sum", OUT, usage={"inputTokens": 1000, "outputTokens": 1000}),
        ]
    )
    assert stats(admin(bearer), RANGE) == figures(
        conversationCount=1,
        messageCount=3,
        inputTokens=103,
        outputTokens=24,
        totalTokens=170,
        uniqueUsers=1,
        uniqueAgents=1,
    )


# --- distinct conversations, users and agents among the messages in range ----------------


def test_distinct_figures_come_from_messages_in_range(load, bearer, stats):
    load(
        org_records()
        + [
            # Two conversations of Ann with A1, three messages in range.
            conversation("conv-d1", ORG, ANN, A1, IN),
            message("m-d1a", "conv-d1", IN, role="user"),
            message("m-d1b", "conv-d1", IN, role="assistant"),
            conversation("conv-d2", ORG, ANN, A1, "2024-05-20T00:00:00Z"),  # created before
            message("m-d2a", "conv-d2", "2024-06-01T00:00:00Z", role="system"),
            # Ann with A2: created in range, its only message is after it.
            conversation("conv-d3", ORG, ANN, A2, IN),
            message("m-d3a", "conv-d3", OUT, role="tool"),
            # Bob with A2: a conversation with no messages at all.
            conversation("conv-d4", ORG, BOB, A2, IN),
            # Bob with A1, one message in range.
            conversation("conv-d5", ORG, BOB, A1, IN),
            message("m-d5a", "conv-d5", "2024-06-30T23:59:59.999999Z", role="user"),
        ]
    )
    assert stats(admin(bearer), {**RANGE, "allInOrg": "true"}) == figures(
        conversationCount=3, messageCount=4, uniqueUsers=2, uniqueAgents=1
    )
    assert stats(admin(bearer), RANGE) == figures(
        conversationCount=2, messageCount=3, uniqueUsers=1, uniqueAgents=1
    )


# --- feedback ----------------------------------------------------------------------------


@pytest.fixture
def feedback_data(load):
    """Feedback by its own createdAt, on messages of Ann and Bob, given by either of them."""
    load(
        org_records()
        + [
            conversation("conv-fa", ORG, ANN, A1, IN),
            message("m-ann-in", "conv-fa", IN),
            message("m-ann-before", "conv-fa", "2024-05-31T23:59:59.999999Z"),
            conversation("conv-fb", ORG, BOB, A2, IN),
            message("m-bob-in", "conv-fb", IN),
            # In range, on a message before the range: counts.
            feedback("f1", "m-ann-before", ANN, helpful=True, created_at="2024-06-01T00:00:00Z"),
            # Two on the same message: both count.
            feedback("f2", "m-ann-in", BOB, helpful=False, created_at=IN),
            feedback("f3", "m-ann-in", ANN, helpful=True, created_at=IN),
            # After the range, on a message in range: does not count.
            feedback("f4", "m-ann-in", ANN, helpful=True, created_at="2024-07-01T00:00:00Z"),
            # Ann's feedback on Bob's message belongs to Bob's conversations.
            feedback("f5", "m-bob-in", ANN, helpful=False, created_at=IN),
        ]
    )


def test_feedback_counted_by_its_own_created_at(feedback_data, bearer, stats):
    assert stats(admin(bearer), RANGE) == figures(
        conversationCount=1,
        messageCount=1,
        uniqueUsers=1,
        uniqueAgents=1,
        totalFeedback=3,
        totalHelpful=2,
        totalNotHelpful=1,
    )


def test_feedback_follows_the_conversation_owner_not_the_giver(feedback_data, bearer, stats):
    bob = bearer(user_id=BOB, org_id=ORG, role="org:member")
    assert stats(bob, RANGE) == figures(
        conversationCount=1,
        messageCount=1,
        uniqueUsers=1,
        uniqueAgents=1,
        totalFeedback=1,
        totalNotHelpful=1,
    )


def test_feedback_all_in_org_and_filters(feedback_data, bearer, stats):
    ann = admin(bearer)
    everyone = {**RANGE, "allInOrg": "true"}
    assert stats(ann, everyone) == figures(
        conversationCount=2,
        messageCount=2,
        uniqueUsers=2,
        uniqueAgents=2,
        totalFeedback=4,
        totalHelpful=2,
        totalNotHelpful=2,
    )
    by_bob_agent = stats(ann, {**everyone, "agentId": str(A2)})
    assert (by_bob_agent["totalFeedback"], by_bob_agent["totalNotHelpful"]) == (1, 1)
    by_metadata = stats(ann, {**everyone, "metadataKey": "team", "metadataValue": "core"})
    assert (by_metadata["totalFeedback"], by_metadata["totalHelpful"]) == (3, 2)


def test_feedback_range_without_messages(feedback_data, bearer, stats):
    # Only f1 (June 1st 00:00) in this range; the messages are elsewhere.
    params = {"from": "2024-06-01T00:00:00Z", "to": "2024-06-01T00:00:00Z", "allInOrg": "true"}
    assert stats(admin(bearer), params) == figures(totalFeedback=1, totalHelpful=1)


# --- knowledge bases ---------------------------------------------------------------------


@pytest.fixture
def kb_data(load):
    def extraction(n):
        return {"inputTokens": n, "outputTokens": n // 10}

    other = org_with_members("org_count_other", {"user_count_zed": {"role": "org:admin"}})
    load(
        org_records()
        + other
        + [
            knowledge_base("kb-a", ORG),
            knowledge_base("kb-b", ORG),
            knowledge_base("kb-empty", ORG),
            knowledge_base("kb-other", "org_count_other"),
            knowledge_base_file("kbf-a1", "kb-a", processed_at=IN, extraction=extraction(1000)),
            knowledge_base_file("kbf-a2", "kb-a", processed_at=IN, extraction=extraction(200)),
            knowledge_base_file("kbf-b1", "kb-b", processed_at=IN, extraction=extraction(30)),
            knowledge_base_file("kbf-a3", "kb-a", processed_at=None, extraction=extraction(40000)),
            knowledge_base_file("kbf-b2", "kb-b", processed_at=OUT, extraction=extraction(500000)),
            knowledge_base_file(
                "kbf-o1", "kb-other", processed_at=IN, extraction=extraction(6000000)
            ),
        ]
    )


KB_IN_RANGE = figures(
    kbFileCount=3,
    kbCount=2,
    kbExtractInputTokens=1230,
    kbExtractOutputTokens=123,
    kbExtractTotalTokens=1353,
)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"allInOrg": "true"},
        {"allInOrg": "true", "userId": BOB},
        {"allInOrg": "true", "userId": "user_count_nobody"},
        {"agentId": str(A2)},
        {"agentId": "424242"},
        {"metadataKey": "nope"},
        {"metadataValue": "nope"},
        {"metadataKey": "team", "metadataValue": "nope"},
    ],
)
def test_kb_figures_are_organization_wide(kb_data, bearer, stats, extra):
    assert stats(admin(bearer), {**RANGE, **extra}) == KB_IN_RANGE


def test_kb_figures_for_a_member(kb_data, bearer, stats):
    bob = bearer(user_id=BOB, org_id=ORG, role="org:member")
    assert stats(bob, RANGE) == KB_IN_RANGE


def test_kb_file_without_processed_at_never_counts(kb_data, bearer, stats):
    everything = {"from": "1970-01-01", "to": "2999-12-31", "allInOrg": "true"}
    assert stats(admin(bearer), everything) == figures(
        kbFileCount=4,
        kbCount=2,
        kbExtractInputTokens=501230,
        kbExtractOutputTokens=50123,
        kbExtractTotalTokens=551353,
    )


def test_other_organizations_kb_figures(kb_data, bearer, stats):
    zed = bearer(user_id="user_count_zed", org_id="org_count_other", role="org:admin")
    assert stats(zed, RANGE) == figures(
        kbFileCount=1,
        kbCount=1,
        kbExtractInputTokens=6000000,
        kbExtractOutputTokens=600000,
        kbExtractTotalTokens=6600000,
    )
    assert stats(zed, {"from": "2024-07-01", "to": "2024-07-31"}) == ZERO
