"""A seeded activity dataset of any size: eight organizations, the largest holding half.

`plan_world(messages=, seed=)` draws everything but the messages (organizations, users,
memberships, agents, knowledge bases and their files, and the plan of every conversation);
`conversation_rows(world)` then draws each conversation's messages and feedback, in the
order the conversations start. The same seed and size give the same rows on every run, and
all data lies in the two years before END, a fixed instant, so runs on different days time
the same thing.

Shapes: a conversation has 2-60 messages, user and assistant alternating, in one to four
bursts (exchanges seconds to minutes apart, bursts hours apart); assistants report usage, a
fifth of them call tools; about 5% of messages get feedback. Members and agents are used
unevenly (a few heavy users, a favourite agent), weekdays and office hours are busier, and
activity grows over the two years.
"""

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import NamedTuple

END = datetime(2026, 11, 1, tzinfo=UTC)
END_MS = int(END.timestamp()) * 1000
SPAN_DAYS = 730
START = END - timedelta(days=SPAN_DAYS)
SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
# Bumped whenever the generator's output changes, so that a stored dataset is rebuilt.
GENERATOR_VERSION = 1

ORGANIZATION_SHARES = (0.5, 0.18, 0.11, 0.08, 0.05, 0.04, 0.025, 0.015)
ORGANIZATION_NAMES = (
    "Contoso Global", "Northwind Traders", "Globex Corporation", "Initech",
    "Umbrella Health", "Stark Logistics", "Wayne Analytics", "Tyrell Labs",
)  # fmt: skip
LARGEST_ORG_MEMBERS = 400
LARGEST_ORG_AGENTS = 12
# Members of the largest organization who are also members of the second one.
SHARED_MEMBERS = 3
MIN_MESSAGES, MAX_MESSAGES = 2, 60
MEAN_EXTRA_MESSAGES = 9  # beyond the minimum; exponential, so mostly short conversations
TOOL_CALL_RATE = 0.2  # of assistant messages
FEEDBACK_RATE = 0.1  # of assistant messages, so about 5% of all messages
HELPFUL_RATE = 0.75
PROCESSED_FILE_RATE = 0.85
MESSAGES_PER_KB_FILE = 1000
# Below this, the smaller organizations would get no conversation.
MIN_DATASET_MESSAGES = 200

DEPARTMENTS = ("sales", "support", "engineering", "finance", "marketing", "legal", "operations")
DEPARTMENT_WEIGHTS = (5, 4, 4, 2, 2, 1, 2)
TAGS = ("beta", "pilot", "power-user", "emea", "apac", "amer")
FIRST_NAMES = (
    "Liam", "Olivia", "Noah", "Emma", "Mateo", "Sofia", "Yuki", "Amara", "Lucas", "Chloe",
    "Ravi", "Ines", "Tomasz", "Fatima", "Jonas", "Leila", "Diego", "Hana", "Kwame", "Elena",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Kowalski", "Tanaka", "Mensah", "Dubois", "Rossi", "Haddad", "Larsen",
    "Silva", "Novak", "Chen", "Patel", "Okafor", "Ivanova", "Santos", "Kim", "Berg",
)  # fmt: skip
AGENT_NAMES = (
    "Support Assistant", "Sales Copilot", "HR Helpdesk", "Finance Analyst", "Code Reviewer",
    "Legal Drafter", "Marketing Writer", "IT Helpdesk", "Data Explorer", "Onboarding Guide",
    "Procurement Bot", "Travel Planner",
)  # fmt: skip
TOOLS = (
    "lookupOrder", "createTicket", "searchKnowledgeBase", "issueRefund", "queryCrm",
    "sendEmail", "runSql", "fetchInvoice", "scheduleMeeting", "webSearch",
)  # fmt: skip
KB_NAMES = (
    "Policies", "Product docs", "Support macros", "Contracts", "Pricing", "Engineering wiki",
    "HR handbook", "Security", "Onboarding", "Release notes",
)  # fmt: skip
KB_FILE_STEMS = (
    "returns-policy", "pricing-2026", "onboarding-guide", "api-reference", "faq",
    "security-whitepaper", "travel-policy", "sla", "brand-guidelines", "release-notes",
)  # fmt: skip
KB_FILE_EXTENSIONS = ("pdf", "docx", "md", "html", "txt")
FEEDBACK_COMMENTS = ("Wrong order number.", "Too long.", "It ignored the policy.", "Outdated.")
# Hour-of-day (UTC) weights of conversation starts: office hours across a few time zones.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 7, 9, 10, 9, 8, 6, 4, 3, 2, 2, 1, 1)
WEEKEND_FACTOR = 0.4

