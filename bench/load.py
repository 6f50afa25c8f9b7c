"""COPY a planned world into PostgreSQL: the rows the importer would write, only faster.

Messages and feedback carry their conversation's organization, owner and agent, the
integer columns hold what conversations.usage derives from the JSON, and files carry their
knowledge base's organization. The caller owns the transaction: `load_world` truncates the
activity tables and fills them inside it.

Speed: the three big tables (conversations, messages, feedback) are loaded with their
secondary indexes and foreign keys dropped, then both are recreated from the definitions
PostgreSQL reported before the drop (and compared afterwards), so the schema ends exactly
as the migrations left it. A foreign key checked row by row costs more than the COPY itself;
re-adding it checks every row in one join.
"""

import json
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from psycopg import sql

from asteragents.models import Membership, Organization, User
from bench.dataset import QUESTIONS, World, conversation_rows, iso_ms
from conversations.models import Agent, Conversation, Feedback, Message
from kb.models import KnowledgeBase, KnowledgeBaseFile

NULL = "\\N"
EMPTY_OBJECT = "{}"
CHUNK_BYTES = 1 << 20
# Tables the load truncates, parents first (TRUNCATE ... CASCADE also empties any rollups).
LOADED_MODELS = (
    Organization, User, Membership, Agent, KnowledgeBase, KnowledgeBaseFile,
    Conversation, Message, Feedback,
)  # fmt: skip
# Tables big enough that their indexes and foreign keys are rebuilt after the COPY.
BULK_MODELS = (Conversation, Message, Feedback)

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"))
    return str(value).translate(_ESCAPES)


@dataclass
class LoadReport:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TableStructure:
    """A table's secondary indexes and foreign keys, as PostgreSQL prints their definitions."""

    indexes: tuple[tuple[str, str], ...]
    foreign_keys: tuple[tuple[str, str], ...]


def table_structure(cursor, table: str) -> TableStructure:
    cursor.execute(
        """
        SELECT index_class.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class index_class ON index_class.oid = i.indexrelid
        WHERE i.indrelid = %s::regclass
          AND NOT EXISTS (
            SELECT 1 FROM pg_constraint k
            WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid
              AND k.contype IN ('p', 'u', 'x'))
        ORDER BY 1
        """,
        [table],
    )
    indexes = tuple(cursor.fetchall())
    cursor.execute(
        """
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY 1
        """,
        [table],
    )
    return TableStructure(indexes, tuple(cursor.fetchall()))


def drop_structure(cursor, table: str, structure: TableStructure) -> None:
    for name, _definition in structure.foreign_keys:
        cursor.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
    for name, _definition in structure.indexes:
        cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))


def restore_structure(cursor, table: str, structure: TableStructure) -> None:
    """Recreate what drop_structure dropped, then check the table matches the original."""
    for _name, definition in structure.indexes:
        cursor.execute(definition)  # from pg_get_indexdef: PostgreSQL's own SQL
    for name, definition in structure.foreign_keys:
        cursor.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                sql.Identifier(table), sql.Identifier(name)
            )
            + sql.SQL(definition)  # from pg_get_constraintdef: PostgreSQL's own SQL
        )
    restored = table_structure(cursor, table)
    if restored != structure:
        raise RuntimeError(f"{table}: indexes or foreign keys differ after the load")


def load_world(cursor, world: World, *, freeze: bool = True, progress=None) -> LoadReport:
    """Truncate the activity tables and COPY the world in (inside the caller's transaction).

    `cursor` is a psycopg 3 cursor. With `freeze`, rows are written frozen and all-visible
    (COPY FREEZE, allowed because the tables were truncated in this transaction), so index-
    only scans need no VACUUM first.
    """
    report = LoadReport()
    tables = [model._meta.db_table for model in LOADED_MODELS]
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    cursor.execute(
        sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
            sql.SQL(", ").join(sql.Identifier(table) for table in tables)
        )
    )
    bulk_structures = {}
    for model in BULK_MODELS:
        table = model._meta.db_table
        bulk_structures[table] = table_structure(cursor, table)
        drop_structure(cursor, table, bulk_structures[table])

    def copy(model, columns: tuple[str, ...], lines: Iterable[str]) -> None:
        started = time.perf_counter()
        count = _copy_lines(cursor, model._meta.db_table, columns, lines, freeze=freeze)
        report.rows[model._meta.db_table] = count
        report.seconds[model._meta.db_table] = time.perf_counter() - started
        if progress:
            progress(f"  {model._meta.db_table}: {count:,} rows")

    copy(Organization, ORGANIZATION_COLUMNS, _organization_lines(world))
    copy(User, USER_COLUMNS, _user_lines(world))
    copy(Membership, MEMBERSHIP_COLUMNS, _membership_lines(world))
    copy(Agent, AGENT_COLUMNS, _agent_lines(world))
    copy(KnowledgeBase, KNOWLEDGE_BASE_COLUMNS, _knowledge_base_lines(world))
    copy(KnowledgeBaseFile, KNOWLEDGE_BASE_FILE_COLUMNS, _file_lines(world))
    copy(Conversation, CONVERSATION_COLUMNS, _conversation_lines(world))
    # Feedback is drawn with its message; it waits in a file until the messages are in.
    with tempfile.TemporaryFile("w+", encoding="utf-8") as feedback_file:
        copy(Message, MESSAGE_COLUMNS, _message_lines(world, feedback_file.write))
        feedback_file.seek(0)
        copy(Feedback, FEEDBACK_COLUMNS, feedback_file)

    for table, structure in bulk_structures.items():
        started = time.perf_counter()
        restore_structure(cursor, table, structure)
        report.seconds[f"{table} indexes and keys"] = time.perf_counter() - started
        if progress:
            progress(f"  {table}: indexes and foreign keys recreated")
    return report


