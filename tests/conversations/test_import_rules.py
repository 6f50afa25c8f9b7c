"""The rules of ACTIVITY.md, one by one: fields, defaults, references, organizations, copies."""

import pytest

from asteragents.models import Membership, Organization, User
from conversations.importer import ActivityImportError, import_records
from conversations.models import Agent, Conversation, Feedback, Message
from kb.models import KnowledgeBase, KnowledgeBaseFile
from tests.conversations.activity import (
    activity,
    agent,
    at,
    conversation,
    dump,
    feedback,
    knowledge_base,
    knowledge_base_file,
    load,
    membership,
    message,
    organization,
    rows,
    tenancy,
    user,
)

pytestmark = pytest.mark.django_db


def refused(records) -> ActivityImportError:
    """Import the records, expecting an error and no change at all to the database."""
    before = dump()
    with pytest.raises(ActivityImportError) as error:
        load(records)
    assert dump() == before
    return error.value


def refused_after(base, bad) -> tuple[int, ActivityImportError]:
    """Append `bad` to `base`: (its line number, the error)."""
    return len(base) + 1, refused([*base, bad])


# --- Fields, types and defaults -------------------------------------------------------------

REQUIRED = [
    (organization("org_x"), "id"),
    (user("user_x"), "id"),
    (membership("org_a", "user_cid"), "organizationId"),
    (membership("org_a", "user_cid"), "userId"),
    (agent(9), "id"),
    (agent(9), "organizationId"),
    *[(conversation("cx"), name) for name in ("id", "organizationId", "userId", "agentId")],
    (conversation("cx"), "createdAt"),
    *[(message("mx"), name) for name in ("id", "conversationId", "role", "createdAt")],
    *[(feedback("fx"), name) for name in ("id", "messageId", "userId", "helpful", "createdAt")],
    (knowledge_base("kbx"), "id"),
    (knowledge_base("kbx"), "organizationId"),
    *[(knowledge_base_file("fx"), name) for name in ("id", "knowledgeBaseId", "name")],
]


@pytest.mark.parametrize(("record", "field"), REQUIRED)
@pytest.mark.parametrize("how", ["missing", "null"])
def test_required_fields(record, field, how):
    bad = {name: value for name, value in record.items() if name != field}
    if how == "null":
        bad[field] = None
    line, error = refused_after(activity(), bad)
    assert (error.line, error.field) == (line, field)
    assert error.reason == ("is required, got null" if how == "null" else "is required")


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        (organization(7), "id", "must be a string, got number 7"),
        (organization(""), "id", "must not be empty"),
        (organization("o" * 256), "id", "must be at most 255 characters, got 256"),
        (organization("org_x", name=["Acme"]), "name", "must be a string, got array"),
        (organization("org_x", slug="s" * 256), "slug", "must be at most 255 characters"),
        (organization("org_x", createdAt=1709283600), "createdAt", "must be an ISO 8601"),
        (user("user_x", email=False), "email", "must be a string, got boolean false"),
        (user("user_x", createdAt="yesterday"), "createdAt", 'got "yesterday"'),
        (user("user_x", createdAt="2024-02-30T00:00:00Z"), "createdAt", "ISO 8601"),
        (membership("org_a", "user_cid", role=1), "role", "must be a string"),
        (membership("org_a", "user_cid", publicMetadata=[]), "publicMetadata", "an object"),
        (membership("org_a", "user_cid", publicMetadata="x"), "publicMetadata", "an object"),
        (agent("7"), "id", 'must be a JSON integer, got string "7"'),
        (agent(7.0), "id", "must be a JSON integer, got number 7.0"),
        (agent(True), "id", "must be a JSON integer, got boolean true"),
        (agent(2**63), "id", "must fit in 64 bits"),
        (conversation("cx", agent_id="1"), "agentId", "must be a JSON integer"),
        (conversation("cx", title=5), "title", "must be a string"),
        (message("mx", role="bot"), "role", 'must be one of "user", "assistant", "system"'),
        (message("mx", role=["user"]), "role", "must be one of"),
        (message("mx", createdAt="2024-03-01T25:00:00Z"), "createdAt", "ISO 8601"),
        (message("mx", toolInvocations={"a": 1}), "toolInvocations", "must be an array"),
        (message("mx", parts="tool-x"), "parts", "must be an array, got string"),
        (message("mx", usage=[812]), "usage", "must be an object, got array"),
        (feedback("fx", helpful=1), "helpful", "must be true or false, got 1"),
        (feedback("fx", helpful="true"), "helpful", "must be true or false"),
        (feedback("fx", comment={"text": "x"}), "comment", "must be a string"),
        (knowledge_base("kbx", name=0), "name", "must be a string"),
        (knowledge_base_file("fx", name=3), "name", "must be a string"),
        (knowledge_base_file("fx", status="s" * 65), "status", "at most 64 characters"),
        (knowledge_base_file("fx", processedAt="soon"), "processedAt", "ISO 8601"),
        (knowledge_base_file("fx", extraction=900), "extraction", "must be an object"),
    ],
)
def test_field_types(record, field, reason):
    line, error = refused_after(activity(), record)
    assert (error.line, error.field) == (line, field)
    assert reason in error.reason


