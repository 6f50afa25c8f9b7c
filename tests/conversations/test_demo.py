"""The demo generator's records, the seed_demo command end to end, and the shared factories."""

import io
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from asteragents.models import Membership, Organization, User
from conversations.demo import DEMO_ADMIN_ID, DEMO_ORG_ID, demo_records
from conversations.models import Agent, Conversation, Feedback, Message
from kb.models import KnowledgeBase, KnowledgeBaseFile
from stats.selectors import StatsQuery, stats_compute, stats_compute_raw
from tests.factories import (
    ConversationFactory,
    FeedbackFactory,
    KnowledgeBaseFileFactory,
    KnowledgeBaseFileRecordFactory,
    MessageFactory,
    MessageRecordFactory,
    UsageRecordFactory,
)

NOW = datetime(2024, 3, 15, 12, 30, 45, 123456, tzinfo=UTC)
TYPE_ORDER = [
    "organization",
    "user",
    "membership",
    "agent",
    "conversation",
    "message",
    "feedback",
    "knowledgeBase",
    "knowledgeBaseFile",
]
# What a record names, and the record type it must have been given by earlier.
REFERENCES = {
    "membership": {"organizationId": "organization", "userId": "user"},
    "agent": {"organizationId": "organization"},
    "conversation": {"organizationId": "organization", "userId": "user", "agentId": "agent"},
    "message": {"conversationId": "conversation"},
    "feedback": {"messageId": "message", "userId": "user"},
    "knowledgeBase": {"organizationId": "organization"},
    "knowledgeBaseFile": {"knowledgeBaseId": "knowledgeBase"},
}
MODELS = {
    "organization": Organization,
    "user": User,
    "membership": Membership,
    "agent": Agent,
    "conversation": Conversation,
    "message": Message,
    "feedback": Feedback,
    "knowledgeBase": KnowledgeBase,
    "knowledgeBaseFile": KnowledgeBaseFile,
}


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(scope="module")
def records():
    """The default-sized demo (3 organizations, 6 weeks) ending at NOW."""
    return list(demo_records(seed=42, now=NOW))


def by_type(records, kind):
    return [record for record in records if record["type"] == kind]


# --- The generator ----------------------------------------------------------------------------


def test_records_come_in_dependency_order_and_name_only_earlier_records(records):
    kinds = [record["type"] for record in records]
    assert sorted(set(kinds), key=TYPE_ORDER.index) == TYPE_ORDER
    assert kinds == sorted(kinds, key=TYPE_ORDER.index)
    seen = {kind: set() for kind in TYPE_ORDER}
    for record in records:
        for field, kind in REFERENCES.get(record["type"], {}).items():
            assert record[field] in seen[kind], (record["type"], field, record[field])
        if record["type"] != "membership":
            seen[record["type"]].add(record["id"])


def test_conversations_stay_inside_their_organization(records):
    members = {(m["organizationId"], m["userId"]) for m in by_type(records, "membership")}
    agent_org = {a["id"]: a["organizationId"] for a in by_type(records, "agent")}
    conversations = {c["id"]: c for c in by_type(records, "conversation")}
    for conversation in conversations.values():
        assert (conversation["organizationId"], conversation["userId"]) in members
        assert agent_org[conversation["agentId"]] == conversation["organizationId"]
    conversation_of = {
        m["id"]: conversations[m["conversationId"]] for m in by_type(records, "message")
    }
    for feedback in by_type(records, "feedback"):
        organization = conversation_of[feedback["messageId"]]["organizationId"]
        assert (organization, feedback["userId"]) in members


def test_ids_are_unique_and_agent_ids_are_integers_unique_across_organizations(records):
    for kind in TYPE_ORDER:
        if kind != "membership":
            ids = [record["id"] for record in by_type(records, kind)]
            assert len(ids) == len(set(ids)), kind
    agents = by_type(records, "agent")
    assert all(type(agent["id"]) is int for agent in agents)
    assert len({agent["organizationId"] for agent in agents}) == 3


