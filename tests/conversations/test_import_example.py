"""ACTIVITY.md's example imports to exactly these rows, and importing it again changes nothing."""

import io
from pathlib import Path

import pytest

from asteragents.models import Membership, Organization, User
from conversations.importer import import_lines, read_ndjson
from conversations.models import Agent, Conversation, Feedback, Message
from kb.models import KnowledgeBase, KnowledgeBaseFile
from tests.conversations.activity import at, dump, rows

pytestmark = pytest.mark.django_db

# ACTIVITY.md's example, as written there (and in example.ndjson beside it).
EXAMPLE_LINES = """\
{"type":"organization","id":"org_acme","name":"Acme","slug":"acme"}
{"type":"user","id":"user_ann","email":"ann@acme.test","firstName":"Ann"}
{"type":"membership","organizationId":"org_acme","userId":"user_ann","role":"org:admin","publicMetadata":{"department":"sales","tags":["beta"]}}
{"type":"agent","id":7,"organizationId":"org_acme","name":"Support"}
{"type":"conversation","id":"0b8f3c52-6a0e-4c4e-9a55-2f9f0f1d2e11","organizationId":"org_acme","userId":"user_ann","agentId":7,"createdAt":"2024-03-01T09:00:00Z"}
{"type":"message","id":"m1","conversationId":"0b8f3c52-6a0e-4c4e-9a55-2f9f0f1d2e11","role":"user","createdAt":"2024-03-01T09:00:00Z","content":"Where is my order?"}
{"type":"message","id":"m2","conversationId":"0b8f3c52-6a0e-4c4e-9a55-2f9f0f1d2e11","role":"assistant","createdAt":"2024-03-01T09:00:04Z","content":"It ships today.","toolInvocations":[{"toolCallId":"c1","toolName":"lookupOrder","args":{"id":"A1"},"state":"result","result":{"status":"packed"}}],"usage":{"inputTokens":812,"outputTokens":64,"totalTokens":876}}
{"type":"feedback","id":"f1","messageId":"m2","userId":"user_ann","helpful":true,"createdAt":"2024-03-01T09:01:00Z"}
{"type":"knowledgeBase","id":"kb_policies","organizationId":"org_acme","name":"Policies"}
{"type":"knowledgeBaseFile","id":"kbf_1","knowledgeBaseId":"kb_policies","name":"returns.pdf","status":"processed","processedAt":"2024-03-02T10:00:00Z","extraction":{"inputTokens":15000,"outputTokens":900}}
"""  # noqa: E501 -- the contract's lines, verbatim
SHARED_EXAMPLE = Path("/work/shared/contract/example.ndjson")
CONVERSATION = "0b8f3c52-6a0e-4c4e-9a55-2f9f0f1d2e11"
TOOL_INVOCATIONS = [
    {
        "toolCallId": "c1",
        "toolName": "lookupOrder",
        "args": {"id": "A1"},
        "state": "result",
        "result": {"status": "packed"},
    }
]


def import_example():
    stream = io.BytesIO(EXAMPLE_LINES.encode())
    return import_lines(read_ndjson(stream))


def test_the_example_is_the_contracts():
    if not SHARED_EXAMPLE.exists():
        pytest.skip("the contract's example.ndjson is not beside this checkout")
    assert SHARED_EXAMPLE.read_text("utf-8") == EXAMPLE_LINES


