"""The demo dataset: a seeded, realistic stream of ACTIVITY.md records for several organizations.

`demo_records()` yields records in dependency order (organizations, users, memberships,
agents, conversations, messages, feedback, knowledge bases, their files) without holding the
messages in memory. Every random draw comes from generators seeded by `seed` alone and no
draw depends on `now`, so the same seed and sizes give the same ids on every run (re-importing
is an upsert) while the timestamps follow `now`: the data always ends near the present.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from conversations.factories import (
    OMIT,
    AgentRecordFactory,
    ConversationRecordFactory,
    FeedbackRecordFactory,
    KnowledgeBaseFileRecordFactory,
    KnowledgeBaseRecordFactory,
    MembershipRecordFactory,
    MessageRecordFactory,
    OrganizationRecordFactory,
    TextPartRecordFactory,
    ToolInvocationRecordFactory,
    ToolPartRecordFactory,
    UsageRecordFactory,
    UserRecordFactory,
    clerk_id,
    random_token,
    random_uuid,
)

DEMO_ORG_ID = "org_demo"
DEMO_ADMIN_ID = "user_demo_admin"
ADMIN_ROLE = "org:admin"
MEMBER_ROLE = "org:member"

MIN_MESSAGES, MAX_MESSAGES = 2, 30
FEEDBACK_RATE = 0.1  # of assistant messages, so about 5% of all messages
# Conversations start at least this long before `now`, so their last message is not later.
_LATEST_START = timedelta(hours=2)

# Demo Co's members, with deliberately varied publicMetadata for the metadata filters:
# the same number as 3 and 3.0 and "3", booleans, arrays, a key with a dot, a null value.
_DEMO_MEMBERS = (
    (
        DEMO_ADMIN_ID,
        ("Morgan", "Reyes"),
        ADMIN_ROLE,
        {"department": "engineering", "level": 5, "tags": ["beta", "admin-tools"], "onCall": True},
    ),
    (
        "user_demo_alice",
        ("Alice", "Nguyen"),
        MEMBER_ROLE,
        {
            "department": "sales",
            "level": 3,
            "tags": ["beta"],
            "region.code": "eu-west",
            "manager": None,
        },
    ),
    (
        "user_demo_bob",
        ("Bob", "Okafor"),
        MEMBER_ROLE,
        {"department": "sales", "level": 3.0, "remote": False, "tags": []},
    ),
    (
        "user_demo_carol",
        ("Carol", "Schmidt"),
        MEMBER_ROLE,
        {
            "department": "support",
            "level": 2,
            "tags": ["pilot", "beta"],
            "region.code": "us-east",
            "remote": True,
        },
    ),
    (
        "user_demo_dan",
        ("Dan", "Rossi"),
        MEMBER_ROLE,
        {"department": "Support", "level": "3", "startYear": 2021},
    ),
    ("user_demo_erin", ("Erin", "Park"), MEMBER_ROLE, {}),
)
# A consultant who is also a member of the second organization, with other metadata there.
_SHARED_MEMBER = ("user_demo_grace", ("Grace", "Lindqvist"))
_SHARED_METADATA = (
    {"department": "consulting", "contractor": True, "level": 4},
    {"department": "engineering", "level": 4.5, "tags": ["external"]},
)

_OTHER_ORG_NAMES = (
    "Northwind Traders",
    "Globex Corporation",
    "Initech",
    "Umbrella Health",
    "Stark Logistics",
    "Wayne Analytics",
)
_FIRST_NAMES = (
    "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sofia", "Yuki", "Amara", "Lucas", "Chloe",
    "Ravi", "Ines", "Tomasz", "Fatima", "Jonas", "Leila", "Diego", "Hana", "Kwame", "Elena",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Garcia", "Kowalski", "Tanaka", "Mensah", "Dubois", "Rossi", "Haddad", "Larsen",
    "Silva", "Novak", "Chen", "Patel", "Müller", "O'Brien", "Ivanova", "Santos", "Kim",
)  # fmt: skip
_DEPARTMENTS = ("sales", "support", "engineering", "finance", "marketing", "legal")
_TAGS = ("beta", "pilot", "power-user", "emea", "apac")

# What each kind of agent is asked, answers, and calls.
_AGENT_KINDS = {
    "Support Assistant": (
        (
            "Where is my order #{n}?",
            "Can I change the delivery address on order #{n}?",
            "A customer says invoice {n} was charged twice.",
            "How do I reset a customer's password?",
        ),
        (
            "Order #{n} is packed and leaves the warehouse today.",
            "I opened ticket T-{n} and assigned it to billing.",
            "The refund policy allows that within 30 days; I drafted the reply below.",
        ),
        ("lookupOrder", "createTicket", "searchKnowledgeBase", "issueRefund"),
    ),
    "Sales Copilot": (
        (
            "Summarize my pipeline for this quarter.",
            "Draft a follow-up to the lead from yesterday's demo.",
            "Which accounts have not been contacted in {n} days?",
        ),
        (
            "You have {n} open opportunities; the three largest are below.",
            "Here is a follow-up email you can send as is.",
            "I found {n} accounts; I scheduled reminders for the top five.",
        ),
        ("searchCrm", "draftEmail", "fetchCalendar"),
    ),
    "Research Agent": (
        (
            "What changed in the EU AI Act guidance this year?",
            "Compare our churn with the industry benchmark.",
            "Find studies on onboarding completion rates.",
        ),
        (
            "Here are the {n} main points, with sources.",
            "Our churn is about {n}% below the benchmark in the report I found.",
            "I summarized the documents in the knowledge base that mention it.",
        ),
        ("webSearch", "searchKnowledgeBase", "summarizeDocument"),
    ),
    "HR Helper": (
        (
            "How many vacation days do I have left?",
            "What is the parental leave policy?",
            "Book a one-on-one with my manager next week.",
        ),
        (
            "You have {n} days left this year.",
            "The policy grants 16 weeks; the relevant section is quoted below.",
            "Booked for Tuesday at 10:00.",
        ),
        ("lookupPolicy", "searchKnowledgeBase", "fetchCalendar"),
    ),
    "Code Reviewer": (
        (
            "Review pull request #{n}.",
            "Why does the nightly build fail on step {n}?",
            "Suggest tests for the billing module.",
        ),
        (
            "Two issues in PR #{n}: an unchecked None and a missing index.",
            "The build fails because a migration is missing; the fix is below.",
            "Here are {n} test cases covering the edge cases.",
        ),
        ("readFile", "runTests", "searchCode"),
    ),
}
_FOLLOW_UPS = (
    "Thanks. Can you also check the previous month?",
    "Can you make that shorter?",
    "Great, please go ahead.",
    "That's not quite right, try again with the latest data.",
    "What about order #{n}?",
    "Could you put that in a table?",
)
_KB_NAMES = ("Product Handbook", "Support Policies", "Sales Playbook", "Engineering Wiki")
_KB_FILE_NAMES = (
    "returns-policy.pdf", "pricing-2025.xlsx", "onboarding-guide.docx", "api-reference.md",
    "security-whitepaper.pdf", "faq.html", "release-notes.md", "travel-policy.pdf",
    "sla.pdf", "brand-guidelines.pdf",
)  # fmt: skip
# Hours of day (UTC) at which conversations start: mostly office hours.
_START_HOURS = (7, 8, 9, 9, 10, 10, 10, 11, 11, 12, 13, 14, 14, 15, 15, 16, 16, 17, 18, 20, 22)
# How a platform's agents record tool calls: AI SDK v4 (toolInvocations, sometimes with
# mirrored `tool-invocation` parts) or v5 (`tool-<name>` / `dynamic-tool` parts only).
_SDK_STYLES = ("v4", "v4-parts", "v5")


@dataclass
class _Agent:
    record: dict
    kind: str
    sdk_style: str


@dataclass
class _Conversation:
    record: dict
    seed: int
    start: datetime
    message_count: int
    kind: str
    sdk_style: str


@dataclass
class _World:
    organizations: list[dict] = field(default_factory=list)
    users: list[dict] = field(default_factory=list)
    memberships: list[dict] = field(default_factory=list)
    agents: list[dict] = field(default_factory=list)
    conversations: list[_Conversation] = field(default_factory=list)
    knowledge_bases: list[dict] = field(default_factory=list)
    knowledge_base_files: list[dict] = field(default_factory=list)


def js_isoformat(moment: datetime) -> str:
    """UTC with milliseconds and a Z, as JavaScript's toISOString() writes it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def demo_records(
    *, seed: int = 42, weeks: int = 6, orgs: int = 3, now: datetime | None = None
) -> Iterator[dict]:
    """The demo's records in dependency order; the same seed and sizes give the same ids."""
    if weeks < 1 or orgs < 1:
        raise ValueError("weeks and orgs must be at least 1")
    now = now or timezone.now()
    world = _plan_world(random.Random(seed), weeks=weeks, orgs=orgs, now=now)
    yield from world.organizations
    yield from world.users
    yield from world.memberships
    yield from world.agents
    for conversation in world.conversations:
        yield conversation.record
    for conversation in world.conversations:
        yield from _messages(conversation)
    for conversation in world.conversations:
        yield from _feedback(conversation, now=now)
    yield from world.knowledge_bases
    yield from world.knowledge_base_files