_SENTENCES = (
    "Could you check the status of order {n} for the customer in Lyon",
    "Summarize the open tickets from last week and group them by product area",
    "Draft a short reply explaining the refund policy for annual plans",
    "Which accounts have not been contacted in {n} days",
    "List the invoices above {n} euros that are still unpaid",
    "Explain why the nightly export failed on the staging cluster",
    "Compare the two vendor offers and highlight the differences in support terms",
    "What does clause {n} of the master agreement say about termination",
    "Write a friendly onboarding message for the new team members",
    "Find the latest version of the security questionnaire and fill in section {n}",
)
_ANSWERS = (
    "Order {n} was packed this morning and leaves the warehouse today",
    "I grouped the {n} tickets by area; billing and login issues make up most of them",
    "Here is a draft reply that cites the refund policy and offers a partial credit",
    "The export failed because the disk quota was reached; I opened ticket T-{n}",
    "Clause {n} allows termination with ninety days notice and no penalty after year one",
    "Both offers cover business hours; only the second includes weekend escalation",
    "I found {n} matching invoices; the oldest is four months overdue",
    "The questionnaire is filled in; two answers need a review by the security team",
)


def _texts(templates: tuple[str, ...], count: int, rng: random.Random) -> tuple[str, ...]:
    """`count` message texts of varied length (one to four sentences)."""
    texts = []
    for _ in range(count):
        sentences = [
            rng.choice(templates).format(n=rng.randint(2, 9999))
            for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))
        ]
        texts.append(". ".join(sentences) + ".")
    return tuple(texts)


_pool_rng = random.Random("bench-text-pool")
QUESTIONS = _texts(_SENTENCES, 200, _pool_rng)
ANSWERS = _texts(_ANSWERS, 200, _pool_rng)
# Messages store their content as JSON; encoded once here, written as is.
QUESTIONS_JSON = tuple(json.dumps(text) for text in QUESTIONS)
ANSWERS_JSON = tuple(json.dumps(text) for text in ANSWERS)
# COPY's text format and the NDJSON writer rely on the pool needing no escaping.
assert not any(set(text) & set('\\\t\n\r"') for text in QUESTIONS + ANSWERS)


@dataclass
class User:
    id: str
    email: str
    first_name: str
    last_name: str
    created_ms: int


@dataclass
class Member:
    user_id: str
    role: str
    metadata: dict
    weight: float  # relative activity


@dataclass
class KnowledgeBaseFile:
    id: str
    knowledge_base_id: str
    name: str
    status: str
    processed_ms: int | None
    extraction: dict | None
    tokens: tuple[int, int, int]  # input, output, total: what the importer derives


@dataclass
class Organization:
    id: str
    name: str
    slug: str
    created_ms: int
    message_quota: int
    members: list[Member] = field(default_factory=list)
    agents: list[tuple[int, str, float]] = field(default_factory=list)  # id, name, weight
    knowledge_bases: list[tuple[str, str]] = field(default_factory=list)  # id, name
    files: list[KnowledgeBaseFile] = field(default_factory=list)


class PlannedConversation(NamedTuple):
    start_ms: int
    organization_id: str
    owner_id: str
    agent_id: int
    message_count: int
    id: str
    title_index: int  # into QUESTIONS: the first question is the title


@dataclass
class World:
    messages: int
    seed: int
    organizations: list[Organization]
    users: list[User]
    conversations: list[PlannedConversation]  # by start

    @property
    def largest(self) -> Organization:
        return self.organizations[0]

    @property
    def admin_id(self) -> str:
        """An org:admin of the largest organization (the org-wide cases' caller)."""
        return self.largest.members[0].user_id

    @property
    def heavy_user_id(self) -> str:
        """The largest organization's most active member (the single-user case)."""
        return max(self.largest.members, key=lambda member: member.weight).user_id

    @property
    def top_agent_id(self) -> int:
        """The largest organization's most used agent (the agent case)."""
        return max(self.largest.agents, key=lambda agent: agent[2])[0]


