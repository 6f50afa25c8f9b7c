"""Activity records (ACTIVITY.md) as plain dicts, and whole-database dumps, for importer tests."""

import json
from datetime import UTC, datetime

from asteragents.models import Membership, Organization, User
from conversations.importer import import_lines
from conversations.models import Agent, Conversation, Feedback, Message
from kb.models import KnowledgeBase, KnowledgeBaseFile

T0 = "2024-03-01T09:00:00Z"


def at(text: str) -> datetime:
    """An aware UTC datetime written out, for expected values (not parse_instant)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def organization(org_id="org_a", **fields) -> dict:
    return {"type": "organization", "id": org_id, **fields}


def user(user_id, **fields) -> dict:
    return {"type": "user", "id": user_id, **fields}


def membership(org_id, user_id, **fields) -> dict:
    return {"type": "membership", "organizationId": org_id, "userId": user_id, **fields}


def agent(agent_id, org_id="org_a", **fields) -> dict:
    return {"type": "agent", "id": agent_id, "organizationId": org_id, **fields}


def conversation(conv_id, org_id="org_a", user_id="user_ann", agent_id=1, **fields) -> dict:
    return {
        "type": "conversation",
        "id": conv_id,
        "organizationId": org_id,
        "userId": user_id,
        "agentId": agent_id,
        "createdAt": T0,
        **fields,
    }


def message(msg_id, conv_id="c1", role="assistant", **fields) -> dict:
    return {
        "type": "message",
        "id": msg_id,
        "conversationId": conv_id,
        "role": role,
        "createdAt": T0,
        **fields,
    }


def feedback(fb_id, msg_id="m1", user_id="user_ann", helpful=True, **fields) -> dict:
    return {
        "type": "feedback",
        "id": fb_id,
        "messageId": msg_id,
        "userId": user_id,
        "helpful": helpful,
        "createdAt": T0,
        **fields,
    }


def knowledge_base(kb_id, org_id="org_a", **fields) -> dict:
    return {"type": "knowledgeBase", "id": kb_id, "organizationId": org_id, **fields}


def knowledge_base_file(file_id, kb_id="kb1", name="f.pdf", **fields) -> dict:
    return {
        "type": "knowledgeBaseFile",
        "id": file_id,
        "knowledgeBaseId": kb_id,
        "name": name,
        **fields,
    }


def tenancy() -> list[dict]:
    """org_a (ann admin, bob member; agents 1, 2) and org_b (cid member; agent 3)."""
    return [
        organization("org_a"),
        organization("org_b"),
        user("user_ann"),
        user("user_bob"),
        user("user_cid"),
        membership("org_a", "user_ann", role="org:admin"),
        membership("org_a", "user_bob"),
        membership("org_b", "user_cid"),
        agent(1, "org_a"),
        agent(2, "org_a"),
        agent(3, "org_b"),
    ]


def activity() -> list[dict]:
    """tenancy(), then conversation c1 (ann, agent 1) with m1, m2, feedback f1 (bob on m2),
    c2 (bob, agent 2), and knowledge base kb1 with file kbf1."""
    return [
        *tenancy(),
        conversation("c1"),
        conversation("c2", user_id="user_bob", agent_id=2),
        message("m1", role="user"),
        message("m2", usage={"inputTokens": 10, "outputTokens": 5}),
        feedback("f1", "m2", "user_bob"),
        knowledge_base("kb1"),
        knowledge_base_file("kbf1"),
    ]


def ndjson(records) -> list[bytes]:
    """The records as NDJSON lines, one per record."""
    return [json.dumps(record).encode() + b"\n" for record in records]


def load(records, **kwargs):
    """Import the records through import_lines, as a file would bring them."""
    return import_lines(ndjson(records), **kwargs)


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


def dump() -> dict[str, list[dict]]:
    """Every row of every table the importer writes, in key order."""
    return {
        name: list(model.objects.order_by(*_order(model)).values())
        for name, model in MODELS.items()
    }


def _order(model) -> list[str]:
    return ["organization_id", "user_id"] if model is Membership else ["pk"]


def rows(model, *fields) -> list[dict]:
    """The table's rows as dicts of the given fields (all, without `id`, if none given)."""
    if not fields:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        if model._meta.pk.attname == "id" and model is not Membership:
            fields = ["id", *fields]
    return list(model.objects.order_by(*_order(model)).values(*fields))