def test_unknown_and_missing_type():
    base = activity()
    error = refused([*base, {"type": "invoice", "id": "i1"}])
    assert (error.line, error.field) == (len(base) + 1, "type")
    assert error.reason.startswith('unknown record type "invoice" (one of organization, user,')
    assert refused([*base, {"id": "x"}]).reason == "is required"
    assert "unknown record type 5" in refused([{"type": 5}]).reason
    # Type names are exact.
    assert refused([{"type": "Organization", "id": "org_x"}]).field == "type"


def test_defaults_and_nulls():
    load(
        [
            organization("org_a", name=None, slug=None, createdAt=None),
            user("user_ann", email=None),
            membership("org_a", "user_ann"),
            agent(1, name=None),
            conversation("c1", title=None),
            message("m1", content=None, toolInvocations=None, parts=None, usage=None),
            feedback("f1", comment=None),
            knowledge_base("kb1"),
            knowledge_base_file("kbf1", status=None, processedAt=None, extraction=None),
        ]
    )
    assert rows(Organization, "name", "slug", "created_at") == [
        {"name": "", "slug": "", "created_at": None}
    ]
    assert rows(User, "email", "first_name", "last_name") == [
        {"email": "", "first_name": "", "last_name": ""}
    ]
    assert rows(Membership, "role", "public_metadata") == [
        {"role": "org:member", "public_metadata": {}}
    ]
    assert rows(Agent, "name") == [{"name": ""}]
    assert rows(Conversation, "title") == [{"title": ""}]
    assert rows(Message, "content", "tool_invocations", "usage", "tool_call_count") == [
        {"content": None, "tool_invocations": None, "usage": None, "tool_call_count": 0}
    ]
    assert rows(Feedback, "comment") == [{"comment": ""}]
    assert rows(KnowledgeBaseFile, "status", "processed_at", "extract_total_tokens") == [
        {"status": "", "processed_at": None, "extract_total_tokens": 0}
    ]


def test_field_values_land_in_snake_case_columns():
    load(
        [
            organization("org_a", name="Acme", slug="acme", createdAt="2023-01-02T03:04:05Z"),
            user("user_ann", email="a@x.test", firstName="Ann", lastName="Lee"),
            membership("org_a", "user_ann", role="org:billing", publicMetadata={"k": [1, None]}),
            agent(1, name="Support"),
            conversation("c1", title="Order"),
            message("m1", content=[{"type": "text", "text": "hi"}], parts=[{"type": "text"}]),
            feedback("f1", helpful=False, comment="meh"),
        ]
    )
    assert rows(Organization, "created_at") == [{"created_at": at("2023-01-02T03:04:05Z")}]
    assert rows(User, "first_name", "last_name") == [{"first_name": "Ann", "last_name": "Lee"}]
    assert rows(Membership, "role", "public_metadata") == [
        {"role": "org:billing", "public_metadata": {"k": [1, None]}}
    ]
    assert rows(Message, "content", "parts") == [
        {"content": [{"type": "text", "text": "hi"}], "parts": [{"type": "text"}]}
    ]
    assert rows(Feedback, "helpful", "comment") == [{"helpful": False, "comment": "meh"}]


