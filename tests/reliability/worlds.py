"""Random activity of several organizations (hypothesis strategies) and their rows.

A world is plain data: organizations with members, agents, conversations, messages,
feedback and knowledge-base files. `build` writes it with the ORM the way the importer
would: messages and feedback carry the conversation's organization, owner and agent, and
token and tool counts are integer columns.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from asteragents.models import Membership, Organization, User
from conversations.models import Agent, Conversation, Feedback, Message
from kb.models import KnowledgeBase, KnowledgeBaseFile

HOME = "org_home"  # the token's organization
ELSEWHERE = ("org_b", "org_c")
USERS = ("user_1", "user_2", "user_3", "user_4")
# Agent ids are global primary keys; each organization owns its own.
AGENTS = {HOME: (1, 2), "org_b": (11, 12), "org_c": (21,)}
UNKNOWN_AGENT = 999

_MICRO = timedelta(microseconds=1)
_DAY_START = datetime(2024, 3, 1, tzinfo=UTC)
_DAY_END = datetime(2024, 3, 2, tzinfo=UTC)
# Instants on and next to the bounds the requests below use. They span two days only: the
# pre-aggregates are rebuilt for every answer, hour by hour over that span.
TIMES = (
    _DAY_START - _MICRO,
    _DAY_START,
    _DAY_START + _MICRO,
    datetime(2024, 3, 1, 12, tzinfo=UTC),
    _DAY_END - _MICRO,
    _DAY_END,
)
FROMS = ("2024-02-29", "2024-03-01", "2024-03-01T00:00:00.000001Z", "2024-03-01T12:00:00Z")
TOS = ("2024-03-02", "2024-03-01", "2024-03-01T23:59:59.999998Z", "2024-03-01T12:00:00Z")

METADATA_KEYS = ("dept", "tags", "level", "a.b")
METADATA_VALUES = ("sales", "eng", "beta", "1", "1.0", "true", "false")


@dataclass(frozen=True)
class FeedbackData:
    at: datetime
    helpful: bool
    giver: str


@dataclass(frozen=True)
class MessageData:
    at: datetime
    input_tokens: int
    output_tokens: int
    total_tokens: int
    tool_calls: int
    feedback: tuple[FeedbackData, ...]


@dataclass(frozen=True)
class ChatData:
    owner: str
    agent: int
    messages: tuple[MessageData, ...]


@dataclass(frozen=True)
class FileData:
    knowledge_base: int
    processed_at: datetime | None
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class OrgData:
    """One organization's share of a world; `tag` keeps row ids of two draws apart."""

    org: str
    tag: str
    members: dict[str, tuple[str, dict]]  # user -> (role, publicMetadata)
    chats: tuple[ChatData, ...]
    files: tuple[FileData, ...]


# --- strategies -------------------------------------------------------------------------------

metadata_values = st.one_of(
    st.sampled_from(["sales", "eng", "beta"]),
    st.integers(0, 2),
    st.sampled_from([1.0, 1.5]),
    st.booleans(),
    st.none(),
    st.lists(st.sampled_from(["sales", "beta", 1, True]), max_size=2),
    st.just({"dept": "sales"}),
)
metadata = st.dictionaries(st.sampled_from(METADATA_KEYS), metadata_values, max_size=3)
instants = st.sampled_from(TIMES)
counts = st.integers(0, 5_000)


@st.composite
def message_data(draw, givers: tuple[str, ...]) -> MessageData:
    input_tokens, output_tokens = draw(counts), draw(counts)
    one_feedback = st.builds(
        FeedbackData, at=instants, helpful=st.booleans(), giver=st.sampled_from(givers)
    )
    feedback = draw(st.lists(one_feedback, max_size=2))
    return MessageData(
        at=draw(instants),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
        tool_calls=draw(st.integers(0, 3)),
        feedback=tuple(feedback),
    )


@st.composite
def org_data(
    draw,
    org: str,
    *,
    tag: str,
    users: tuple[str, ...] = USERS,
    givers: tuple[str, ...] = USERS,
    max_chats: int = 4,
    with_files: bool = True,
) -> OrgData:
    """Members drawn from `users`, chats owned by members, feedback given by `givers`."""
    members = draw(
        st.dictionaries(
            st.sampled_from(users),
            st.tuples(st.sampled_from(["org:admin", "org:member"]), metadata),
            min_size=1,
            max_size=len(users),
        )
    )
    chat = st.builds(
        ChatData,
        owner=st.sampled_from(sorted(members)),
        agent=st.sampled_from(AGENTS[org]),
        messages=st.lists(message_data(givers), min_size=1, max_size=3).map(tuple),
    )
    files = st.builds(
        FileData,
        knowledge_base=st.integers(0, 1),
        processed_at=st.one_of(st.none(), instants),
        input_tokens=counts,
        output_tokens=counts,
    )
    return OrgData(
        org=org,
        tag=tag,
        members=members,
        chats=tuple(draw(st.lists(chat, max_size=max_chats))),
        files=tuple(draw(st.lists(files, max_size=3))) if with_files else (),
    )


@st.composite
def home_and_caller(draw, *, max_chats: int = 6) -> tuple[OrgData, str]:
    """The home organization's activity and a caller: mostly a member, sometimes unknown."""
    home = draw(org_data(HOME, tag="home", max_chats=max_chats))
    return home, draw(st.sampled_from([*sorted(home.members), "user_nobody"]))


def outside_world(tag: str):
    """Activity of the organizations other than HOME (any of them may be absent)."""
    return st.lists(
        st.sampled_from(ELSEWHERE).flatmap(lambda org: org_data(org, tag=tag)),
        max_size=2,
        unique_by=lambda data: data.org,
    ).map(tuple)


