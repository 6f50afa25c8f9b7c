"""The bench dataset: COPY writes what the importer would, and the reference agrees.

Every check reads the loaded rows with its own SQL (joins to the conversation, the JSON
usage read back), never through the generator's bookkeeping.
"""

import importlib.util
import io
from datetime import timedelta

import pytest
from django.core.management import call_command, get_commands
from django.db import connection

from bench.cases import Case, Subjects
from bench.dataset import END, START, plan_world
from bench.load import load_world
from bench.ndjson import write_activity_file
from bench.reference import reference_statements, run_statements
from bench.run import subjects_of
from stats.selectors import stats_compute


def on_postgres(test):
    """COPY and the reference SQL are PostgreSQL's; the pure checks run everywhere."""
    return pytest.mark.postgres_only(pytest.mark.django_db(test))


MESSAGES = 2_000
SEED = 7


def load(world) -> None:
    with connection.cursor() as cursor:
        load_world(cursor.cursor, world)


def scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


@pytest.fixture
def world():
    built = plan_world(messages=MESSAGES, seed=SEED)
    load(built)
    return built


@on_postgres
def test_the_loaded_rows_have_the_asked_size_and_shape(world):
    assert scalar("SELECT count(*) FROM conversations_message") == MESSAGES
    largest = scalar(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM conversations_message "
        "GROUP BY organization_id) per_org"
    )
    assert abs(largest - MESSAGES / 2) <= MESSAGES * 0.01
    assert scalar("SELECT count(*) FROM asteragents_organization") == 8
    sizes = scalar(
        "SELECT array[min(n), max(n)] FROM (SELECT count(*) AS n FROM conversations_message "
        "GROUP BY conversation_id) per_conversation"
    )
    assert 2 <= sizes[0] and sizes[1] <= 60
    # User and assistant alternate, the user first.
    assert (
        scalar(
            "SELECT count(*) FROM (SELECT role, row_number() OVER (PARTITION BY conversation_id "
            "ORDER BY created_at, id) AS position FROM conversations_message) numbered "
            "WHERE role <> CASE WHEN position % 2 = 1 THEN 'user' ELSE 'assistant' END"
        )
        == 0
    )
    first, last = scalar(
        "SELECT array[min(created_at), max(created_at)] FROM conversations_message"
    )
    assert START <= first and last < END
    feedback_share = scalar("SELECT count(*) FROM conversations_feedback") / MESSAGES
    assert 0.02 < feedback_share < 0.08
    assert (
        scalar(
            "SELECT max(jsonb_array_length(public_metadata -> 'tags')) FROM asteragents_membership"
        )
        > 0
    )


@on_postgres
def test_messages_and_feedback_copy_their_conversation(world):
    assert (
        scalar(
            "SELECT count(*) FROM conversations_message m JOIN conversations_conversation c "
            "ON c.id = m.conversation_id WHERE (m.organization_id, m.owner_id, m.agent_id) "
            "IS DISTINCT FROM (c.organization_id, c.user_id, c.agent_id)"
        )
        == 0
    )
    assert (
        scalar(
            "SELECT count(*) FROM conversations_feedback f "
            "JOIN conversations_message m ON m.id = f.message_id "
            "JOIN conversations_conversation c ON c.id = m.conversation_id "
            "WHERE (f.organization_id, f.owner_id, f.agent_id) "
            "IS DISTINCT FROM (c.organization_id, c.user_id, c.agent_id) "
            "OR f.created_at < m.created_at"
        )
        == 0
    )
    # The conversation starts with its first message.
    assert (
        scalar(
            "SELECT count(*) FROM conversations_conversation c WHERE c.created_at <> "
            "(SELECT min(created_at) FROM conversations_message m WHERE m.conversation_id = c.id)"
        )
        == 0
    )
    assert (
        scalar(
            "SELECT count(*) FROM kb_knowledgebasefile f JOIN kb_knowledgebase b "
            "ON b.id = f.knowledge_base_id WHERE f.organization_id <> b.organization_id"
        )
        == 0
    )