def test_unknown_fields_are_kept_in_extra():
    load(
        [
            organization("org_a", imageUrl="https://img.test/a.png", membersCount=3),
            user("user_ann", username=None),
            membership("org_a", "user_ann", privateMetadata={"x": 1}),
            agent(1, model="gpt-4o"),
            conversation("c1", visibility="private"),
            message("m1", annotations=[{"a": 1}], model="gpt-4o"),
            feedback("f1", reason="wrong"),
            knowledge_base("kb1", embeddingModel="e5"),
            knowledge_base_file("kbf1", sizeBytes=1024),
        ]
    )
    assert {name: model.objects.get().extra for name, model in _MODELS.items()} == {
        "organization": {"imageUrl": "https://img.test/a.png", "membersCount": 3},
        "user": {"username": None},
        "membership": {"privateMetadata": {"x": 1}},
        "agent": {"model": "gpt-4o"},
        "conversation": {"visibility": "private"},
        "message": {"annotations": [{"a": 1}], "model": "gpt-4o"},
        "feedback": {"reason": "wrong"},
        "knowledgeBase": {"embeddingModel": "e5"},
        "knowledgeBaseFile": {"sizeBytes": 1024},
    }


_MODELS = {
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


# --- Datetimes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("2024-03-01T09:00:00Z", "2024-03-01T09:00:00Z"),
        ("2024-03-01T10:00:00+01:00", "2024-03-01T09:00:00Z"),
        ("2024-03-01T04:30:00-04:30", "2024-03-01T09:00:00Z"),
        ("2024-03-01T00:30:00-09:00", "2024-03-01T09:30:00Z"),
        # No offset: UTC, not the server's zone.
        ("2024-03-01T09:00:00", "2024-03-01T09:00:00Z"),
        ("2024-03-01T09:00:00.123456Z", "2024-03-01T09:00:00.123456Z"),
        ("2024-03-01", "2024-03-01T00:00:00Z"),
    ],
)
def test_datetimes_are_stored_in_utc(text, stored):
    load([*tenancy(), conversation("c1"), message("m1", createdAt=text)])
    assert Message.objects.get().created_at == at(stored)


# --- Derived counts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "counts"),
    [
        ({"usage": {"inputTokens": 812, "outputTokens": 64, "totalTokens": 876}}, (812, 64, 876)),
        ({"usage": {"promptTokens": 30, "completionTokens": 7}}, (30, 7, 37)),
        ({"usage": {"inputTokens": 5, "promptTokens": 99, "outputTokens": 1}}, (5, 1, 6)),
        ({"usage": {"inputTokens": 100}}, (100, 0, 100)),
        ({"usage": {}}, (0, 0, 0)),
        ({}, (0, 0, 0)),
        ({"usage": {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}}, (0, 0, 0)),
    ],
)
def test_message_tokens(fields, counts):
    load([*tenancy(), conversation("c1"), message("m1", **fields)])
    assert rows(Message, "input_tokens", "output_tokens", "total_tokens") == [
        dict(zip(("input_tokens", "output_tokens", "total_tokens"), counts, strict=True))
    ]


@pytest.mark.parametrize(
    ("fields", "count"),
    [
        ({"toolInvocations": [{"toolCallId": "a"}, {"toolCallId": "b"}]}, 2),
        ({"toolInvocations": [], "parts": [{"type": "tool-invocation"}]}, 0),
        ({"toolInvocations": None, "parts": [{"type": "tool-invocation"}]}, 1),
        ({"parts": [{"type": "dynamic-tool"}, {"type": "tool-search"}, {"type": "text"}]}, 2),
        ({"parts": []}, 0),
        ({}, 0),
    ],
)
def test_message_tool_call_count(fields, count):
    load([*tenancy(), conversation("c1"), message("m1", **fields)])
    assert Message.objects.get().tool_call_count == count