def _plan_world(rng: random.Random, *, weeks: int, orgs: int, now: datetime) -> _World:
    """Everything but messages and feedback, which are derived per conversation later."""
    world = _World()
    period = timedelta(weeks=weeks)
    next_agent_id = 101
    shared_user = None
    for index in range(orgs):
        if index == 0:
            org = OrganizationRecordFactory.build(id=DEMO_ORG_ID, name="Demo Co", slug="demo")
            members = [
                (UserRecordFactory.build(id=user_id, firstName=first, lastName=last,
                                         email=f"{first.lower()}@demo.example.com"), role, meta)
                for user_id, (first, last), role, meta in _DEMO_MEMBERS
            ]  # fmt: skip
            if orgs > 1:
                user_id, (first, last) = _SHARED_MEMBER
                shared_user = UserRecordFactory.build(
                    id=user_id, firstName=first, lastName=last,
                    email=f"{first.lower()}@consulting.example.com",
                )  # fmt: skip
                members.append((shared_user, MEMBER_ROLE, _SHARED_METADATA[0]))
        else:
            name = _OTHER_ORG_NAMES[(index - 1) % len(_OTHER_ORG_NAMES)]
            if index > len(_OTHER_ORG_NAMES):
                name = f"{name} {index}"
            org = OrganizationRecordFactory.build(
                id=clerk_id("org", rng), name=name, slug=name.lower().replace(" ", "-")
            )
            members = _other_members(rng, org_slug=org["slug"])
            if index == 1 and shared_user is not None:
                members.append((shared_user, MEMBER_ROLE, _SHARED_METADATA[1]))
        org["createdAt"] = js_isoformat(now - period - timedelta(days=rng.randint(60, 720)))
        world.organizations.append(org)
        for user, role, metadata in members:
            if user not in world.users:
                user["createdAt"] = js_isoformat(now - period - timedelta(days=rng.randint(1, 59)))
                world.users.append(user)
            world.memberships.append(
                MembershipRecordFactory.build(
                    organizationId=org["id"], userId=user["id"], role=role, publicMetadata=metadata
                )
            )

        agents = []
        for kind in rng.sample(sorted(_AGENT_KINDS), k=rng.randint(3, 4)):
            agent = AgentRecordFactory.build(id=next_agent_id, organizationId=org["id"], name=kind)
            next_agent_id += 1
            # Round robin, so that every size of the demo has each style.
            agents.append(_Agent(agent, kind, _SDK_STYLES[next_agent_id % len(_SDK_STYLES)]))
            world.agents.append(agent)

        for user, _role, _metadata in members:
            world.conversations.extend(
                _plan_conversations(rng, org=org, user=user, agents=agents, weeks=weeks, now=now)
            )
        _plan_knowledge_bases(rng, world, org=org, period=period, now=now)
    return world