def test_clerk_shaped_ids(records):
    organizations = by_type(records, "organization")
    assert [org["id"] for org in organizations][0] == DEMO_ORG_ID
    assert all(org["id"].startswith("org_") for org in organizations)
    assert all(user["id"].startswith("user_") for user in by_type(records, "user"))
    assert len(organizations) == 3


def test_demo_org_has_its_admin_and_varied_member_metadata(records):
    organization = by_type(records, "organization")[0]
    assert (organization["name"], organization["slug"]) == ("Demo Co", "demo")
    demo = [m for m in by_type(records, "membership") if m["organizationId"] == DEMO_ORG_ID]
    roles = {m["userId"]: m["role"] for m in demo}
    assert roles[DEMO_ADMIN_ID] == "org:admin"
    assert sorted(role for user, role in roles.items() if user != DEMO_ADMIN_ID) == [
        "org:member"
    ] * (len(demo) - 1)
    assert len(demo) >= 5
    assert all(user.startswith("user_demo_") for user in roles)
    values = [value for m in demo for value in m["publicMetadata"].values()]
    keys = [key for m in demo for key in m["publicMetadata"]]
    levels = [m["publicMetadata"].get("level") for m in demo]
    assert 3 in levels and any(type(level) is float and level == 3.0 for level in levels)
    assert any(type(level) is int and level == 3 for level in levels)
    assert any(isinstance(value, bool) for value in values)
    assert any(isinstance(value, list) and value for value in values)
    assert any("." in key for key in keys)
    assert None in values
    assert any(isinstance(value, str) for value in values)


def test_a_user_in_two_organizations_has_other_metadata_in_each(records):
    memberships = by_type(records, "membership")
    organizations_of = Counter(m["userId"] for m in memberships)
    shared = [user for user, count in organizations_of.items() if count == 2]
    assert len(shared) == 1
    metadata = [m["publicMetadata"] for m in memberships if m["userId"] == shared[0]]
    assert metadata[0] != metadata[1]


def test_every_timestamp_is_inside_the_period_ending_now(records):
    start = NOW - timedelta(weeks=6)
    for kind in ("conversation", "message", "feedback"):
        for record in by_type(records, kind):
            assert start <= instant(record["createdAt"]) <= NOW, record
    files = by_type(records, "knowledgeBaseFile")
    processed = [f for f in files if f["processedAt"] is not None]
    assert all(start <= instant(f["processedAt"]) <= NOW for f in processed)
    unprocessed = [f for f in files if f["processedAt"] is None]
    assert unprocessed and all("extraction" not in f for f in unprocessed)
    assert all("inputTokens" in f["extraction"] for f in processed)


def test_the_last_week_has_activity(records):
    recent = [
        m for m in by_type(records, "message") if instant(m["createdAt"]) > NOW - timedelta(7)
    ]
    assert len(recent) > 50


def test_conversations_alternate_user_and_assistant_with_2_to_30_messages(records):
    conversations = {c["id"]: c for c in by_type(records, "conversation")}
    messages_of = {conversation_id: [] for conversation_id in conversations}
    for message in by_type(records, "message"):
        messages_of[message["conversationId"]].append(message)
    for conversation_id, messages in messages_of.items():
        assert 2 <= len(messages) <= 30
        assert [m["role"] for m in messages] == ["user", "assistant"] * (len(messages) // 2) + [
            "user"
        ] * (len(messages) % 2)
        times = [instant(m["createdAt"]) for m in messages]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert times[0] == instant(conversations[conversation_id]["createdAt"])
        assert messages[0]["content"] == conversations[conversation_id]["title"]


def test_assistant_messages_carry_usage_in_current_and_legacy_names(records):
    assistant = by_type([m for m in records if m.get("role") == "assistant"], "message")
    user = [m for m in by_type(records, "message") if m["role"] == "user"]
    assert all("usage" not in m and "toolInvocations" not in m for m in user)
    usages = [m["usage"] for m in assistant]
    assert all(isinstance(usage, dict) for usage in usages)
    legacy = [u for u in usages if "promptTokens" in u]
    current = [u for u in usages if "inputTokens" in u]
    assert legacy and current and len(legacy) + len(current) == len(usages)
    assert any("totalTokens" not in u for u in current)
    for usage in usages:
        assert all(type(count) is int and count >= 0 for count in usage.values())
        if "totalTokens" in usage:
            assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]