@on_postgres
def test_integer_columns_hold_what_the_json_says(world):
    # STATS.md: the newer name wins, totalTokens defaults to input + output, no array is 0.
    assert (
        scalar(
            """
        SELECT count(*) FROM (
          SELECT m.*,
            coalesce((usage ->> 'inputTokens')::bigint, (usage ->> 'promptTokens')::bigint, 0)
              AS json_input,
            coalesce((usage ->> 'outputTokens')::bigint, (usage ->> 'completionTokens')::bigint, 0)
              AS json_output
          FROM conversations_message m) read_back
        WHERE input_tokens <> json_input OR output_tokens <> json_output
           OR total_tokens <> coalesce((usage ->> 'totalTokens')::bigint, json_input + json_output)
           OR tool_call_count <> CASE WHEN jsonb_typeof(tool_invocations) = 'array'
                                      THEN jsonb_array_length(tool_invocations) ELSE 0 END
        """
        )
        == 0
    )
    assert (
        scalar(
            "SELECT count(*) FROM kb_knowledgebasefile WHERE extract_input_tokens <> "
            "coalesce((extraction ->> 'inputTokens')::bigint, 0) OR extract_total_tokens <> "
            "coalesce((extraction ->> 'totalTokens')::bigint, extract_input_tokens + "
            "extract_output_tokens)"
        )
        == 0
    )
    # The shapes the counting rules care about are all there.
    assert scalar("SELECT count(*) FROM conversations_message WHERE usage ? 'promptTokens'") > 0
    assert (
        scalar(
            "SELECT count(*) FROM conversations_message "
            "WHERE role = 'assistant' AND NOT usage ? 'totalTokens'"
        )
        > 0
    )
    assert scalar("SELECT count(*) FROM conversations_message WHERE tool_call_count > 1") > 0


def test_the_same_seed_gives_the_same_dataset(tmp_path):
    first, second = tmp_path / "first.ndjson", tmp_path / "second.ndjson"
    write_activity_file(plan_world(messages=MESSAGES, seed=SEED), first)
    write_activity_file(plan_world(messages=MESSAGES, seed=SEED), second)
    assert first.read_bytes() == second.read_bytes()
    other = tmp_path / "other.ndjson"
    write_activity_file(plan_world(messages=MESSAGES, seed=SEED + 1), other)
    assert other.read_bytes() != first.read_bytes()


def _rebuild_rollups_if_any(organization_id: str) -> None:
    """As the bench does: a COPY bypasses the rollups the selector may read."""
    if importlib.util.find_spec("stats.rollups") is not None:
        from stats import rollups

        if hasattr(rollups, "rebuild_all"):
            rollups.rebuild_all(organization_id=organization_id)


CHECKED_CASES = (
    Case("org-wide all time", None, "org"),
    Case("single user 1 year", 365, "user"),
    Case("agent 30 days", 30, "agent"),
    Case("metadata key+value 1 year", 365, "metadata"),
    Case("metadata value 1 year", 365, "metadata-value"),
)


@on_postgres
def test_the_reference_sql_equals_the_selector(world):
    subjects = subjects_of(world)
    # Every case asks about the largest organization: only its rollups are needed.
    _rebuild_rollups_if_any(subjects.organization_id)
    for case in CHECKED_CASES:
        with connection.cursor() as cursor:
            reference = run_statements(cursor, reference_statements(case, subjects))
        assert reference == stats_compute(query=case.query(subjects)), case.name
        assert reference["messageCount"] > 0, case.name  # counting nothing proves nothing


@on_postgres
def test_the_reference_scopes_to_the_organization(world):
    outsider = Subjects(organization_id="org_nobody", admin_id="", user_id="", agent_id=0)
    with connection.cursor() as cursor:
        figures = run_statements(cursor, reference_statements(Case("x", None, "org"), outsider))
    assert set(figures.values()) == {0}


def _snapshot() -> dict[str, list[tuple]]:
    """Every row of the activity tables (not the membership's serial id), in key order."""
    tables = {
        "asteragents_organization": "id, name, slug, created_at, extra",
        "asteragents_user": "id, email, first_name, last_name, created_at, extra",
        "asteragents_membership": "organization_id, user_id, role, public_metadata, extra",
        "conversations_agent": "id, organization_id, name, extra",
        "conversations_conversation": "*",
        "conversations_message": "*",
        "conversations_feedback": "*",
        "kb_knowledgebase": "*",
        "kb_knowledgebasefile": "*",
    }
    rows = {}
    with connection.cursor() as cursor:
        for table, columns in tables.items():
            cursor.execute(f"SELECT {columns} FROM {table} ORDER BY 1, 2")  # noqa: S608
            rows[table] = cursor.fetchall()
    return rows


@on_postgres
@pytest.mark.skipif("import_activity" not in get_commands(), reason="no importer yet")
def test_copy_writes_exactly_what_the_importer_writes(tmp_path):
    world = plan_world(messages=400, seed=SEED)
    load(world)
    copied = _snapshot()
    with connection.cursor() as cursor:
        # The COPY's deferred foreign-key checks run now: TRUNCATE refuses pending ones.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE asteragents_organization, asteragents_user CASCADE")
    path = tmp_path / "world.ndjson"
    write_activity_file(world, path)
    call_command("import_activity", str(path), stdout=io.StringIO())
    imported = _snapshot()
    for table, rows in copied.items():
        assert imported[table] == rows, table


def test_a_period_ends_on_the_last_microsecond_before_end():
    start, end = Case("x", 30, "org").bounds()
    assert end == END - timedelta(microseconds=1)
    assert start == END - timedelta(days=30)