@pytest.mark.parametrize(
    ("extraction", "counts"),
    [
        ({"inputTokens": 15000, "outputTokens": 900}, (15000, 900, 15900)),
        ({"inputTokens": 1, "outputTokens": 2, "totalTokens": 4}, (1, 2, 4)),
        ({"promptTokens": 7, "completionTokens": 3}, (7, 3, 10)),
        (None, (0, 0, 0)),
    ],
)
def test_file_extraction_tokens(extraction, counts):
    load([*tenancy(), knowledge_base("kb1"), knowledge_base_file("kbf1", extraction=extraction)])
    assert rows(
        KnowledgeBaseFile, "extract_input_tokens", "extract_output_tokens", "extract_total_tokens"
    ) == [
        dict(
            zip(
                ("extract_input_tokens", "extract_output_tokens", "extract_total_tokens"),
                counts,
                strict=True,
            )
        )
    ]


@pytest.mark.parametrize(
    ("usage", "field", "got"),
    [
        ({"inputTokens": -1}, "usage.inputTokens", "got -1"),
        ({"outputTokens": 5.5}, "usage.outputTokens", "got 5.5"),
        ({"totalTokens": 5.0}, "usage.totalTokens", "got 5.0"),
        ({"inputTokens": "5"}, "usage.inputTokens", "got '5'"),
        ({"inputTokens": True}, "usage.inputTokens", "got True"),
        ({"promptTokens": -2}, "usage.promptTokens", "got -2"),
    ],
)
def test_bad_token_counts(usage, field, got):
    base = [*tenancy(), conversation("c1")]
    line, error = refused_after(base, message("m1", usage=usage))
    assert (error.line, error.field) == (line, field)
    assert error.reason == f"must be a non-negative JSON integer, {got}"
    assert str(error).startswith(f'line {line}: field "{field}": must be a non-negative')


def test_bad_extraction_counts():
    base = [*tenancy(), knowledge_base("kb1")]
    line, error = refused_after(base, knowledge_base_file("f", extraction={"outputTokens": -9}))
    assert (error.line, error.field) == (line, "extraction.outputTokens")


def test_token_counts_beyond_64_bits():
    base = [*tenancy(), conversation("c1")]
    error = refused([*base, message("m1", usage={"inputTokens": 2**63})])
    assert error.field == "usage"
    # Each count fits, their sum (the missing totalTokens) does not.
    error = refused([*base, message("m1", usage={"inputTokens": 2**62, "outputTokens": 2**62})])
    assert (error.line, error.field) == (len(base) + 1, "usage")


# --- References -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        (membership("org_x", "user_ann"), "organizationId", 'unknown organization "org_x"'),
        (membership("org_a", "user_x"), "userId", 'unknown user "user_x"'),
        (agent(9, "org_x"), "organizationId", 'unknown organization "org_x"'),
        (conversation("cx", org_id="org_x"), "organizationId", "unknown organization"),
        (conversation("cx", user_id="user_x"), "userId", 'unknown user "user_x"'),
        (conversation("cx", agent_id=99), "agentId", "unknown agent 99"),
        (message("mx", "c_x"), "conversationId", 'unknown conversation "c_x"'),
        (feedback("fx", "m_x"), "messageId", 'unknown message "m_x"'),
        (feedback("fx", "m1", "user_x"), "userId", 'unknown user "user_x"'),
        (knowledge_base("kbx", "org_x"), "organizationId", "unknown organization"),
        (knowledge_base_file("fx", "kb_x"), "knowledgeBaseId", 'unknown knowledge base "kb_x"'),
    ],
)
def test_unknown_references(record, field, reason):
    line, error = refused_after(activity(), record)
    assert (error.line, error.field) == (line, field)
    assert error.reason.startswith(reason)
    assert error.reason.endswith("not in the database nor on an earlier line")


