"""factory-boy factories shared by the tests and the demo: import records and model rows.

Record factories (`…RecordFactory`) build the camelCase dicts of ACTIVITY.md, one per record
`type`; model factories build database rows directly, deriving the copied and computed
columns the way the importer does, so a test can skip the importer when it is not the point.
Unlike the importer they leave the stats pre-aggregates alone: a test that asks getStats
after building rows calls stats.rollups.rebuild_all() first.
"""

import string
import uuid
from datetime import datetime, timedelta

import factory
import factory.fuzzy
import factory.random
from django.utils import timezone
from django.utils.text import slugify

from asteragents.datetimes import isoformat_z
from asteragents.models import Membership, Organization, User
from conversations.models import Agent, Conversation, Feedback, Message
from conversations.usage import count_tool_invocations, parse_usage
from kb.models import KnowledgeBase, KnowledgeBaseFile

_BASE62 = string.digits + string.ascii_letters

TOOL_NAMES = (
    "searchKnowledgeBase",
    "lookupOrder",
    "createTicket",
    "getWeather",
    "runSqlQuery",
    "sendEmail",
    "fetchCalendar",
)
AGENT_NAMES = ("Support Assistant", "Sales Copilot", "Research Agent", "HR Helper", "Code Reviewer")
DEPARTMENTS = ("sales", "support", "engineering", "finance", "marketing")


class _Omit:
    def __repr__(self):
        return "OMIT"


# A record field declared (or passed) as OMIT is left out of the record altogether, as an
# optional camelCase field is absent from a real payload rather than null.
OMIT = _Omit()


def random_token(length: int, rng=None) -> str:
    """`length` base-62 characters from `rng` (default: factory-boy's seedable generator)."""
    rng = rng or factory.random.randgen
    return "".join(rng.choice(_BASE62) for _ in range(length))


def clerk_id(prefix: str, rng=None) -> str:
    """A Clerk-shaped id such as `user_2NNEqL2nrIRdJ194ndJqAHwEfxC` (prefix, `_2`, 26 chars)."""
    return f"{prefix}_2{random_token(26, rng)}"


def random_uuid(rng=None) -> str:
    """A version-4 UUID string drawn from `rng`, so a seeded run repeats it."""
    rng = rng or factory.random.randgen
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _now_z() -> str:
    return isoformat_z(timezone.now())


def _later(moment: datetime, seconds: int) -> datetime:
    return moment + timedelta(seconds=seconds)


# --- Import records (ACTIVITY.md) -------------------------------------------------------------


class RecordFactory(factory.DictFactory):
    """A record dict; fields whose value is OMIT are dropped."""

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        present = {name: value for name, value in kwargs.items() if value is not OMIT}
        return super()._build(model_class, *args, **present)


class UsageRecordFactory(RecordFactory):
    """An AI SDK usage object; `legacy=True` writes promptTokens/completionTokens instead."""

    inputTokens = factory.fuzzy.FuzzyInteger(200, 6000)
    outputTokens = factory.fuzzy.FuzzyInteger(20, 900)
    totalTokens = factory.LazyAttribute(lambda o: o.inputTokens + o.outputTokens)
    promptTokens = OMIT
    completionTokens = OMIT

    class Params:
        # totalTokens is optional: then it is input + output.
        without_total = factory.Trait(totalTokens=OMIT)
        # Messages written by older AI SDK versions.
        legacy = factory.Trait(
            inputTokens=OMIT,
            outputTokens=OMIT,
            totalTokens=OMIT,
            promptTokens=factory.fuzzy.FuzzyInteger(200, 6000),
            completionTokens=factory.fuzzy.FuzzyInteger(20, 900),
        )


class ToolInvocationRecordFactory(RecordFactory):
    """One element of an AI SDK v4 `toolInvocations` array, after the tool returned."""

    state = "result"
    toolCallId = factory.LazyFunction(lambda: f"call_{random_token(24)}")
    toolName = factory.fuzzy.FuzzyChoice(TOOL_NAMES)
    args = factory.Dict({"query": factory.Faker("word")})
    result = factory.Dict({"ok": True})


class ToolPartRecordFactory(RecordFactory):
    """An AI SDK v5 message part recording a tool call (`type` is `tool-<name>`)."""

    class Params:
        tool_name = factory.fuzzy.FuzzyChoice(TOOL_NAMES)

    type = factory.LazyAttribute(lambda o: f"tool-{o.tool_name}")
    toolCallId = factory.LazyFunction(lambda: f"call_{random_token(24)}")
    state = "output-available"
    input = factory.Dict({"query": factory.Faker("word")})
    output = factory.Dict({"ok": True})


class TextPartRecordFactory(RecordFactory):
    type = "text"
    text = factory.Faker("sentence")