@st.composite
def stats_request(draw, *, own_scope_only: bool = False) -> dict:
    """getStats parameters; `own_scope_only`: no allInOrg, userId absent or the caller's."""
    # The widest range half the time: the narrow ones probe the bounds.
    params = {
        "from": draw(st.sampled_from(FROMS[:1] * len(FROMS) + FROMS[1:])),
        "to": draw(st.sampled_from(TOS[:1] * len(TOS) + TOS[1:])),
    }
    if own_scope_only:
        optional = {"allInOrg": st.just("false"), "userId": st.just(USERS[0])}
    else:
        optional = {
            "allInOrg": st.sampled_from(["true", "false"]),
            "userId": st.sampled_from([*USERS, "user_nobody"]),
        }
    # Mostly the home organization's agents, so that answers are often not all zeros.
    home_agents = [str(agent) for agent in AGENTS[HOME]]
    foreign_agents = [str(agent) for org in ELSEWHERE for agent in AGENTS[org]]
    optional["agentId"] = st.sampled_from(home_agents * 2 + foreign_agents + [str(UNKNOWN_AGENT)])
    optional["metadataKey"] = st.sampled_from([*METADATA_KEYS, "missing"])
    optional["metadataValue"] = st.sampled_from(METADATA_VALUES)
    for name, values in optional.items():
        if draw(st.integers(0, 3)) == 0:  # each narrowing filter in one request of four
            params[name] = draw(values)
    return params


# --- rows -------------------------------------------------------------------------------------


def build(*parts: OrgData) -> None:
    """Write the parts; organizations, users, agents and KBs that exist already are kept."""
    Organization.objects.bulk_create(
        [Organization(id=part.org) for part in parts], ignore_conflicts=True
    )
    User.objects.bulk_create([User(id=user) for user in USERS], ignore_conflicts=True)
    Agent.objects.bulk_create(
        [Agent(id=agent, organization_id=part.org) for part in parts for agent in AGENTS[part.org]],
        ignore_conflicts=True,
    )
    memberships, conversations, messages, feedback, knowledge_bases, files = ([] for _ in range(6))
    for part in parts:
        prefix = f"{part.org}-{part.tag}"
        for user, (role, public_metadata) in part.members.items():
            memberships.append(
                Membership(
                    organization_id=part.org,
                    user_id=user,
                    role=role,
                    public_metadata=public_metadata,
                )
            )
        for c, chat in enumerate(part.chats):
            conversation_id = f"{prefix}-c{c}"
            owned = {"organization_id": part.org, "owner_id": chat.owner, "agent_id": chat.agent}
            conversations.append(
                Conversation(
                    id=conversation_id,
                    organization_id=part.org,
                    user_id=chat.owner,
                    agent_id=chat.agent,
                    created_at=TIMES[0],
                )
            )
            for m, message in enumerate(chat.messages):
                message_id = f"{conversation_id}-m{m}"
                messages.append(
                    Message(
                        id=message_id,
                        conversation_id=conversation_id,
                        role=Message.Role.ASSISTANT,
                        created_at=message.at,
                        input_tokens=message.input_tokens,
                        output_tokens=message.output_tokens,
                        total_tokens=message.total_tokens,
                        tool_call_count=message.tool_calls,
                        **owned,
                    )
                )
                for f, given in enumerate(message.feedback):
                    feedback.append(
                        Feedback(
                            id=f"{message_id}-f{f}",
                            message_id=message_id,
                            user_id=given.giver,
                            helpful=given.helpful,
                            created_at=given.at,
                            **owned,
                        )
                    )
        for f, file in enumerate(part.files):
            knowledge_base_id = f"{part.org}-kb{file.knowledge_base}"
            knowledge_bases.append(KnowledgeBase(id=knowledge_base_id, organization_id=part.org))
            files.append(
                KnowledgeBaseFile(
                    id=f"{prefix}-file{f}",
                    organization_id=part.org,
                    knowledge_base_id=knowledge_base_id,
                    name=f"file{f}.pdf",
                    status="processed" if file.processed_at else "pending",
                    processed_at=file.processed_at,
                    extract_input_tokens=file.input_tokens,
                    extract_output_tokens=file.output_tokens,
                    extract_total_tokens=file.input_tokens + file.output_tokens,
                )
            )
    Membership.objects.bulk_create(memberships)
    Conversation.objects.bulk_create(conversations)
    Message.objects.bulk_create(messages)
    Feedback.objects.bulk_create(feedback)
    KnowledgeBase.objects.bulk_create(knowledge_bases, ignore_conflicts=True)
    KnowledgeBaseFile.objects.bulk_create(files)


def delete_outside(org: str) -> None:
    """Delete every row of every organization but `org` (users are shared: they stay)."""
    Organization.objects.exclude(id=org).delete()  # cascades to all their activity


def delete_others_in(org: str, *, keep_user: str) -> None:
    """Delete what other members have in `org`: memberships and the conversations they own."""
    Conversation.objects.filter(organization_id=org).exclude(user_id=keep_user).delete()
    Membership.objects.filter(organization_id=org).exclude(user_id=keep_user).delete()


def refresh_rollups() -> None:
    """Bring the stats pre-aggregates up to date after rows were written or deleted directly.

    The importer maintains them; these tests write rows with the ORM, so they recompute.
    """
    try:
        from stats import rollups
        from stats.models import ConversationActivity, UsageCell
    except ImportError:  # a checkout from before the pre-aggregates: nothing to refresh
        return
    # Cleared first: rebuild_all leaves an organization with no activity rows untouched.
    UsageCell.objects.all().delete()
    ConversationActivity.objects.all().delete()
    rollups.rebuild_all()