def iso_ms(moment_ms: int) -> str:
    """UTC with milliseconds and a Z, as JavaScript's toISOString() writes it."""
    moment = datetime.fromtimestamp(moment_ms // 1000, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment_ms % 1000:03d}Z"


def message_quotas(messages: int) -> list[int]:
    """Messages per organization: exactly half (rounded down) in the largest."""
    if messages < MIN_DATASET_MESSAGES:
        raise ValueError(f"a dataset needs at least {MIN_DATASET_MESSAGES} messages")
    quotas = [messages // 2]
    rest = messages - quotas[0]
    others = ORGANIZATION_SHARES[1:]
    for share in others[:-1]:
        quotas.append(round(rest * share / sum(others)))
    quotas.append(messages - sum(quotas))
    return quotas


def plan_world(*, messages: int, seed: int) -> World:
    """Everything but the messages and feedback, drawn from `seed` alone."""
    rng = random.Random(f"{seed}:plan")
    day_weights = list(accumulate(_day_weights()))
    hour_weights = list(accumulate(HOUR_WEIGHTS))
    organizations, users, conversations = [], [], []
    for index, quota in enumerate(message_quotas(messages)):
        share = ORGANIZATION_SHARES[index] / ORGANIZATION_SHARES[0]
        name = ORGANIZATION_NAMES[index]
        organization = Organization(
            id=f"org_{_token(rng, 27)}",
            name=name,
            slug=name.lower().replace(" ", "-"),
            created_ms=END_MS - (SPAN_DAYS + rng.randint(30, 400)) * DAY_MS,
            message_quota=quota,
        )
        member_count = max(8, round(LARGEST_ORG_MEMBERS * share**0.8))
        for position in range(member_count):
            user = _user(rng, organization)
            users.append(user)
            role = "org:admin" if position == 0 or rng.random() < 0.03 else "org:member"
            organization.members.append(
                Member(user.id, role, _metadata(rng), rng.lognormvariate(0, 1.0))
            )
        if index == 1:
            for shared in organizations[0].members[1 : 1 + SHARED_MEMBERS]:
                organization.members.append(
                    Member(shared.user_id, "org:member", _metadata(rng), rng.lognormvariate(0, 1))
                )
        agent_count = LARGEST_ORG_AGENTS if index == 0 else 2 + round(6 * share)
        for position, agent_name in enumerate(rng.sample(AGENT_NAMES, agent_count)):
            # Zipf-like popularity: the first agent is the favourite.
            weight = 1 / (position + 1) ** 0.9
            organization.agents.append((1000 * (index + 1) + position + 1, agent_name, weight))
        _plan_knowledge_bases(rng, organization, index)
        conversations.extend(
            _plan_conversations(rng, organization, day_weights=day_weights, hours=hour_weights)
        )
        organizations.append(organization)
    conversations.sort(key=lambda conversation: conversation.start_ms)
    return World(messages, seed, organizations, users, conversations)


def _token(rng: random.Random, length: int) -> str:
    return "".join(
        rng.choices("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", k=length)
    )


def _day_weights() -> list[float]:
    """Relative activity of each day: growing over the period, quieter at weekends."""
    weights = []
    for day in range(SPAN_DAYS):
        growth = 0.35 + 0.65 * day / (SPAN_DAYS - 1)
        weekend = (START + timedelta(days=day)).weekday() >= 5
        weights.append(growth * (WEEKEND_FACTOR if weekend else 1.0))
    return weights


def _user(rng: random.Random, organization: Organization) -> User:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    user_id = f"user_{_token(rng, 27)}"
    return User(
        id=user_id,
        email=f"{first}.{last}.{user_id[-4:]}@{organization.slug}.example.com".lower(),
        first_name=first,
        last_name=last,
        created_ms=organization.created_ms + rng.randint(1, 30) * DAY_MS,
    )


def _metadata(rng: random.Random) -> dict:
    """publicMetadata as dashboards filter it: department, level, tags, sometimes remote."""
    metadata = {
        "department": rng.choices(DEPARTMENTS, DEPARTMENT_WEIGHTS)[0],
        "level": rng.randint(1, 6),
        "tags": rng.sample(TAGS, k=rng.choice((0, 1, 1, 2, 3))),
    }
    if rng.random() < 0.25:
        metadata["remote"] = rng.random() < 0.5
    if rng.random() < 0.1:
        metadata["level"] = float(metadata["level"])  # 3.0: the same number as 3
    return metadata


def _plan_knowledge_bases(rng: random.Random, organization: Organization, index: int) -> None:
    count = 8 if index == 0 else rng.randint(2, 5)
    for name in rng.sample(KB_NAMES, count):
        organization.knowledge_bases.append((f"kb_{_token(rng, 16)}", name))
    for _ in range(max(12, organization.message_quota // MESSAGES_PER_KB_FILE)):
        base_id = rng.choice(organization.knowledge_bases)[0]
        file_id = f"kbf_{_token(rng, 16)}"
        name = f"{rng.choice(KB_FILE_STEMS)}-{rng.randint(1, 999)}.{rng.choice(KB_FILE_EXTENSIONS)}"
        if rng.random() >= PROCESSED_FILE_RATE:
            status = rng.choice(("pending", "processing", "failed"))
            organization.files.append(
                KnowledgeBaseFile(file_id, base_id, name, status, None, None, (0, 0, 0))
            )
            continue
        input_tokens, output_tokens = rng.randint(2_000, 80_000), rng.randint(100, 4_000)
        extraction = {"inputTokens": input_tokens, "outputTokens": output_tokens}
        if rng.random() < 0.5:  # totalTokens left out half the time: it is input + output
            extraction["totalTokens"] = input_tokens + output_tokens
        processed_ms = END_MS - rng.randrange(1, SPAN_DAYS * DAY_MS)
        organization.files.append(
            KnowledgeBaseFile(
                file_id,
                base_id,
                name,
                "processed",
                processed_ms,
                extraction,
                (input_tokens, output_tokens, input_tokens + output_tokens),
            )
        )


def _conversation_sizes(rng: random.Random, quota: int) -> list[int]:
    """Message counts of 2-60 (mostly short) adding up to exactly `quota`."""
    sizes, remaining = [], quota
    while remaining:
        size = min(MAX_MESSAGES, MIN_MESSAGES + int(rng.expovariate(1 / MEAN_EXTRA_MESSAGES)))
        if size >= remaining:
            size = remaining
        elif remaining - size == 1:  # never leave a one-message conversation behind
            size = size + 1 if size < MAX_MESSAGES else size - 1
        sizes.append(size)
        remaining -= size
    return sizes


def _plan_conversations(rng, organization: Organization, *, day_weights, hours):
    sizes = _conversation_sizes(rng, organization.message_quota)
    count = len(sizes)
    days = rng.choices(range(SPAN_DAYS), cum_weights=day_weights, k=count)
    start_hours = rng.choices(range(24), cum_weights=hours, k=count)
    members = organization.members
    owners = rng.choices(members, weights=[member.weight for member in members], k=count)
    agents = organization.agents
    agent_ids = rng.choices(
        [agent[0] for agent in agents], weights=[agent[2] for agent in agents], k=count
    )
    first_day_ms = END_MS - SPAN_DAYS * DAY_MS
    return [
        PlannedConversation(
            start_ms=first_day_ms + day * DAY_MS + hour * HOUR_MS + rng.randrange(HOUR_MS),
            organization_id=organization.id,
            owner_id=owner.user_id,
            agent_id=agent_id,
            message_count=size,
            id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            title_index=rng.randrange(len(QUESTIONS)),
        )
        for size, day, hour, owner, agent_id in zip(
            sizes, days, start_hours, owners, agent_ids, strict=True
        )
    ]


# --- Messages and feedback, drawn conversation by conversation -----------------------------


class MessageRow(NamedTuple):
    id: str
    role: str
    created_ms: int
    content_json: str
    tool_invocations_json: str | None
    usage_json: str | None
    tool_call_count: int
    input_tokens: int
    output_tokens: int
    total_tokens: int


class FeedbackRow(NamedTuple):
    id: str
    message_id: str
    helpful: bool
    created_ms: int
    comment: str


def conversation_rows(world: World):
    """(conversation, its messages, their feedback) for every conversation, by start."""
    rng = random.Random(f"{world.seed}:rows")
    message_number = feedback_number = 0
    for conversation in world.conversations:
        moments = _timeline(rng, conversation.start_ms, conversation.message_count)
        messages, feedback = [], []
        for turn, moment in enumerate(moments):
            message_number += 1
            message_id = f"msg_{message_number:010x}"
            if turn % 2 == 0:
                content = (
                    QUESTIONS_JSON[conversation.title_index]
                    if turn == 0
                    else QUESTIONS_JSON[rng.randrange(len(QUESTIONS_JSON))]
                )
                messages.append(
                    MessageRow(message_id, "user", moment, content, None, None, 0, 0, 0, 0)
                )
                continue
            tools_json, tool_calls = _tool_invocations(rng)
            usage_json, tokens = _usage(rng, turn)
            messages.append(
                MessageRow(
                    message_id,
                    "assistant",
                    moment,
                    ANSWERS_JSON[rng.randrange(len(ANSWERS_JSON))],
                    tools_json,
                    usage_json,
                    tool_calls,
                    *tokens,
                )
            )
            if rng.random() < FEEDBACK_RATE:
                feedback_number += 1
                feedback.append(_feedback(rng, f"fb_{feedback_number:09x}", message_id, moment))
        yield conversation, messages, feedback


def _timeline(rng: random.Random, start_ms: int, count: int) -> list[int]:
    """Each message's createdAt: bursts of exchanges minutes apart, bursts hours apart."""
    bursts = 1 if count <= 3 else 1 + min(3, int(rng.random() * (count // 4 + 1)))
    # A burst begins with a user message (an even position).
    breaks = set(rng.sample(range(2, count, 2), min(bursts - 1, (count - 1) // 2)))
    offsets, elapsed = [0], 0
    for position in range(1, count):
        if position in breaks:
            long_pause = rng.random() < 0.15
            elapsed += (
                rng.randint(20, 48) * HOUR_MS
                if long_pause
                else rng.randint(45 * MINUTE_MS, 20 * HOUR_MS)
            )
        elif position % 2:  # the assistant answers within seconds
            elapsed += rng.randint(2 * SECOND_MS, 30 * SECOND_MS)
        else:  # the user reads, then asks again
            elapsed += rng.randint(30 * SECOND_MS, 8 * MINUTE_MS)
        offsets.append(elapsed)
    room = END_MS - 1 - start_ms
    if elapsed > room:  # squeeze a conversation begun just before END into the period
        return [start_ms + offset * room // elapsed for offset in offsets]
    return [start_ms + offset for offset in offsets]


def _tool_invocations(rng: random.Random) -> tuple[str | None, int]:
    """A toolInvocations array (as JSON text) on TOOL_CALL_RATE of answers, and its length."""
    if rng.random() >= TOOL_CALL_RATE:
        return None, 0
    count = rng.choice((1, 1, 1, 2, 2, 3))
    calls = ",".join(
        f'{{"toolCallId":"call_{rng.getrandbits(64):016x}","toolName":"{rng.choice(TOOLS)}",'
        f'"args":{{"query":"q{rng.randint(1, 9999)}"}},"state":"result","result":{{"ok":true}}}}'
        for _ in range(count)
    )
    return f"[{calls}]", count


def _usage(rng: random.Random, turn: int) -> tuple[str, tuple[int, int, int]]:
    """A usage object (JSON text) in the shapes clients send, and the counts it means."""
    # The context grows with the conversation, so later answers read more tokens.
    input_tokens = rng.randint(300, 1500) + 350 * min(turn, 40)
    output_tokens = rng.randint(30, 900)
    total = input_tokens + output_tokens
    style = rng.random()
    if style < 0.1:  # older AI SDK names
        text = (
            f'{{"promptTokens":{input_tokens},"completionTokens":{output_tokens},'
            f'"totalTokens":{total}}}'
        )
    elif style < 0.2:  # no totalTokens: it is input + output
        text = f'{{"inputTokens":{input_tokens},"outputTokens":{output_tokens}}}'
    else:
        if style < 0.25:  # reasoning models report more in total than input + output
            total += rng.randint(64, 4096)
        text = (
            f'{{"inputTokens":{input_tokens},"outputTokens":{output_tokens},"totalTokens":{total}}}'
        )
    return text, (input_tokens, output_tokens, total)


def _feedback(rng: random.Random, feedback_id: str, message_id: str, moment: int) -> FeedbackRow:
    given = moment + rng.randint(5 * SECOND_MS, 2 * DAY_MS)
    if given >= END_MS:  # feedback, too, stays before END
        given = moment + rng.randrange(END_MS - moment)
    helpful = rng.random() < HELPFUL_RATE
    comment = rng.choice(FEEDBACK_COMMENTS) if not helpful and rng.random() < 0.5 else ""
    return FeedbackRow(feedback_id, message_id, helpful, given, comment)