def test_tool_calls_are_written_as_each_ai_sdk_version_writes_them(records):
    messages = by_type(records, "message")
    with_invocations = [m for m in messages if m.get("toolInvocations")]
    part_types = Counter(
        part["type"] for m in messages if "toolInvocations" not in m for part in m.get("parts", [])
    )
    assert with_invocations
    assert all(
        {"toolCallId", "toolName", "state"} <= set(t)
        for m in with_invocations
        for t in m["toolInvocations"]
    )
    assert part_types["text"] and any(kind.startswith("tool-") for kind in part_types)


def test_about_five_percent_of_messages_get_feedback_helpful_or_not(records):
    feedback = by_type(records, "feedback")
    messages = by_type(records, "message")
    assert 0.02 * len(messages) <= len(feedback) <= 0.10 * len(messages)
    assert {f["helpful"] for f in feedback} == {True, False}
    assistant_ids = {m["id"] for m in messages if m["role"] == "assistant"}
    assert all(f["messageId"] in assistant_ids for f in feedback)


def test_the_same_seed_gives_the_same_ids_whatever_now_is():
    def ids(**kwargs):
        return [(r["type"], r.get("id"), r.get("userId")) for r in demo_records(**kwargs)]

    first = ids(seed=5, weeks=1, orgs=2, now=NOW)
    assert first == ids(seed=5, weeks=1, orgs=2, now=NOW + timedelta(days=3, hours=7))
    assert first != ids(seed=6, weeks=1, orgs=2, now=NOW)


def test_a_later_now_moves_every_timestamp_with_it():
    def times(now):
        return [r.get("createdAt") for r in demo_records(seed=5, weeks=1, orgs=1, now=now)]

    earlier, later = times(NOW), times(NOW + timedelta(days=2))
    assert len(earlier) == len(later)
    shifted = [
        instant(b) - instant(a) for a, b in zip(earlier, later, strict=True) if a is not None
    ]
    assert set(shifted) == {timedelta(days=2)}


@pytest.mark.parametrize("kwargs", [{"weeks": 0}, {"orgs": 0}])
def test_sizes_below_one_are_refused(kwargs):
    with pytest.raises(ValueError, match="at least 1"):
        next(demo_records(**kwargs))


# --- seed_demo, through the importer ----------------------------------------------------------

TINY = ["--seed", "3", "--weeks", "1", "--orgs", "2", "--now", "2024-03-15T12:30:45Z"]
TINY_NOW = datetime(2024, 3, 15, 12, 30, 45, tzinfo=UTC)


def seed(*args):
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_writes_what_the_generator_made():
    expected = Counter(r["type"] for r in demo_records(seed=3, weeks=1, orgs=2, now=TINY_NOW))

    output = seed(*TINY)

    assert {kind: model.objects.count() for kind, model in MODELS.items()} == dict(expected)
    assert f"{expected['message']} messages" in output
    admin = Membership.objects.get(organization_id=DEMO_ORG_ID, user_id=DEMO_ADMIN_ID)
    assert admin.role == "org:admin"
    assert Organization.objects.get(id=DEMO_ORG_ID).name == "Demo Co"


@pytest.mark.django_db
def test_seed_demo_imports_the_token_counts_the_records_carry():
    records = list(demo_records(seed=3, weeks=1, orgs=2, now=TINY_NOW))
    usages = [r["usage"] for r in by_type(records, "message") if "usage" in r]
    # Independent reading of the two spellings: each usage has exactly one of them.
    expected_input = sum(u.get("inputTokens", u.get("promptTokens", 0)) for u in usages)
    expected_output = sum(u.get("outputTokens", u.get("completionTokens", 0)) for u in usages)

    seed(*TINY)

    rows = Message.objects.all()
    assert sum(m.input_tokens for m in rows) == expected_input
    assert sum(m.output_tokens for m in rows) == expected_output
    assert sum(m.total_tokens for m in rows) == expected_input + expected_output


