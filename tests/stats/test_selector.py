"""stats_compute against rows placed just inside and just outside each bound."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from asteragents.models import Membership, Organization, User
from conversations.models import Agent, Conversation, Feedback, Message
from kb.models import KnowledgeBase, KnowledgeBaseFile
from stats.metrics import METRIC_NAMES
from stats.rollups import rebuild_all
from stats.selectors import StatsQuery, stats_compute, stats_compute_raw

pytestmark = pytest.mark.django_db

TIME_ZERO = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
ZEROS = dict.fromkeys(METRIC_NAMES, 0)


def stats(**overrides) -> dict:
    """The figures by the raw definition, after checking the fast path agrees."""
    query = {"organization_id": "org_a", "start": TIME_ZERO, "end": TIME_ZERO + timedelta(hours=1)}
    query = StatsQuery(**(query | overrides))
    rebuild_all()
    raw = stats_compute_raw(query=query)
    assert stats_compute(query=query) == raw
    return raw


def expect(**figures) -> dict:
    return ZEROS | figures


class World:
    """Two organizations; org_a has ann (admin) and bob, agents 1 and 2; org_b mirrors it."""

    def __init__(self):
        self.orgs = {o: Organization.objects.create(id=o) for o in ("org_a", "org_b")}
        self.users = {u: User.objects.create(id=u) for u in ("ann", "bob", "cat")}
        for org_id, user_id, metadata in [
            ("org_a", "ann", {"team": "red"}),
            ("org_a", "bob", {"team": "blue"}),
            ("org_b", "ann", {"team": "blue"}),
            ("org_b", "cat", {"team": "blue"}),
        ]:
            Membership.objects.create(
                organization_id=org_id, user_id=user_id, public_metadata=metadata
            )
        Agent.objects.create(id=1, organization_id="org_a")
        Agent.objects.create(id=2, organization_id="org_a")
        Agent.objects.create(id=3, organization_id="org_b")

    def conversation(self, conv_id, org_id, user_id, agent_id):
        return Conversation.objects.create(
            id=conv_id,
            organization_id=org_id,
            user_id=user_id,
            agent_id=agent_id,
            created_at=TIME_ZERO,
        )

    def message(self, msg_id, conv, at, *, tools=0, tokens=(0, 0, 0)):
        return Message.objects.create(
            id=msg_id,
            organization_id=conv.organization_id,
            conversation=conv,
            owner_id=conv.user_id,
            agent_id=conv.agent_id,
            role="assistant",
            created_at=at,
            tool_call_count=tools,
            input_tokens=tokens[0],
            output_tokens=tokens[1],
            total_tokens=tokens[2],
        )

    def feedback(self, fb_id, message, at, *, helpful=True, by="ann"):
        return Feedback.objects.create(
            id=fb_id,
            organization_id=message.organization_id,
            message=message,
            user_id=by,
            owner_id=message.owner_id,
            agent_id=message.agent_id,
            helpful=helpful,
            created_at=at,
        )

    def kb_file(self, file_id, kb_id, org_id, processed_at, tokens=(0, 0, 0)):
        kb, _ = KnowledgeBase.objects.get_or_create(id=kb_id, organization_id=org_id)
        return KnowledgeBaseFile.objects.create(
            id=file_id,
            organization_id=org_id,
            knowledge_base=kb,
            name=file_id,
            processed_at=processed_at,
            extract_input_tokens=tokens[0],
            extract_output_tokens=tokens[1],
            extract_total_tokens=tokens[2],
        )


@pytest.fixture
def world():
    return World()


def test_empty_database_gives_sixteen_zeros():
    assert stats() == ZEROS
    assert list(stats()) == list(METRIC_NAMES)


def test_bounds_are_inclusive_to_the_microsecond(world):
    start, end = TIME_ZERO, TIME_ZERO + timedelta(hours=1)
    conv = world.conversation("c1", "org_a", "ann", 1)
    world.message("before", conv, start - US, tools=100)  # excluded
    world.message("at_start", conv, start, tools=1, tokens=(10, 1, 11))  # included
    world.message("at_end", conv, end, tools=2, tokens=(20, 2, 22))  # included
    world.message("after", conv, end + US, tools=100)  # excluded
    assert stats(start=start, end=end) == expect(
        conversationCount=1,
        messageCount=2,
        toolCalls=3,
        inputTokens=30,
        outputTokens=3,
        totalTokens=33,
        uniqueUsers=1,
        uniqueAgents=1,
    )
    assert stats(start=start, end=start) == expect(
        conversationCount=1,
        messageCount=1,
        toolCalls=1,
        inputTokens=10,
        outputTokens=1,
        totalTokens=11,
        uniqueUsers=1,
        uniqueAgents=1,
    )


def test_feedback_counts_by_its_own_created_at(world):
    start, end = TIME_ZERO, TIME_ZERO + timedelta(hours=1)
    conv = world.conversation("c1", "org_a", "ann", 1)
    old_message = world.message("old", conv, start - timedelta(days=3))
    new_message = world.message("new", conv, start + timedelta(minutes=1))
    world.feedback("f_in_old_msg", old_message, start, helpful=True)  # included
    world.feedback("f_in", new_message, end, helpful=False, by="bob")  # included
    world.feedback("f_after", new_message, end + US)  # excluded
    world.feedback("f_before", old_message, start - US)  # excluded
    assert stats(start=start, end=end) == expect(
        conversationCount=1,
        messageCount=1,
        uniqueUsers=1,
        uniqueAgents=1,
        totalFeedback=2,
        totalHelpful=1,
        totalNotHelpful=1,
    )


def test_distinct_counts_and_filters(world):
    at = TIME_ZERO + timedelta(minutes=5)
    ann1 = world.conversation("ann1", "org_a", "ann", 1)
    ann2 = world.conversation("ann2", "org_a", "ann", 2)
    bob1 = world.conversation("bob1", "org_a", "bob", 1)
    for i, conv in enumerate([ann1, ann1, ann2, bob1, bob1, bob1]):
        world.message(f"m{i}", conv, at, tokens=(1, 1, 2))
    everyone = stats()
    assert (everyone["messageCount"], everyone["conversationCount"]) == (6, 3)
    assert (everyone["uniqueUsers"], everyone["uniqueAgents"], everyone["totalTokens"]) == (
        2,
        2,
        12,
    )
    ann = stats(user_id="ann")
    assert (ann["messageCount"], ann["conversationCount"], ann["uniqueAgents"]) == (3, 2, 2)
    agent1 = stats(agent_id=1)
    assert (agent1["messageCount"], agent1["conversationCount"], agent1["uniqueUsers"]) == (
        5,
        2,
        2,
    )
    assert stats(user_id="bob", agent_id=2)["messageCount"] == 0
    blue = stats(metadata_key="team", metadata_value="blue")
    assert (blue["messageCount"], blue["uniqueUsers"]) == (3, 1)
    assert stats(metadata_value="red")["messageCount"] == 3
    assert stats(metadata_key="team")["messageCount"] == 6
    assert stats(metadata_key="missing")["messageCount"] == 0


def test_knowledge_base_files_are_organization_wide(world):
    start, end = TIME_ZERO, TIME_ZERO + timedelta(hours=1)
    world.kb_file("f1", "kb1", "org_a", start, tokens=(100, 10, 110))  # included
    world.kb_file("f2", "kb1", "org_a", end, tokens=(200, 20, 220))  # included
    world.kb_file("f3", "kb2", "org_a", end, tokens=(1, 2, 4))  # included (total as given)
    world.kb_file("f_after", "kb2", "org_a", end + US, tokens=(9, 9, 9))  # excluded
    world.kb_file("f_unprocessed", "kb2", "org_a", None, tokens=(9, 9, 9))  # excluded
    world.kb_file("f_other_org", "kb_b", "org_b", start, tokens=(9, 9, 9))  # excluded
    kb_figures = dict(
        kbFileCount=3,
        kbCount=2,
        kbExtractInputTokens=301,
        kbExtractOutputTokens=32,
        kbExtractTotalTokens=334,
    )
    assert stats() == expect(**kb_figures)
    # Never narrowed by user, agent or metadata.
    assert stats(user_id="nobody", agent_id=99, metadata_value="x") == expect(**kb_figures)


def test_other_organizations_never_count(world):
    at = TIME_ZERO + timedelta(minutes=5)
    theirs = world.conversation("b1", "org_b", "ann", 3)
    message = world.message("bm", theirs, at, tools=5, tokens=(5, 5, 10))
    world.feedback("bf", message, at)
    # The same user and a foreign agent id, asked through org_a, give zeros.
    assert stats() == ZEROS
    assert stats(user_id="ann") == ZEROS
    assert stats(agent_id=3) == ZEROS
    assert stats(metadata_value="blue") == ZEROS
    assert stats(organization_id="org_unknown") == ZEROS
    assert stats(organization_id="org_b")["messageCount"] == 1


@pytest.mark.parametrize("agent_id", [2**63, -(2**63) - 1, 10**30])
def test_agent_id_beyond_bigint_gives_zeros(world, agent_id):
    assert stats(agent_id=agent_id) == ZEROS


def test_nul_in_user_id_gives_zeros(world):
    assert stats(user_id="ann\x00") == ZEROS


@pytest.mark.parametrize(
    ("compute", "queries"), [(stats_compute_raw, 3), (stats_compute, 3)], ids=["raw", "fast"]
)
def test_queries_are_few_and_each_scoped_to_the_organization(world, compute, queries):
    conv = world.conversation("c1", "org_a", "ann", 1)
    world.message("m", conv, TIME_ZERO + timedelta(minutes=90))
    rebuild_all()
    query = StatsQuery(
        organization_id="org_a",
        start=TIME_ZERO + timedelta(minutes=30),
        end=TIME_ZERO + timedelta(days=3),
        user_id="ann",
        agent_id=1,
        metadata_key="team",
        metadata_value="red",
    )
    with CaptureQueriesContext(connection) as captured:
        assert compute(query=query)["messageCount"] == 1
    assert len(captured.captured_queries) == queries
    for query in captured.captured_queries:
        # Every table read, the membership subquery included, is filtered by organization.
        sql = query["sql"]
        assert sql.count('"organization_id" = ') == sql.count(' FROM "'), sql