def _other_members(rng: random.Random, *, org_slug: str) -> list:
    members = []
    for position in range(rng.randint(4, 7)):
        first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
        user = UserRecordFactory.build(
            id=clerk_id("user", rng),
            firstName=first,
            lastName=last,
            email=f"{first}.{last}@{org_slug}.example.com".lower().replace("'", ""),
        )
        metadata = {"department": rng.choice(_DEPARTMENTS), "level": rng.randint(1, 6)}
        if rng.random() < 0.6:
            metadata["tags"] = rng.sample(_TAGS, k=rng.randint(0, 2))
        if rng.random() < 0.3:
            metadata["remote"] = rng.random() < 0.5
        members.append((user, ADMIN_ROLE if position == 0 else MEMBER_ROLE, metadata))
    return members


def _plan_conversations(rng, *, org, user, agents, weeks, now) -> list[_Conversation]:
    # Some members use the agents daily, some a couple of times a week.
    per_week = rng.choice((1, 2, 3, 4, 6))
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    conversations = []
    for _ in range(per_week * weeks):
        agent = rng.choice(agents)
        days_back = rng.randrange(weeks * 7)
        start = (
            midnight
            - timedelta(days=days_back)
            + timedelta(
                hours=rng.choice(_START_HOURS),
                minutes=rng.randrange(60),
                seconds=rng.randrange(60),
                milliseconds=rng.randrange(1000),
            )
        )
        if start > now - _LATEST_START:
            # Too close to (or after) now: the same time a day earlier, still in the period.
            start -= timedelta(days=1)
        questions = _AGENT_KINDS[agent.kind][0]
        record = ConversationRecordFactory.build(
            id=random_uuid(rng),
            organizationId=org["id"],
            userId=user["id"],
            agentId=agent.record["id"],
            createdAt=js_isoformat(start),
            # The platform titles a conversation with its first question.
            title=rng.choice(questions).format(n=rng.randint(1000, 9999)),
        )
        # Mostly short exchanges, a long tail up to MAX_MESSAGES.
        count = min(MAX_MESSAGES, MIN_MESSAGES + int(rng.expovariate(1 / 7)))
        conversations.append(
            _Conversation(record, rng.getrandbits(64), start, count, agent.kind, agent.sdk_style)
        )
    return conversations