@pytest.mark.django_db
def test_seed_demo_twice_with_the_same_seed_changes_nothing():
    seed(*TINY)
    before = {kind: model.objects.count() for kind, model in MODELS.items()}
    seed(*TINY)
    assert {kind: model.objects.count() for kind, model in MODELS.items()} == before


@pytest.mark.django_db
def test_seeding_again_a_day_later_moves_the_data_and_the_stats_follow():
    later = TINY_NOW + timedelta(days=1)
    seed(*TINY)
    seed(*TINY[:-1], "2024-03-16T12:30:45Z")
    records = list(demo_records(seed=3, weeks=1, orgs=2, now=later))
    start, end = later - timedelta(days=3), later
    demo_conversations = {
        c["id"] for c in by_type(records, "conversation") if c["organizationId"] == DEMO_ORG_ID
    }
    in_range = [
        m
        for m in by_type(records, "message")
        if m["conversationId"] in demo_conversations and start <= instant(m["createdAt"]) <= end
    ]
    query = StatsQuery(organization_id=DEMO_ORG_ID, start=start, end=end)

    stats = stats_compute(query=query)

    assert in_range and stats["messageCount"] == len(in_range)
    assert stats["conversationCount"] == len({m["conversationId"] for m in in_range})
    assert stats == stats_compute_raw(query=query)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--weeks", "0"], "at least 1"),
        (["--orgs", "two"], "whole number"),
        (["--now", "yesterday"], "ISO 8601"),
    ],
)
def test_seed_demo_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *args)


# --- The shared factories ---------------------------------------------------------------------


def test_usage_record_factory_spellings():
    assert UsageRecordFactory(inputTokens=10, outputTokens=2) == {
        "inputTokens": 10,
        "outputTokens": 2,
        "totalTokens": 12,
    }
    assert UsageRecordFactory(legacy=True, promptTokens=7, completionTokens=1) == {
        "promptTokens": 7,
        "completionTokens": 1,
    }


def test_message_record_factory_leaves_out_what_a_user_message_lacks():
    user = MessageRecordFactory()
    assert {"toolInvocations", "parts", "usage"}.isdisjoint(user)
    assistant = MessageRecordFactory(tool_parts=True, tool_calls=2)
    assert assistant["role"] == "assistant" and "toolInvocations" not in assistant
    assert [part["type"].startswith("tool-") for part in assistant["parts"]] == [False, True, True]
    assert KnowledgeBaseFileRecordFactory(unprocessed=True)["processedAt"] is None


@pytest.mark.django_db
def test_message_factory_copies_the_conversation_and_derives_counts():
    conversation = ConversationFactory()
    message = MessageFactory(
        conversation=conversation,
        role="assistant",
        usage={"promptTokens": 100, "completionTokens": 20},
        tool_invocations=[{"toolName": "a"}, {"toolName": "b"}],
    )
    assert (message.organization, message.owner, message.agent) == (
        conversation.organization,
        conversation.user,
        conversation.agent,
    )
    assert (message.input_tokens, message.output_tokens, message.total_tokens) == (100, 20, 120)
    assert message.tool_call_count == 2
    assert Membership.objects.filter(
        organization=conversation.organization, user=conversation.user
    ).exists()


@pytest.mark.django_db
def test_feedback_and_kb_file_factories_derive_their_copies():
    feedback = FeedbackFactory(helpful=False)
    conversation = feedback.message.conversation
    assert (feedback.organization, feedback.owner, feedback.agent, feedback.user) == (
        conversation.organization,
        conversation.user,
        conversation.agent,
        conversation.user,
    )
    kb_file = KnowledgeBaseFileFactory(extraction={"inputTokens": 1500, "outputTokens": 60})
    assert kb_file.organization == kb_file.knowledge_base.organization
    assert (
        kb_file.extract_input_tokens,
        kb_file.extract_output_tokens,
        kb_file.extract_total_tokens,
    ) == (1500, 60, 1560)
