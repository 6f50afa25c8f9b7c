"""The same world as ACTIVITY.md records: the import file of the throughput measurement."""

import json
from collections.abc import Iterator
from pathlib import Path

from bench.dataset import QUESTIONS, World, conversation_rows, iso_ms


def activity_lines(world: World) -> Iterator[str]:
    """NDJSON lines in dependency order; each conversation is followed by its messages."""
    for org in world.organizations:
        yield _line(type="organization", id=org.id, name=org.name, slug=org.slug,
                    createdAt=iso_ms(org.created_ms))  # fmt: skip
    for user in world.users:
        yield _line(type="user", id=user.id, email=user.email, firstName=user.first_name,
                    lastName=user.last_name, createdAt=iso_ms(user.created_ms))  # fmt: skip
    for org in world.organizations:
        for member in org.members:
            yield _line(type="membership", organizationId=org.id, userId=member.user_id,
                        role=member.role, publicMetadata=member.metadata)  # fmt: skip
        for agent_id, name, _weight in org.agents:
            yield _line(type="agent", id=agent_id, organizationId=org.id, name=name)
        for base_id, name in org.knowledge_bases:
            yield _line(type="knowledgeBase", id=base_id, organizationId=org.id, name=name)
        for file in org.files:
            fields = {"type": "knowledgeBaseFile", "id": file.id,
                      "knowledgeBaseId": file.knowledge_base_id, "name": file.name,
                      "status": file.status}  # fmt: skip
            if file.processed_ms is not None:
                fields["processedAt"] = iso_ms(file.processed_ms)
                fields["extraction"] = file.extraction
            yield _line(**fields)
    for conversation, messages, feedback in conversation_rows(world):
        yield _line(type="conversation", id=conversation.id,
                    organizationId=conversation.organization_id, userId=conversation.owner_id,
                    agentId=conversation.agent_id, createdAt=iso_ms(conversation.start_ms),
                    title=QUESTIONS[conversation.title_index])  # fmt: skip
        for message in messages:
            fields = {"type": "message", "id": message.id, "conversationId": conversation.id,
                      "role": message.role, "createdAt": iso_ms(message.created_ms),
                      "content": json.loads(message.content_json)}  # fmt: skip
            if message.tool_invocations_json is not None:
                fields["toolInvocations"] = json.loads(message.tool_invocations_json)
            if message.usage_json is not None:
                fields["usage"] = json.loads(message.usage_json)
            yield _line(**fields)
        for row in feedback:
            fields = {"type": "feedback", "id": row.id, "messageId": row.message_id,
                      "userId": conversation.owner_id, "helpful": row.helpful,
                      "createdAt": iso_ms(row.created_ms)}  # fmt: skip
            if row.comment:
                fields["comment"] = row.comment
            yield _line(**fields)


def write_activity_file(world: World, path: Path) -> int:
    """Write the world's records to `path`; the number of lines."""
    count = 0
    with path.open("w", encoding="utf-8") as file:
        for line in activity_lines(world):
            file.write(line)
            count += 1
    return count


def _line(**fields) -> str:
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False) + "\n"
