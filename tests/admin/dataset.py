"""A small organization whose March 2024 figures are worked out by hand below.

Shared by the admin, dashboard_stats and browser tests. org_other's rows sit in the same
period with huge numbers: any of them counted would show.
"""

from datetime import UTC, datetime

from asteragents.models import Membership
from conversations.factories import (
    AgentFactory,
    ConversationFactory,
    FeedbackFactory,
    KnowledgeBaseFactory,
    KnowledgeBaseFileFactory,
    MembershipFactory,
    MessageFactory,
    OrganizationFactory,
    UserFactory,
)
from stats.rollups import rebuild_all

ORG = "org_acme"
OTHER_ORG = "org_other"
MARCH = {"from": "2024-03-01", "to": "2024-03-31"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _message(message_id, conversation, when, *, tools=0, tokens=(0, 0), role="assistant"):
    """A message with its integer columns set explicitly (usage kept consistent)."""
    input_tokens, output_tokens = tokens
    return MessageFactory(
        id=message_id,
        conversation=conversation,
        role=role,
        created_at=at(when),
        usage={"inputTokens": input_tokens, "outputTokens": output_tokens} if any(tokens) else None,
        tool_call_count=tools,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )


def _kb_file(file_id, knowledge_base, processed_at, tokens):
    input_tokens, output_tokens = tokens
    return KnowledgeBaseFileFactory(
        id=file_id,
        knowledge_base=knowledge_base,
        processed_at=at(processed_at) if processed_at else None,
        status="processed" if processed_at else "pending",
        extraction={"inputTokens": input_tokens, "outputTokens": output_tokens},
        extract_input_tokens=input_tokens,
        extract_output_tokens=output_tokens,
        extract_total_tokens=input_tokens + output_tokens,
    )


def refresh_rollups() -> None:
    """Rebuild the selector's pre-aggregates, which the factories (unlike the importer) skip."""
    rebuild_all()


def create_dataset() -> None:
    acme = OrganizationFactory(id=ORG, name="Acme Corp", slug="acme")
    other = OrganizationFactory(id=OTHER_ORG, name="Other Inc", slug="other")
    ann = UserFactory(id="user_ann", email="ann@acme.test", first_name="Ann")
    bob = UserFactory(id="user_bob", email="bob@acme.test", first_name="Bob")
    eve = UserFactory(id="user_eve", email="eve@other.test", first_name="Eve")
    MembershipFactory(
        organization=acme,
        user=ann,
        role=Membership.Role.ADMIN,
        public_metadata={"plan": "beta", "seats": 3},
    )
    MembershipFactory(organization=acme, user=bob, public_metadata={"plan": "pro"})
    # Eve is "beta" too, but in another organization: the metadata filter must not see it.
    MembershipFactory(organization=other, user=eve, public_metadata={"plan": "beta"})

    support = AgentFactory(id=7, organization=acme, name="Support")
    sales = AgentFactory(id=8, organization=acme, name="Sales")
    foreign = AgentFactory(id=9, organization=other, name="Elsewhere")

    c1 = ConversationFactory(
        id="conv_1", organization=acme, user=ann, agent=support, created_at=at("2024-03-01T09:00")
    )
    c2 = ConversationFactory(
        id="conv_2", organization=acme, user=bob, agent=sales, created_at=at("2024-03-10T12:00")
    )
    c3 = ConversationFactory(
        id="conv_3", organization=acme, user=ann, agent=sales, created_at=at("2024-03-20T08:00")
    )
    c_other = ConversationFactory(
        id="conv_other", organization=other, user=eve, agent=foreign, created_at=at("2024-03-05")
    )

    _message("m1", c1, "2024-03-01T09:00:00", role="user")
    m2 = _message("m2", c1, "2024-03-01T09:00:30", tools=2, tokens=(800, 60))
    m3 = _message("m3", c2, "2024-03-10T12:00:00", tools=1, tokens=(1200, 300))
    m4 = _message("m4", c3, "2024-03-20T08:00:00", tokens=(1000, 500))
    _message("m5_april", c3, "2024-04-01T00:00:00", tools=1, tokens=(5, 5))  # excluded: after
    m_other = _message("m_other", c_other, "2024-03-05T10:00:00", tools=50, tokens=(99_999, 1))

    FeedbackFactory(id="f1", message=m2, user=ann, helpful=True, created_at=at("2024-03-01T09:01"))
    FeedbackFactory(id="f2", message=m3, user=bob, helpful=False, created_at=at("2024-03-10T12:05"))
    # On a March message, but given in April: counted by its own createdAt, so excluded.
    FeedbackFactory(id="f3_april", message=m4, user=ann, helpful=True, created_at=at("2024-04-01"))
    FeedbackFactory(id="f_other", message=m_other, user=eve, created_at=at("2024-03-05T10:01"))

    handbook = KnowledgeBaseFactory(id="kb_handbook", organization=acme, name="Handbook")
    pricing = KnowledgeBaseFactory(id="kb_pricing", organization=acme, name="Pricing")
    foreign_kb = KnowledgeBaseFactory(id="kb_other", organization=other, name="Other KB")
    _kb_file("kf1", handbook, "2024-03-02T10:00:00", (15_000, 900))
    _kb_file("kf2", handbook, "2024-03-15T10:00:00", (2_000, 100))
    _kb_file("kf3_feb", handbook, "2024-02-29T23:59:59.999999", (7, 7))  # excluded: before
    _kb_file("kf4_pending", handbook, None, (0, 0))  # excluded: never processed
    _kb_file("kf5_last", pricing, "2024-03-31T23:59:59.999999", (100, 10))  # the last instant
    _kb_file("kf_other", foreign_kb, "2024-03-03T00:00:00", (500_000, 500_000))
    refresh_rollups()


def figures(**values: int) -> dict[str, int]:
    """The sixteen figures in the contract's order, zero unless given."""
    names = (
        "conversationCount messageCount toolCalls totalTokens inputTokens outputTokens "
        "uniqueUsers uniqueAgents totalFeedback totalHelpful totalNotHelpful kbFileCount "
        "kbCount kbExtractTotalTokens kbExtractInputTokens kbExtractOutputTokens"
    ).split()
    unknown = set(values) - set(names)
    assert not unknown, unknown
    return {name: values.get(name, 0) for name in names}


# The knowledge-base figures are organization-wide: the same under every filter.
MARCH_KB = dict(
    kbFileCount=3,  # kf1, kf2, kf5_last
    kbCount=2,  # handbook, pricing
    kbExtractInputTokens=17_100,  # 15000 + 2000 + 100
    kbExtractOutputTokens=1_010,  # 900 + 100 + 10
    kbExtractTotalTokens=18_110,
)

# org_acme, 2024-03-01 .. 2024-03-31, every user: m1..m4, f1 and f2.
MARCH_ALL = figures(
    conversationCount=3,
    messageCount=4,
    toolCalls=3,  # 0 + 2 + 1 + 0
    inputTokens=3_000,  # 800 + 1200 + 1000
    outputTokens=860,  # 60 + 300 + 500
    totalTokens=3_860,
    uniqueUsers=2,
    uniqueAgents=2,
    totalFeedback=2,
    totalHelpful=1,
    totalNotHelpful=1,
    **MARCH_KB,
)

# --agent 8 (Sales): m3 (bob) and m4 (ann); f2 on m3.
MARCH_AGENT_8 = figures(
    conversationCount=2,
    messageCount=2,
    toolCalls=1,
    inputTokens=2_200,
    outputTokens=800,
    totalTokens=3_000,
    uniqueUsers=2,
    uniqueAgents=1,
    totalFeedback=1,
    totalNotHelpful=1,
    **MARCH_KB,
)

# metadata plan=beta: Ann's m1, m2 (conv_1, agent 7) and m4 (conv_3, agent 8); f1.
MARCH_BETA = figures(
    conversationCount=2,
    messageCount=3,
    toolCalls=2,
    inputTokens=1_800,
    outputTokens=560,
    totalTokens=2_360,
    uniqueUsers=1,
    uniqueAgents=2,
    totalFeedback=1,
    totalHelpful=1,
    **MARCH_KB,
)

# --user user_bob: m3 and f2.
MARCH_BOB = figures(
    conversationCount=1,
    messageCount=1,
    toolCalls=1,
    inputTokens=1_200,
    outputTokens=300,
    totalTokens=1_500,
    uniqueUsers=1,
    uniqueAgents=1,
    totalFeedback=1,
    totalNotHelpful=1,
    **MARCH_KB,
)