def _copy_lines(cursor, table: str, columns, lines: Iterable[str], *, freeze: bool) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(column) for column in columns),
        sql.SQL(" WITH (FREEZE)") if freeze else sql.SQL(""),
    )
    count, chunk, size = 0, [], 0
    with cursor.copy(statement) as copy:
        for line in lines:
            chunk.append(line)
            size += len(line)
            count += 1
            if size >= CHUNK_BYTES:
                copy.write("".join(chunk))
                chunk, size = [], 0
        if chunk:
            copy.write("".join(chunk))
    return count


def _row(*values) -> str:
    return "\t".join(copy_text(value) for value in values) + "\n"


ORGANIZATION_COLUMNS = ("id", "name", "slug", "created_at", "extra")
USER_COLUMNS = ("id", "email", "first_name", "last_name", "created_at", "extra")
MEMBERSHIP_COLUMNS = ("organization_id", "user_id", "role", "public_metadata", "extra")
AGENT_COLUMNS = ("id", "organization_id", "name", "extra")
KNOWLEDGE_BASE_COLUMNS = ("id", "organization_id", "name", "extra")
KNOWLEDGE_BASE_FILE_COLUMNS = (
    "id", "organization_id", "knowledge_base_id", "name", "status", "processed_at",
    "extraction", "extra", "extract_input_tokens", "extract_output_tokens",
    "extract_total_tokens",
)  # fmt: skip
CONVERSATION_COLUMNS = (
    "id", "organization_id", "user_id", "agent_id", "created_at", "title", "extra",
)  # fmt: skip
MESSAGE_COLUMNS = (
    "id", "organization_id", "conversation_id", "owner_id", "agent_id", "role", "created_at",
    "content", "tool_invocations", "parts", "usage", "extra", "tool_call_count",
    "input_tokens", "output_tokens", "total_tokens",
)  # fmt: skip
FEEDBACK_COLUMNS = (
    "id", "organization_id", "message_id", "user_id", "owner_id", "agent_id", "helpful",
    "created_at", "comment", "extra",
)  # fmt: skip


def _organization_lines(world: World):
    for org in world.organizations:
        yield _row(org.id, org.name, org.slug, iso_ms(org.created_ms), EMPTY_OBJECT)


def _user_lines(world: World):
    for user in world.users:
        yield _row(
            user.id, user.email, user.first_name, user.last_name, iso_ms(user.created_ms),
            EMPTY_OBJECT,
        )  # fmt: skip


def _membership_lines(world: World):
    for org in world.organizations:
        for member in org.members:
            yield _row(org.id, member.user_id, member.role, member.metadata, EMPTY_OBJECT)


def _agent_lines(world: World):
    for org in world.organizations:
        for agent_id, name, _weight in org.agents:
            yield _row(agent_id, org.id, name, EMPTY_OBJECT)


def _knowledge_base_lines(world: World):
    for org in world.organizations:
        for base_id, name in org.knowledge_bases:
            yield _row(base_id, org.id, name, EMPTY_OBJECT)


def _file_lines(world: World):
    for org in world.organizations:
        for file in org.files:
            processed = None if file.processed_ms is None else iso_ms(file.processed_ms)
            yield _row(
                file.id, org.id, file.knowledge_base_id, file.name, file.status, processed,
                file.extraction, EMPTY_OBJECT, *file.tokens,
            )  # fmt: skip


def _conversation_lines(world: World):
    for conversation in world.conversations:
        yield _row(
            conversation.id,
            conversation.organization_id,
            conversation.owner_id,
            conversation.agent_id,
            iso_ms(conversation.start_ms),
            QUESTIONS[conversation.title_index],
            EMPTY_OBJECT,
        )


def _message_lines(world: World, write_feedback: Callable[[str], object]):
    """Message rows as COPY text (the hot loop: the generator's JSON needs no escaping)."""
    for conversation, messages, feedback in conversation_rows(world):
        # The importer copies these three from the conversation.
        copied = (
            f"{conversation.organization_id}\t{conversation.id}\t"
            f"{conversation.owner_id}\t{conversation.agent_id}"
        )
        for message in messages:
            yield (
                f"{message.id}\t{copied}\t{message.role}\t{iso_ms(message.created_ms)}\t"
                f"{message.content_json}\t{message.tool_invocations_json or NULL}\t{NULL}\t"
                f"{message.usage_json or NULL}\t{{}}\t{message.tool_call_count}\t"
                f"{message.input_tokens}\t{message.output_tokens}\t{message.total_tokens}\n"
            )
        for row in feedback:
            write_feedback(
                _row(
                    row.id,
                    conversation.organization_id,
                    row.message_id,
                    conversation.owner_id,
                    conversation.owner_id,
                    conversation.agent_id,
                    row.helpful,
                    iso_ms(row.created_ms),
                    row.comment,
                    EMPTY_OBJECT,
                )  # fmt: skip
            )