def _timeline(conversation: _Conversation) -> Iterator[tuple[str, str, datetime]]:
    """(id, role, createdAt) of each message: user and assistant alternate, seconds apart."""
    rng = random.Random(f"{conversation.seed}:timeline")
    moment = conversation.start
    for position in range(conversation.message_count):
        role = "user" if position % 2 == 0 else "assistant"
        if position:
            # The assistant answers within seconds; the user takes a while to reply.
            gap = rng.uniform(1.5, 25) if role == "assistant" else rng.uniform(15, 200)
            moment += timedelta(seconds=gap)
        yield f"msg_{random_token(16, rng)}", role, moment


def _messages(conversation: _Conversation) -> Iterator[dict]:
    rng = random.Random(f"{conversation.seed}:content")
    _questions, answers, tools = _AGENT_KINDS[conversation.kind]
    for turn, (message_id, role, moment) in enumerate(_timeline(conversation)):
        fields = {
            "id": message_id,
            "conversationId": conversation.record["id"],
            "role": role,
            "createdAt": js_isoformat(moment),
        }
        if turn == 0:
            fields["content"] = conversation.record["title"]
        elif role == "user":
            fields["content"] = rng.choice(_FOLLOW_UPS).format(n=rng.randint(10, 9999))
        else:
            fields["content"] = rng.choice(answers).format(n=rng.randint(2, 99))
            calls = _tool_calls(rng, tools)
            fields.update(_tool_fields(rng, conversation.sdk_style, calls, fields["content"]))
            # The context grows with the conversation, so later answers read more tokens.
            fields["usage"] = _usage(rng, input_tokens=rng.randint(300, 1500) + 350 * turn)
        yield MessageRecordFactory.build(**fields)


def _tool_calls(rng: random.Random, tools: tuple[str, ...]) -> list[dict]:
    if rng.random() >= 0.35:
        return []
    names = rng.choices(tools, k=rng.choice((1, 1, 1, 2, 2, 3)))
    return [
        {"toolCallId": f"call_{random_token(24, rng)}", "toolName": name,
         "args": {"query": f"q{rng.randint(1, 999)}"}, "result": {"ok": rng.random() < 0.95}}
        for name in names
    ]  # fmt: skip


