"""Upserts seen through getStats: the figures follow the records as last imported."""

import pytest

from tests.contract.activity import (
    conversation,
    feedback,
    knowledge_base,
    knowledge_base_file,
    membership,
    message,
    org_with_members,
)
from tests.contract.conftest import figures

pytestmark = pytest.mark.django_db

ORG, ANN, BOB, A1, A2 = "org_reimport", "user_re_ann", "user_re_bob", 1201, 1202
RANGE = {"from": "2024-10-01", "to": "2024-10-31", "allInOrg": "true"}
AT = "2024-10-05T10:00:00Z"


def first_file() -> list[dict]:
    members = {ANN: {"role": "org:admin"}, BOB: {"metadata": {"old": "x"}}}
    return org_with_members(ORG, members, agents=[A1, A2]) + [
        conversation("conv-re", ORG, BOB, A1, AT),
        message("m-re", "conv-re", AT, usage={"inputTokens": 10, "outputTokens": 1}),
        feedback("f-re", "m-re", ANN, helpful=True, created_at=AT),
        knowledge_base("kb-re", ORG),
        knowledge_base_file("kbf-re", "kb-re", processed_at=AT, extraction={"inputTokens": 5}),
    ]


BOB_ONCE = figures(
    conversationCount=1,
    messageCount=1,
    inputTokens=10,
    outputTokens=1,
    totalTokens=11,
    uniqueUsers=1,
    uniqueAgents=1,
    totalFeedback=1,
    totalHelpful=1,
    kbFileCount=1,
    kbCount=1,
    kbExtractInputTokens=5,
    kbExtractTotalTokens=5,
)


@pytest.fixture
def ann(load, bearer):
    load(first_file())
    return bearer(user_id=ANN, org_id=ORG, role="org:admin")


def test_importing_the_same_file_twice_counts_once(ann, load, stats):
    load(first_file())
    assert stats(ann, RANGE) == BOB_ONCE


def test_changed_usage_and_feedback_are_recounted(ann, load, stats):
    load(
        [
            message("m-re", "conv-re", AT, usage={"promptTokens": 20, "completionTokens": 2}),
            feedback("f-re", "m-re", ANN, helpful=False, created_at=AT),
            knowledge_base_file(
                "kbf-re", "kb-re", processed_at=None, extraction={"inputTokens": 5}
            ),
        ]
    )
    assert stats(ann, RANGE) == figures(
        conversationCount=1,
        messageCount=1,
        inputTokens=20,
        outputTokens=2,
        totalTokens=22,
        uniqueUsers=1,
        uniqueAgents=1,
        totalFeedback=1,
        totalNotHelpful=1,
    )


def test_conversation_moved_to_another_agent_takes_its_messages_and_feedback(ann, load, stats):
    # S is filtered on the conversation's agent: its messages follow it.
    load([conversation("conv-re", ORG, BOB, A2, AT)])
    assert stats(ann, {**RANGE, "agentId": str(A2)}) == BOB_ONCE
    assert stats(ann, {**RANGE, "agentId": str(A1)}) == figures(
        kbFileCount=1, kbCount=1, kbExtractInputTokens=5, kbExtractTotalTokens=5
    )


def test_conversation_given_to_another_owner_takes_its_messages_and_feedback(ann, load, stats):
    load([conversation("conv-re", ORG, ANN, A1, AT)])
    assert stats(ann, {**RANGE, "userId": ANN}) == BOB_ONCE
    assert stats(ann, {**RANGE, "userId": BOB}) == figures(
        kbFileCount=1, kbCount=1, kbExtractInputTokens=5, kbExtractTotalTokens=5
    )


def test_membership_metadata_is_the_last_imported(ann, load, stats):
    # An upsert replaces publicMetadata (ACTIVITY.md: a record is an upsert by its id).
    load([membership(ORG, BOB, metadata={"new": "y"})])
    kb_only = figures(kbFileCount=1, kbCount=1, kbExtractInputTokens=5, kbExtractTotalTokens=5)
    assert stats(ann, {**RANGE, "metadataKey": "new", "metadataValue": "y"}) == BOB_ONCE
    assert stats(ann, {**RANGE, "metadataKey": "old"}) == kb_only
    assert stats(ann, {**RANGE, "metadataValue": "x"}) == kb_only
