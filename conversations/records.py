"""One activity record (ACTIVITY.md) read on its own: fields, types, defaults, derived counts.

Everything that can be checked without the database is checked here; references between
records (and the organization rules) are the importer's. Field names are camelCase in the
file and snake_case column names (attnames) in the result.
"""

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models

from asteragents.datetimes import parse_instant
from asteragents.models import CLERK_ID_LENGTH, Membership, Organization, User
from conversations.models import Agent, Conversation, Feedback, Message
from conversations.usage import UsageError, count_tool_invocations, parse_usage
from kb.models import KnowledgeBase, KnowledgeBaseFile

# PostgreSQL bigint: the range of every integer column the importer fills.
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


class RecordError(ValueError):
    """A record that breaks ACTIVITY.md; `field` is a dotted path, or None for the record."""

    def __init__(self, field: str | None, reason: str):
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def shown(value: Any, limit: int = 60) -> str:
    """A value as JSON, cut short: error messages must not echo a megabyte back."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def find_unstorable(value: Any) -> RecordError | None:
    """The first string or number neither database can store, or a non-JSON value.

    PostgreSQL refuses the NUL character in text and jsonb, and an unpaired surrogate has no
    UTF-8 form; NaN and the infinities are not JSON. Iterative: the depth is the sender's.
    """
    stack: list[tuple[str | None, Any]] = [(None, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if problem := _string_problem(item):
                return RecordError(path, problem)
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return RecordError(path, f"has a key that is not a string: {key!r}")
                if problem := _string_problem(key):
                    return RecordError(path, f"has a key that {problem}")
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
        elif isinstance(item, float):
            if not math.isfinite(item):
                return RecordError(path, f"must be a finite number, got {item!r}")
        elif item is not None and not isinstance(item, bool | int):
            return RecordError(path, f"is not a JSON value (a {type(item).__name__})")
    return None


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains the NUL character (\\u0000), which PostgreSQL cannot store"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"contains an unpaired surrogate (\\u{ord(text[exc.start]):04x})"
    return None


# --- Readers: a JSON value in, a column value out, or RecordError(None, reason) -----------


def identifier(value: Any) -> str:
    if not isinstance(value, str):
        raise RecordError(None, f"must be a string, got {json_type(value)} {shown(value)}")
    if not value:
        raise RecordError(None, "must not be empty")
    if len(value) > CLERK_ID_LENGTH:
        raise RecordError(None, f"must be at most {CLERK_ID_LENGTH} characters, got {len(value)}")
    return value


def integer_id(value: Any) -> int:
    # bool is an int in Python but `true` is no id in JSON; 7.0 is a float, not an id.
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(None, f"must be a JSON integer, got {json_type(value)} {shown(value)}")
    if not BIGINT_MIN <= value <= BIGINT_MAX:
        raise RecordError(None, f"must fit in 64 bits, got {shown(value)}")
    return value


def text(max_length: int | None = None) -> Callable[[Any], str]:
    def read_text(value: Any) -> str:
        if not isinstance(value, str):
            raise RecordError(None, f"must be a string, got {json_type(value)} {shown(value)}")
        if max_length is not None and len(value) > max_length:
            raise RecordError(None, f"must be at most {max_length} characters, got {len(value)}")
        return value

    return read_text


def choice(*allowed: str) -> Callable[[Any], str]:
    def read_choice(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            names = ", ".join(f'"{name}"' for name in allowed)
            raise RecordError(None, f"must be one of {names}, got {shown(value)}")
        return value

    return read_choice


def instant(value: Any):
    if not isinstance(value, str):
        raise RecordError(None, f"must be an ISO 8601 datetime string, got {json_type(value)}")
    try:
        return parse_instant(value)
    except ValueError:
        raise RecordError(None, f"must be an ISO 8601 datetime, got {shown(value)}") from None


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise RecordError(None, f"must be true or false, got {shown(value)}")
    return value


def json_object(value: Any) -> dict:
    if not isinstance(value, dict):
        raise RecordError(None, f"must be an object, got {json_type(value)}")
    return value


def json_array(value: Any) -> list:
    if not isinstance(value, list):
        raise RecordError(None, f"must be an array, got {json_type(value)}")
    return value


def any_json(value: Any) -> Any:
    return value


# --- Record types --------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    name: str  # camelCase, as in the file
    column: str  # the model's attname
    read: Callable[[Any], Any]
    required: bool = False
    # The value when the field is absent or null; a callable is called (fresh {} each time).
    default: Any = None


@dataclass(frozen=True, eq=False)
class RecordType:
    name: str  # the `type` of the record
    model: type[models.Model]
    fields: tuple[Field, ...]
    # Columns of the upsert key: the primary key, or a membership's organization and user.
    key_columns: tuple[str, ...] = ("id",)
    # Adds the columns computed from the record (token counts, tool calls).
    derive: Callable[[dict], None] | None = None

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(field.name for field in self.fields) | {"type"}


def usage_counts(usage: Any, field: str) -> tuple[int, int, int]:
    """parse_usage, with errors named by the record's field and the counts bounded to bigint."""
    try:
        parsed = parse_usage(usage)
    except UsageError as exc:
        path = field if exc.field == "usage" else f"{field}.{exc.field}"
        raise RecordError(path, exc.reason) from None
    counts = (parsed.input_tokens, parsed.output_tokens, parsed.total_tokens)
    if max(counts) > BIGINT_MAX:
        raise RecordError(field, f"token counts must be at most {BIGINT_MAX}")
    return counts


def _derive_message(values: dict) -> None:
    values["tool_call_count"] = count_tool_invocations(values["tool_invocations"], values["parts"])
    (values["input_tokens"], values["output_tokens"], values["total_tokens"]) = usage_counts(
        values["usage"], "usage"
    )