def test_references_to_the_database():
    load(activity())
    summary = load(
        [
            message("m3", "c1"),
            feedback("f3", "m1", "user_ann"),
            conversation("c3", user_id="user_bob", agent_id=2),
            knowledge_base_file("kbf3", "kb1"),
            membership("org_b", "user_ann"),
        ]
    )
    assert summary.created == 5


@pytest.mark.parametrize(
    ("records", "bad_line", "field"),
    [
        # The conversation comes on a later line of the same file (and batch).
        ([*tenancy(), message("m1"), conversation("c1")], 12, "conversationId"),
        ([organization("org_a"), user("user_ann"), membership("org_a", "user_ann")], None, None),
        ([membership("org_a", "user_ann"), organization("org_a"), user("user_ann")], 1, None),
        ([*tenancy(), conversation("c1"), feedback("f1", "m1"), message("m1")], 13, "messageId"),
        ([*tenancy(), knowledge_base_file("f1"), knowledge_base("kb1")], 12, "knowledgeBaseId"),
        ([*tenancy(), conversation("c1", agent_id=9), agent(9)], 12, "agentId"),
    ],
)
def test_a_record_names_only_earlier_lines(records, bad_line, field):
    if bad_line is None:
        load(records)
        return
    error = refused(records)
    assert error.line == bad_line
    if field:
        assert error.field == field


def test_conversation_user_must_be_a_member_of_its_organization():
    base = tenancy()
    # user_cid is a member of org_b only.
    line, error = refused_after(base, conversation("cx", "org_a", "user_cid", 1))
    assert (error.line, error.field) == (line, "userId")
    assert error.reason == 'user "user_cid" is not a member of organization "org_a"'


def test_membership_on_an_earlier_line_makes_a_member():
    load([*tenancy(), membership("org_a", "user_cid"), conversation("cx", "org_a", "user_cid")])
    assert Conversation.objects.get().user_id == "user_cid"


def test_conversation_agent_must_belong_to_its_organization():
    line, error = refused_after(tenancy(), conversation("cx", "org_a", "user_ann", 3))
    assert (error.line, error.field) == (line, "agentId")
    assert error.reason == 'agent 3 belongs to organization "org_b", not "org_a"'


def test_feedback_user_must_be_a_member_of_the_message_organization():
    line, error = refused_after(activity(), feedback("fx", "m1", "user_cid"))
    assert (error.line, error.field) == (line, "userId")
    assert error.reason == (
        'user "user_cid" is not a member of organization "org_a" (the message\'s organization)'
    )


def test_copied_organization_owner_and_agent():
    load(activity())
    assert rows(Message, "id", "organization_id", "owner_id", "agent_id") == [
        {"id": "m1", "organization_id": "org_a", "owner_id": "user_ann", "agent_id": 1},
        {"id": "m2", "organization_id": "org_a", "owner_id": "user_ann", "agent_id": 1},
    ]
    # The feedback's user is bob; its owner is the conversation's (ann).
    assert rows(Feedback, "organization_id", "user_id", "owner_id", "agent_id") == [
        {"organization_id": "org_a", "user_id": "user_bob", "owner_id": "user_ann", "agent_id": 1}
    ]
    assert rows(KnowledgeBaseFile, "organization_id") == [{"organization_id": "org_a"}]


# --- Changes on re-import -------------------------------------------------------------------


def test_reimport_that_changes_a_conversation_owner_and_agent_re_owns_messages_and_feedback():
    load(activity())
    load([conversation("c1", user_id="user_bob", agent_id=2)])
    assert rows(Message, "id", "owner_id", "agent_id") == [
        {"id": "m1", "owner_id": "user_bob", "agent_id": 2},
        {"id": "m2", "owner_id": "user_bob", "agent_id": 2},
    ]
    assert rows(Feedback, "owner_id", "agent_id", "user_id") == [
        {"owner_id": "user_bob", "agent_id": 2, "user_id": "user_bob"}
    ]


