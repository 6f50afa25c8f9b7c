"""The sixteen figures by hand-written SQL over the raw tables: the yardstick of the bench.

One statement per table (messages, feedback, knowledge-base files), served by the
migrations' covering indexes, values always bound as parameters. Written independently of
stats/ (no ORM, no rollups), so that it also checks the selector's numbers.

Choices, measured on the bench dataset:
- The distinct counts compare bytes (COLLATE "C"): ids are compared for equality only, and
  a C sort is several times cheaper than the database's linguistic one. Counts are the same
  because every libc collation is deterministic (equal only when the bytes are).
- The metadata filters turn the matching members into an array first, so PostgreSQL can
  walk the (organization, owner, created_at) index once per member instead of scanning the
  whole organization's range and filtering.
- Metadata matching is written for the bench's values only: strings that are no JSON number
  and no boolean (STATS.md's number and boolean rules never apply to them).
"""

import re
from datetime import datetime

from bench.cases import METADATA_KEY, Case, Subjects

_MESSAGES = """
SELECT count(DISTINCT conversation_id COLLATE "C"),
       count(*),
       coalesce(sum(tool_call_count), 0),
       coalesce(sum(total_tokens), 0),
       coalesce(sum(input_tokens), 0),
       coalesce(sum(output_tokens), 0),
       count(DISTINCT owner_id COLLATE "C"),
       count(DISTINCT agent_id)
FROM conversations_message
WHERE organization_id = %(organization)s
  AND created_at >= %(start)s AND created_at <= %(end)s
"""
_FEEDBACK = """
SELECT count(*), count(*) FILTER (WHERE helpful), count(*) FILTER (WHERE NOT helpful)
FROM conversations_feedback
WHERE organization_id = %(organization)s
  AND created_at >= %(start)s AND created_at <= %(end)s
"""
_FILES = """
SELECT count(*),
       count(DISTINCT knowledge_base_id COLLATE "C"),
       coalesce(sum(extract_total_tokens), 0),
       coalesce(sum(extract_input_tokens), 0),
       coalesce(sum(extract_output_tokens), 0)
FROM kb_knowledgebasefile
WHERE organization_id = %(organization)s
  AND processed_at >= %(start)s AND processed_at <= %(end)s
"""
# The conversation filters, applied to messages and feedback alike (both carry the
# conversation's owner and agent).
_BY_USER = "  AND owner_id = %(user)s\n"
_BY_AGENT = "  AND agent_id = %(agent)s\n"
# A value matches at the key when it is the string, or an array holding the string.
_BY_METADATA_AT_KEY = """
  AND owner_id = ANY (ARRAY(
    SELECT user_id FROM asteragents_membership
    WHERE organization_id = %(organization)s
      AND (public_metadata -> %(key)s = to_jsonb(%(value)s::text)
           OR (jsonb_typeof(public_metadata -> %(key)s) = 'array'
               AND public_metadata -> %(key)s @> jsonb_build_array(%(value)s::text)))))
"""
_BY_METADATA_ANY_KEY = """
  AND owner_id = ANY (ARRAY(
    SELECT user_id FROM asteragents_membership
    WHERE organization_id = %(organization)s
      AND EXISTS (
        SELECT 1 FROM jsonb_each(public_metadata) AS entry (key, value)
        WHERE entry.value = to_jsonb(%(value)s::text)
           OR (jsonb_typeof(entry.value) = 'array'
               AND entry.value @> jsonb_build_array(%(value)s::text)))))
"""
_SCOPES = {
    "org": "",
    "user": _BY_USER,
    "agent": _BY_AGENT,
    "metadata": _BY_METADATA_AT_KEY,
    "metadata-value": _BY_METADATA_ANY_KEY,
}
MESSAGE_FIELDS = (
    "conversationCount", "messageCount", "toolCalls", "totalTokens", "inputTokens",
    "outputTokens", "uniqueUsers", "uniqueAgents",
)  # fmt: skip
FEEDBACK_FIELDS = ("totalFeedback", "totalHelpful", "totalNotHelpful")
FILE_FIELDS = (
    "kbFileCount", "kbCount", "kbExtractTotalTokens", "kbExtractInputTokens",
    "kbExtractOutputTokens",
)  # fmt: skip
_PLAIN_STRING = re.compile(r"(?!-?[0-9])(?!true$)(?!false$).*", re.DOTALL)


def reference_statements(case: Case, subjects: Subjects) -> list[tuple[tuple[str, ...], str, dict]]:
    """(figure names, SQL, parameters) of the three statements answering `case`."""
    start, end = case.bounds()
    return statements_for(
        scope=case.scope,
        organization_id=subjects.organization_id,
        start=start,
        end=end,
        user_id=subjects.user_id,
        agent_id=subjects.agent_id,
        metadata_key=METADATA_KEY,
        metadata_value=case.query(subjects).metadata_value,
    )


def statements_for(
    *,
    scope: str,
    organization_id: str,
    start: datetime,
    end: datetime,
    user_id: str | None = None,
    agent_id: int | None = None,
    metadata_key: str | None = None,
    metadata_value: str | None = None,
) -> list[tuple[tuple[str, ...], str, dict]]:
    if scope.startswith("metadata") and not _PLAIN_STRING.fullmatch(metadata_value or ""):
        raise ValueError(f"the reference matches plain strings only, not {metadata_value!r}")
    params = {
        "organization": organization_id,
        "start": start,
        "end": end,
        "user": user_id,
        "agent": agent_id,
        "key": metadata_key,
        "value": metadata_value,
    }
    narrowing = _SCOPES[scope]
    return [
        (MESSAGE_FIELDS, _MESSAGES + narrowing, params),
        (FEEDBACK_FIELDS, _FEEDBACK + narrowing, params),
        (FILE_FIELDS, _FILES, params),  # organization-wide: never narrowed
    ]


def run_statements(cursor, statements) -> dict[str, int]:
    """The sixteen figures from the statements, by name."""
    figures = {}
    for names, statement, params in statements:
        cursor.execute(statement, params)
        figures.update(zip(names, (int(value) for value in cursor.fetchone()), strict=True))
    return figures