def test_example_rows():
    summary = import_example()

    assert summary.as_dict() == {
        "organization": {"created": 1, "updated": 0},
        "user": {"created": 1, "updated": 0},
        "membership": {"created": 1, "updated": 0},
        "agent": {"created": 1, "updated": 0},
        "conversation": {"created": 1, "updated": 0},
        "message": {"created": 2, "updated": 0},
        "feedback": {"created": 1, "updated": 0},
        "knowledgeBase": {"created": 1, "updated": 0},
        "knowledgeBaseFile": {"created": 1, "updated": 0},
    }
    assert (summary.created, summary.updated, summary.total) == (10, 0, 10)
    assert rows(Organization) == [
        {"id": "org_acme", "name": "Acme", "slug": "acme", "created_at": None, "extra": {}}
    ]
    assert rows(User) == [
        {
            "id": "user_ann",
            "email": "ann@acme.test",
            "first_name": "Ann",
            "last_name": "",
            "created_at": None,
            "extra": {},
        }
    ]
    assert rows(Membership) == [
        {
            "organization_id": "org_acme",
            "user_id": "user_ann",
            "role": "org:admin",
            "public_metadata": {"department": "sales", "tags": ["beta"]},
            "extra": {},
        }
    ]
    assert rows(Agent) == [{"id": 7, "organization_id": "org_acme", "name": "Support", "extra": {}}]
    assert rows(Conversation) == [
        {
            "id": CONVERSATION,
            "organization_id": "org_acme",
            "user_id": "user_ann",
            "agent_id": 7,
            "created_at": at("2024-03-01T09:00:00Z"),
            "title": "",
            "extra": {},
        }
    ]
    assert rows(Message) == [
        {
            "id": "m1",
            "organization_id": "org_acme",
            "conversation_id": CONVERSATION,
            "owner_id": "user_ann",
            "agent_id": 7,
            "role": "user",
            "created_at": at("2024-03-01T09:00:00Z"),
            "content": "Where is my order?",
            "tool_invocations": None,
            "parts": None,
            "usage": None,
            "extra": {},
            "tool_call_count": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "total_tokens": 0,
        },
        {
            "id": "m2",
            "organization_id": "org_acme",
            "conversation_id": CONVERSATION,
            "owner_id": "user_ann",
            "agent_id": 7,
            "role": "assistant",
            "created_at": at("2024-03-01T09:00:04Z"),
            "content": "It ships today.",
            "tool_invocations": TOOL_INVOCATIONS,
            "parts": None,
            "usage": {"inputTokens": 812, "outputTokens": 64, "totalTokens": 876},
            "extra": {},
            "tool_call_count": 1,
            "input_tokens": 812,
            "output_tokens": 64,
            "total_tokens": 876,
        },
    ]
    assert rows(Feedback) == [
        {
            "id": "f1",
            "organization_id": "org_acme",
            "message_id": "m2",
            "user_id": "user_ann",
            "owner_id": "user_ann",
            "agent_id": 7,
            "helpful": True,
            "created_at": at("2024-03-01T09:01:00Z"),
            "comment": "",
            "extra": {},
        }
    ]
    assert rows(KnowledgeBase) == [
        {"id": "kb_policies", "organization_id": "org_acme", "name": "Policies", "extra": {}}
    ]
    assert rows(KnowledgeBaseFile) == [
        {
            "id": "kbf_1",
            "organization_id": "org_acme",
            "knowledge_base_id": "kb_policies",
            "name": "returns.pdf",
            "status": "processed",
            "processed_at": at("2024-03-02T10:00:00Z"),
            "extraction": {"inputTokens": 15000, "outputTokens": 900},
            "extra": {},
            "extract_input_tokens": 15000,
            "extract_output_tokens": 900,
            "extract_total_tokens": 15900,  # 15000 + 900: no totalTokens given
        }
    ]


def test_importing_twice_changes_nothing():
    import_example()
    first = dump()

    summary = import_example()

    assert dump() == first
    assert (summary.created, summary.updated) == (0, 10)
    assert str(summary) == (
        "10 records: 0 created, 10 updated (organization 1 updated; user 1 updated; "
        "membership 1 updated; agent 1 updated; conversation 1 updated; message 2 updated; "
        "feedback 1 updated; knowledgeBase 1 updated; knowledgeBaseFile 1 updated)"
    )


def test_summary_text():
    assert str(import_example()) == (
        "10 records: 10 created, 0 updated (organization 1 created; user 1 created; "
        "membership 1 created; agent 1 created; conversation 1 created; message 2 created; "
        "feedback 1 created; knowledgeBase 1 created; knowledgeBaseFile 1 created)"
    )