def test_changed_conversation_and_new_message_in_one_file():
    load(activity())
    load([message("m3", "c1"), conversation("c1", user_id="user_bob"), feedback("f3", "m3")])
    assert rows(Message, "id", "owner_id") == [
        {"id": "m1", "owner_id": "user_bob"},
        {"id": "m2", "owner_id": "user_bob"},
        {"id": "m3", "owner_id": "user_bob"},
    ]
    assert rows(Feedback, "id", "owner_id") == [
        {"id": "f1", "owner_id": "user_bob"},
        {"id": "f3", "owner_id": "user_bob"},
    ]


def test_a_message_moved_to_another_conversation_takes_its_feedback_along():
    load(activity())
    load([message("m2", "c2", usage={"inputTokens": 10, "outputTokens": 5})])
    assert rows(Message, "id", "conversation_id", "owner_id", "agent_id") == [
        {"id": "m1", "conversation_id": "c1", "owner_id": "user_ann", "agent_id": 1},
        {"id": "m2", "conversation_id": "c2", "owner_id": "user_bob", "agent_id": 2},
    ]
    assert rows(Feedback, "owner_id", "agent_id") == [{"owner_id": "user_bob", "agent_id": 2}]


def test_a_reimport_replaces_every_field():
    load(activity())
    load([message("m2", content="edited", usage={"promptTokens": 1})])
    assert rows(Message, "id", "content", "input_tokens", "total_tokens", "usage") == [
        {"id": "m1", "content": None, "input_tokens": 0, "total_tokens": 0, "usage": None},
        {
            "id": "m2",
            "content": "edited",
            "input_tokens": 1,
            "total_tokens": 1,
            "usage": {"promptTokens": 1},
        },
    ]
    # Absent optional fields go back to their defaults.
    load([membership("org_a", "user_ann")])
    assert Membership.objects.get(user_id="user_ann", organization_id="org_a").role == "org:member"


@pytest.mark.parametrize(
    ("record", "field", "named"),
    [
        (agent(1, "org_b"), "organizationId", "agent 1"),
        (conversation("c1", "org_b", "user_cid", 3), "organizationId", 'conversation "c1"'),
        (knowledge_base("kb1", "org_b"), "organizationId", 'knowledge base "kb1"'),
    ],
)
def test_an_id_of_another_organization_is_never_moved(record, field, named):
    load(activity())
    error = refused([record])
    assert (error.line, error.field) == (1, field)
    assert error.reason == (
        f'{named} already exists in organization "org_a", not "org_b"; '
        "an import never moves data between organizations"
    )


def test_a_message_is_never_moved_into_another_organization():
    load(activity())
    load([conversation("c9", "org_b", "user_cid", 3)])
    error = refused([message("m1", "c9", role="user")])
    assert (error.line, error.field) == (1, "conversationId")
    assert error.reason.startswith('message "m1" already exists in organization "org_a"')


def test_feedback_and_files_never_move_into_another_organization():
    load(activity())
    load(
        [
            conversation("c9", "org_b", "user_cid", 3),
            message("m9", "c9"),
            knowledge_base("kb9", "org_b"),
        ]
    )
    error = refused([feedback("f1", "m9", "user_cid")])
    assert error.field == "messageId"
    assert error.reason.startswith('feedback "f1" already exists in organization "org_a"')
    error = refused([knowledge_base_file("kbf1", "kb9")])
    assert error.field == "knowledgeBaseId"
    assert error.reason.startswith('knowledge base file "kbf1" already exists in organization')


def test_a_file_may_move_to_another_knowledge_base_of_its_organization():
    load(activity())
    load([knowledge_base("kb2"), knowledge_base_file("kbf1", "kb2")])
    assert rows(KnowledgeBaseFile, "knowledge_base_id", "organization_id") == [
        {"knowledge_base_id": "kb2", "organization_id": "org_a"}
    ]


# --- Same id twice --------------------------------------------------------------------------