def _tool_fields(rng: random.Random, sdk_style: str, calls: list[dict], text: str) -> dict:
    """toolInvocations and/or parts as each AI SDK version writes them."""
    if sdk_style == "v5":
        parts = [TextPartRecordFactory.build(text=text)]
        for call in calls:
            # A few v5 tools are registered at run time (MCP): `dynamic-tool` parts.
            dynamic = rng.random() < 0.15
            parts.append(
                ToolPartRecordFactory.build(
                    type="dynamic-tool" if dynamic else f"tool-{call['toolName']}",
                    toolCallId=call["toolCallId"],
                    input=call["args"],
                    output=call["result"],
                )
            )
        return {"parts": parts}
    invocations = [ToolInvocationRecordFactory.build(**call) for call in calls]
    if sdk_style == "v4-parts":
        parts = [TextPartRecordFactory.build(text=text)] + [
            {"type": "tool-invocation", "toolInvocation": invocation} for invocation in invocations
        ]
        return {"toolInvocations": invocations, "parts": parts}
    return {"toolInvocations": invocations} if invocations else {}


def _usage(rng: random.Random, *, input_tokens: int) -> dict:
    output_tokens = rng.randint(30, 900)
    style = rng.random()
    if style < 0.1:  # older AI SDK names
        return UsageRecordFactory.build(
            legacy=True, promptTokens=input_tokens, completionTokens=output_tokens
        )
    if style < 0.2:  # totalTokens left out: it is input + output
        return UsageRecordFactory.build(
            inputTokens=input_tokens, outputTokens=output_tokens, totalTokens=OMIT
        )
    return UsageRecordFactory.build(
        inputTokens=input_tokens,
        outputTokens=output_tokens,
        totalTokens=input_tokens + output_tokens,
    )


def _feedback(conversation: _Conversation, *, now: datetime) -> Iterator[dict]:
    rng = random.Random(f"{conversation.seed}:feedback")
    for message_id, role, moment in _timeline(conversation):
        if role != "assistant" or rng.random() >= FEEDBACK_RATE:
            continue
        helpful = rng.random() < 0.75
        given = min(moment + timedelta(seconds=rng.randint(5, 2 * 86400)), now)
        fields = {
            "id": f"fb_{random_token(16, rng)}",
            "messageId": message_id,
            "userId": conversation.record["userId"],
            "helpful": helpful,
            "createdAt": js_isoformat(given),
        }
        if not helpful and rng.random() < 0.5:
            fields["comment"] = rng.choice(
                ("Wrong order number.", "Too long.", "It ignored the policy.", "Outdated data.")
            )
        yield FeedbackRecordFactory.build(**fields)


def _plan_knowledge_bases(rng, world: _World, *, org: dict, period: timedelta, now: datetime):
    for name in rng.sample(_KB_NAMES, k=rng.randint(1, 3)):
        base = KnowledgeBaseRecordFactory.build(
            id=f"kb_{random_token(16, rng)}", organizationId=org["id"], name=name
        )
        world.knowledge_bases.append(base)
        for file_name in rng.sample(_KB_FILE_NAMES, k=rng.randint(3, 8)):
            fields = {
                "id": f"kbf_{random_token(16, rng)}",
                "knowledgeBaseId": base["id"],
                "name": file_name,
            }
            processed_ago = timedelta(seconds=rng.randrange(1, int(period.total_seconds())))
            if rng.random() < 0.15:
                # Not processed (yet): no processedAt, no extraction; never counted.
                fields["status"] = rng.choice(("pending", "processing", "failed"))
                record = KnowledgeBaseFileRecordFactory.build(unprocessed=True, **fields)
            else:
                input_tokens, output_tokens = rng.randint(2_000, 80_000), rng.randint(100, 4_000)
                with_total = rng.random() < 0.5
                extraction = UsageRecordFactory.build(
                    inputTokens=input_tokens,
                    outputTokens=output_tokens,
                    totalTokens=input_tokens + output_tokens if with_total else OMIT,
                )
                record = KnowledgeBaseFileRecordFactory.build(
                    processedAt=js_isoformat(now - processed_ago), extraction=extraction, **fields
                )
            world.knowledge_base_files.append(record)