class OrganizationRecordFactory(RecordFactory):
    type = "organization"
    id = factory.LazyFunction(lambda: clerk_id("org"))
    name = factory.Faker("company")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    createdAt = factory.LazyFunction(_now_z)


class UserRecordFactory(RecordFactory):
    type = "user"
    id = factory.LazyFunction(lambda: clerk_id("user"))
    firstName = factory.Faker("first_name")
    lastName = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.firstName}.{o.lastName}@example.com".lower())
    createdAt = factory.LazyFunction(_now_z)


class MembershipRecordFactory(RecordFactory):
    type = "membership"
    organizationId = factory.LazyFunction(lambda: clerk_id("org"))
    userId = factory.LazyFunction(lambda: clerk_id("user"))
    role = Membership.Role.MEMBER.value
    publicMetadata = factory.Dict({"department": factory.fuzzy.FuzzyChoice(DEPARTMENTS)})


class AgentRecordFactory(RecordFactory):
    type = "agent"
    id = factory.Sequence(lambda n: 1000 + n)
    organizationId = factory.LazyFunction(lambda: clerk_id("org"))
    name = factory.fuzzy.FuzzyChoice(AGENT_NAMES)


class ConversationRecordFactory(RecordFactory):
    type = "conversation"
    id = factory.LazyFunction(random_uuid)
    organizationId = factory.LazyFunction(lambda: clerk_id("org"))
    userId = factory.LazyFunction(lambda: clerk_id("user"))
    agentId = factory.Sequence(lambda n: 1000 + n)
    createdAt = factory.LazyFunction(_now_z)
    title = factory.Faker("sentence", nb_words=4)


class MessageRecordFactory(RecordFactory):
    """A user message by default; `assistant=True` adds usage, `tool_calls=N` tool calls.

    Tool calls go into `toolInvocations` (AI SDK v4) unless `tool_parts=True`, which writes
    them as `tool-<name>` parts after a text part (AI SDK v5).
    """

    class Params:
        tool_calls = 0
        assistant = factory.Trait(
            role="assistant",
            content=factory.Faker("paragraph", nb_sentences=2),
            usage=factory.SubFactory(UsageRecordFactory),
        )
        tool_parts = factory.Trait(
            assistant=True,
            toolInvocations=OMIT,
            parts=factory.LazyAttribute(
                lambda o: [
                    TextPartRecordFactory(),
                    *ToolPartRecordFactory.build_batch(o.tool_calls),
                ]
            ),
        )

    type = "message"
    id = factory.LazyFunction(lambda: f"msg_{random_token(16)}")
    conversationId = factory.LazyFunction(random_uuid)
    role = "user"
    createdAt = factory.LazyFunction(_now_z)
    content = factory.Faker("sentence")
    toolInvocations = factory.LazyAttribute(
        lambda o: ToolInvocationRecordFactory.build_batch(o.tool_calls) if o.tool_calls else OMIT
    )
    parts = OMIT
    usage = OMIT


class FeedbackRecordFactory(RecordFactory):
    type = "feedback"
    id = factory.LazyFunction(lambda: f"fb_{random_token(16)}")
    messageId = factory.LazyFunction(lambda: f"msg_{random_token(16)}")
    userId = factory.LazyFunction(lambda: clerk_id("user"))
    helpful = True
    createdAt = factory.LazyFunction(_now_z)
    comment = OMIT

    class Params:
        not_helpful = factory.Trait(helpful=False, comment=factory.Faker("sentence"))


class KnowledgeBaseRecordFactory(RecordFactory):
    type = "knowledgeBase"
    id = factory.LazyFunction(lambda: f"kb_{random_token(16)}")
    organizationId = factory.LazyFunction(lambda: clerk_id("org"))
    name = factory.Faker("catch_phrase")


class KnowledgeBaseFileRecordFactory(RecordFactory):
    """A processed file with extraction usage; `unprocessed=True`: pending, processedAt null."""

    type = "knowledgeBaseFile"
    id = factory.LazyFunction(lambda: f"kbf_{random_token(16)}")
    knowledgeBaseId = factory.LazyFunction(lambda: f"kb_{random_token(16)}")
    name = factory.Faker("file_name", extension="pdf")
    status = "processed"
    processedAt = factory.LazyFunction(_now_z)
    extraction = factory.SubFactory(
        UsageRecordFactory,
        inputTokens=factory.fuzzy.FuzzyInteger(2_000, 60_000),
        outputTokens=factory.fuzzy.FuzzyInteger(100, 3_000),
    )

    class Params:
        unprocessed = factory.Trait(status="pending", processedAt=None, extraction=OMIT)