def test_the_identical_record_twice_is_fine():
    records = activity()
    twice = [*records, message("m1", role="user"), organization("org_a")]
    summary = load(twice)
    assert summary.total == len(twice)
    assert summary.counts["message"].created == 2
    assert summary.counts["message"].updated == 1


def test_key_order_and_spacing_do_not_make_a_record_different():
    lines = [
        b'{"type": "organization", "id": "org_a", "name": "A"}\n',
        b'{"name":"A","id":"org_a","type":"organization"}\n',
    ]
    from conversations.importer import import_lines

    assert import_lines(lines).as_dict() == {"organization": {"created": 1, "updated": 1}}


@pytest.mark.parametrize(
    ("again", "field", "named"),
    [
        (organization("org_a", name="Other"), "id", 'organization "org_a"'),
        (message("m1", role="assistant"), "id", 'message "m1"'),
        (agent(1, "org_a", name="Renamed"), "id", "agent 1"),
        (membership("org_a", "user_bob", role="org:admin"), None, "membership of user"),
    ],
)
def test_the_same_id_twice_with_different_content(again, field, named):
    records = activity()
    first = next(
        number
        for number, record in enumerate(records, 1)
        if record["type"] == again["type"]
        and all(record.get(k) == again.get(k) for k in ("id", "organizationId", "userId"))
    )
    error = refused([*records, again])
    assert (error.line, error.field) == (len(records) + 1, field)
    assert error.reason.startswith(named)
    assert error.reason.endswith(f"was already given on line {first} with different content")


# --- Records given as dicts -----------------------------------------------------------------


def test_import_records_numbers_records_as_lines():
    with pytest.raises(ActivityImportError) as error:
        import_records([*tenancy(), conversation("c1", agent_id=99)])
    assert (error.value.line, error.value.field) == (12, "agentId")
    assert not Organization.objects.exists()


def test_import_records_refuses_what_json_cannot_hold():
    with pytest.raises(ActivityImportError) as error:
        import_records([organization("org_a", tags=("a", "b"))])
    assert (error.value.line, error.value.field) == (1, "tags")
    with pytest.raises(ActivityImportError) as error:
        import_records([organization("org_a"), organization("org_b", score=float("nan"))])
    assert (error.value.line, error.value.field) == (2, "score")
    with pytest.raises(ActivityImportError) as error:
        import_records([organization("org_a", name="a\x00b")])
    assert error.value.field == "name"
    with pytest.raises(ActivityImportError) as error:
        import_records(["org_a"])
    assert error.value.reason == "must be a JSON object, got string"


# --- Storage --------------------------------------------------------------------------------


def test_awkward_characters_survive_the_trip():
    # Tabs, newlines and backslashes are what COPY's text format escapes.
    awkward = 'tab\there, new\nline, back\\slash \\N, "quoted", é 中文 \U0001f600'
    load(
        [
            organization("org\t1", name=awkward),
            user("user\\1", firstName=awkward),
            membership("org\t1", "user\\1", publicMetadata={awkward: [awkward]}),
            agent(2**63 - 1, "org\t1", name=awkward),
            conversation("c\n1", "org\t1", "user\\1", 2**63 - 1, title=awkward),
            message("m\\N", "c\n1", content={"text": awkward, awkward: None}),
        ]
    )
    assert rows(Organization, "id", "name") == [{"id": "org\t1", "name": awkward}]
    assert rows(Membership, "public_metadata") == [{"public_metadata": {awkward: [awkward]}}]
    assert rows(Conversation, "id", "agent_id", "title") == [
        {"id": "c\n1", "agent_id": 2**63 - 1, "title": awkward}
    ]
    assert rows(Message, "id", "owner_id", "content") == [
        {"id": "m\\N", "owner_id": "user\\1", "content": {"text": awkward, awkward: None}}
    ]


@pytest.mark.postgres_only
def test_a_reimport_rewrites_no_row():
    from django.db import connection

    def versions():
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, xmin::text FROM conversations_message ORDER BY id")
            return cursor.fetchall()

    load(activity())
    before = versions()
    load(activity())
    assert versions() == before
