"""NDJSON activity records (ACTIVITY.md) for the contract suite, built as plain dicts."""

import json
from pathlib import Path


def organization(org_id: str, **fields) -> dict:
    return {"type": "organization", "id": org_id, "name": org_id, **fields}


def user(user_id: str, **fields) -> dict:
    return {"type": "user", "id": user_id, "email": f"{user_id}@example.test", **fields}


def membership(org_id: str, user_id: str, *, role="org:member", metadata=None) -> dict:
    return {
        "type": "membership",
        "organizationId": org_id,
        "userId": user_id,
        "role": role,
        "publicMetadata": {} if metadata is None else metadata,
    }


def agent(agent_id: int, org_id: str) -> dict:
    return {"type": "agent", "id": agent_id, "organizationId": org_id, "name": f"Agent {agent_id}"}


def conversation(conv_id: str, org_id: str, user_id: str, agent_id: int, created_at: str) -> dict:
    return {
        "type": "conversation",
        "id": conv_id,
        "organizationId": org_id,
        "userId": user_id,
        "agentId": agent_id,
        "createdAt": created_at,
    }


def message(msg_id: str, conv_id: str, created_at: str, *, role="assistant", **fields) -> dict:
    """A message; `fields` are the optional ones (usage, toolInvocations, parts, content)."""
    return {
        "type": "message",
        "id": msg_id,
        "conversationId": conv_id,
        "role": role,
        "createdAt": created_at,
        **fields,
    }


def feedback(fb_id: str, msg_id: str, user_id: str, *, helpful: bool, created_at: str) -> dict:
    return {
        "type": "feedback",
        "id": fb_id,
        "messageId": msg_id,
        "userId": user_id,
        "helpful": helpful,
        "createdAt": created_at,
    }


def knowledge_base(kb_id: str, org_id: str) -> dict:
    return {"type": "knowledgeBase", "id": kb_id, "organizationId": org_id, "name": kb_id}


def knowledge_base_file(file_id: str, kb_id: str, *, processed_at, extraction=None) -> dict:
    record = {
        "type": "knowledgeBaseFile",
        "id": file_id,
        "knowledgeBaseId": kb_id,
        "name": f"{file_id}.pdf",
        "status": "processed" if processed_at else "pending",
        "processedAt": processed_at,
    }
    if extraction is not None:
        record["extraction"] = extraction
    return record


def org_with_members(org_id: str, members: dict[str, dict], agents=()) -> list[dict]:
    """An organization, its users and memberships ({user_id: membership kwargs}), agents."""
    records = [organization(org_id)]
    for user_id, kwargs in members.items():
        records += [user(user_id), membership(org_id, user_id, **kwargs)]
    records += [agent(agent_id, org_id) for agent_id in agents]
    return records


def write_ndjson(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path