def _derive_file(values: dict) -> None:
    (
        values["extract_input_tokens"],
        values["extract_output_tokens"],
        values["extract_total_tokens"],
    ) = usage_counts(values["extraction"], "extraction")


ORGANIZATION = RecordType(
    "organization",
    Organization,
    (
        Field("id", "id", identifier, required=True),
        Field("name", "name", text(255), default=""),
        Field("slug", "slug", text(255), default=""),
        Field("createdAt", "created_at", instant),
    ),
)
USER = RecordType(
    "user",
    User,
    (
        Field("id", "id", identifier, required=True),
        Field("email", "email", text(320), default=""),
        Field("firstName", "first_name", text(255), default=""),
        Field("lastName", "last_name", text(255), default=""),
        Field("createdAt", "created_at", instant),
    ),
)
MEMBERSHIP = RecordType(
    "membership",
    Membership,
    (
        Field("organizationId", "organization_id", identifier, required=True),
        Field("userId", "user_id", identifier, required=True),
        Field("role", "role", text(64), default=Membership.Role.MEMBER.value),
        Field("publicMetadata", "public_metadata", json_object, default=dict),
    ),
    key_columns=("organization_id", "user_id"),
)
AGENT = RecordType(
    "agent",
    Agent,
    (
        Field("id", "id", integer_id, required=True),
        Field("organizationId", "organization_id", identifier, required=True),
        Field("name", "name", text(255), default=""),
    ),
)
CONVERSATION = RecordType(
    "conversation",
    Conversation,
    (
        Field("id", "id", identifier, required=True),
        Field("organizationId", "organization_id", identifier, required=True),
        Field("userId", "user_id", identifier, required=True),
        Field("agentId", "agent_id", integer_id, required=True),
        Field("createdAt", "created_at", instant, required=True),
        Field("title", "title", text(), default=""),
    ),
)
MESSAGE = RecordType(
    "message",
    Message,
    (
        Field("id", "id", identifier, required=True),
        Field("conversationId", "conversation_id", identifier, required=True),
        Field("role", "role", choice(*Message.Role.values), required=True),
        Field("createdAt", "created_at", instant, required=True),
        Field("content", "content", any_json),
        Field("toolInvocations", "tool_invocations", json_array),
        Field("parts", "parts", json_array),
        Field("usage", "usage", json_object),
    ),
    derive=_derive_message,
)
FEEDBACK = RecordType(
    "feedback",
    Feedback,
    (
        Field("id", "id", identifier, required=True),
        Field("messageId", "message_id", identifier, required=True),
        Field("userId", "user_id", identifier, required=True),
        Field("helpful", "helpful", boolean, required=True),
        Field("createdAt", "created_at", instant, required=True),
        Field("comment", "comment", text(), default=""),
    ),
)
KNOWLEDGE_BASE = RecordType(
    "knowledgeBase",
    KnowledgeBase,
    (
        Field("id", "id", identifier, required=True),
        Field("organizationId", "organization_id", identifier, required=True),
        Field("name", "name", text(255), default=""),
    ),
)
KNOWLEDGE_BASE_FILE = RecordType(
    "knowledgeBaseFile",
    KnowledgeBaseFile,
    (
        Field("id", "id", identifier, required=True),
        Field("knowledgeBaseId", "knowledge_base_id", identifier, required=True),
        Field("name", "name", text(), required=True),
        Field("status", "status", text(64), default=""),
        Field("processedAt", "processed_at", instant),
        Field("extraction", "extraction", json_object),
    ),
    derive=_derive_file,
)

# In dependency order: a batch is written in this order, so a row's references exist.
RECORD_TYPES: dict[str, RecordType] = {
    record_type.name: record_type
    for record_type in (
        ORGANIZATION,
        USER,
        MEMBERSHIP,
        AGENT,
        CONVERSATION,
        MESSAGE,
        FEEDBACK,
        KNOWLEDGE_BASE,
        KNOWLEDGE_BASE_FILE,
    )
}
_KNOWN_FIELDS = {name: record_type.field_names for name, record_type in RECORD_TYPES.items()}


def parse_record(record: Any) -> tuple[RecordType, Any, dict]:
    """(type, upsert key, column values) of one record; RecordError when it breaks the contract.

    Unknown fields go to the `extra` column as received. The organization, owner and agent
    that messages, feedback and files copy from what they reference are the importer's.
    """
    if not isinstance(record, dict):
        raise RecordError(None, f"must be a JSON object, got {json_type(record)}")
    type_name = record.get("type")
    if type_name is None:
        raise RecordError("type", "is required")
    record_type = RECORD_TYPES.get(type_name) if isinstance(type_name, str) else None
    if record_type is None:
        expected = ", ".join(RECORD_TYPES)
        raise RecordError("type", f"unknown record type {shown(type_name)} (one of {expected})")
    values = {}
    for field in record_type.fields:
        value = record.get(field.name)
        if value is None:
            if field.required:
                got = ", got null" if field.name in record else ""
                raise RecordError(field.name, f"is required{got}")
            default = field.default
            values[field.column] = default() if callable(default) else default
            continue
        try:
            values[field.column] = field.read(value)
        except RecordError as exc:
            raise RecordError(field.name, exc.reason) from None
    known = _KNOWN_FIELDS[type_name]
    values["extra"] = {name: value for name, value in record.items() if name not in known}
    if record_type.derive is not None:
        record_type.derive(values)
    key_columns = record_type.key_columns
    key = (
        values[key_columns[0]]
        if len(key_columns) == 1
        else tuple(values[column] for column in key_columns)
    )
    return record_type, key, values