# --- Database rows ----------------------------------------------------------------------------


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("id",)

    id = factory.LazyFunction(lambda: clerk_id("org"))
    name = factory.Faker("company")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    created_at = factory.LazyFunction(timezone.now)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("id",)

    id = factory.LazyFunction(lambda: clerk_id("user"))
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.first_name}.{o.last_name}@example.com".lower())
    created_at = factory.LazyFunction(timezone.now)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER
    public_metadata = factory.Dict({"department": factory.fuzzy.FuzzyChoice(DEPARTMENTS)})


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    # The platform assigns agent ids; far from the demo's small ids.
    id = factory.Sequence(lambda n: 100_000 + n)
    organization = factory.SubFactory(OrganizationFactory)
    name = factory.fuzzy.FuzzyChoice(AGENT_NAMES)


class ConversationFactory(factory.django.DjangoModelFactory):
    """A conversation whose user is made a member of its organization (pass membership=False
    to skip), as the importer requires."""

    class Meta:
        model = Conversation
        skip_postgeneration_save = True

    id = factory.LazyFunction(random_uuid)
    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    agent = factory.SubFactory(AgentFactory, organization=factory.SelfAttribute("..organization"))
    created_at = factory.LazyFunction(timezone.now)
    title = factory.Faker("sentence", nb_words=4)

    @factory.post_generation
    def membership(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            Membership.objects.get_or_create(organization=obj.organization, user=obj.user)


class MessageFactory(factory.django.DjangoModelFactory):
    """Organization, owner and agent come from the conversation; the integer columns from
    `usage`, `tool_invocations` and `parts`, by the same rules as the importer."""

    class Meta:
        model = Message

    class Params:
        assistant = factory.Trait(
            role=Message.Role.ASSISTANT,
            content=factory.Faker("paragraph", nb_sentences=2),
            usage=factory.SubFactory(UsageRecordFactory),
        )

    id = factory.LazyFunction(lambda: f"msg_{random_token(16)}")
    conversation = factory.SubFactory(ConversationFactory)
    organization = factory.LazyAttribute(lambda o: o.conversation.organization)
    owner = factory.LazyAttribute(lambda o: o.conversation.user)
    agent = factory.LazyAttribute(lambda o: o.conversation.agent)
    role = Message.Role.USER
    created_at = factory.LazyAttribute(lambda o: o.conversation.created_at)
    content = factory.Faker("sentence")
    tool_invocations = None
    parts = None
    usage = None
    tool_call_count = factory.LazyAttribute(
        lambda o: count_tool_invocations(o.tool_invocations, o.parts)
    )
    input_tokens = factory.LazyAttribute(lambda o: parse_usage(o.usage).input_tokens)
    output_tokens = factory.LazyAttribute(lambda o: parse_usage(o.usage).output_tokens)
    total_tokens = factory.LazyAttribute(lambda o: parse_usage(o.usage).total_tokens)


class FeedbackFactory(factory.django.DjangoModelFactory):
    """Feedback by the conversation's owner on an assistant message, a minute after it."""

    class Meta:
        model = Feedback

    id = factory.LazyFunction(lambda: f"fb_{random_token(16)}")
    message = factory.SubFactory(MessageFactory, assistant=True)
    organization = factory.LazyAttribute(lambda o: o.message.conversation.organization)
    owner = factory.LazyAttribute(lambda o: o.message.conversation.user)
    agent = factory.LazyAttribute(lambda o: o.message.conversation.agent)
    user = factory.LazyAttribute(lambda o: o.message.conversation.user)
    helpful = True
    created_at = factory.LazyAttribute(lambda o: _later(o.message.created_at, 60))
    comment = ""


class KnowledgeBaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnowledgeBase

    id = factory.LazyFunction(lambda: f"kb_{random_token(16)}")
    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Faker("catch_phrase")


class KnowledgeBaseFileFactory(factory.django.DjangoModelFactory):
    """A processed file; the organization and extract_* columns follow the importer's rules."""

    class Meta:
        model = KnowledgeBaseFile

    class Params:
        unprocessed = factory.Trait(status="pending", processed_at=None, extraction=None)

    id = factory.LazyFunction(lambda: f"kbf_{random_token(16)}")
    knowledge_base = factory.SubFactory(KnowledgeBaseFactory)
    organization = factory.LazyAttribute(lambda o: o.knowledge_base.organization)
    name = factory.Faker("file_name", extension="pdf")
    status = "processed"
    processed_at = factory.LazyFunction(timezone.now)
    extraction = factory.SubFactory(
        UsageRecordFactory,
        inputTokens=factory.fuzzy.FuzzyInteger(2_000, 60_000),
        outputTokens=factory.fuzzy.FuzzyInteger(100, 3_000),
    )
    extract_input_tokens = factory.LazyAttribute(lambda o: parse_usage(o.extraction).input_tokens)
    extract_output_tokens = factory.LazyAttribute(lambda o: parse_usage(o.extraction).output_tokens)
    extract_total_tokens = factory.LazyAttribute(lambda o: parse_usage(o.extraction).total_tokens)
