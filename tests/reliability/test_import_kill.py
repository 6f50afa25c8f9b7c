"""`import_activity` killed with SIGKILL while it writes: the database holds what it held.

The importer runs as a real process against a PostgreSQL database this test creates (not
pytest-django's test database, which lives inside a transaction), on the same server as the
test run. Every table is fingerprinted (row count and a checksum of its rows) before the
import and after the kill; the two must be equal.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.core.management import get_commands
from django.db import connection
from psycopg import sql

from tests.reliability.service import PROJECT_DIR, manage, service_environment

pytestmark = pytest.mark.postgres_only

# Enough messages that the import runs for seconds after its first write (about 15k
# records a second here), so the kill lands in the middle of it.
CONVERSATIONS = 6_000
MESSAGES_PER_CONVERSATION = 10
SECONDS_TO_START_WRITING = 60
SECONDS_FOR_THE_BACKEND_TO_GO = 30


def server_url(database: str) -> str:
    """A URL for `database` on the server the test run uses."""
    settings = connection.settings_dict
    credentials = settings["USER"] + (f":{settings['PASSWORD']}" if settings["PASSWORD"] else "")
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{database}"


@pytest.fixture
def scratch_database():
    """A migrated database of this test's own, dropped afterwards whatever happens."""
    if connection.vendor != "postgresql":  # before the costly set-up, not after it
        pytest.skip("needs PostgreSQL")
    if "import_activity" not in get_commands():
        pytest.skip("conversations has no import_activity command yet")
    name = f"asteragents_reliability_kill_{os.getpid()}"
    with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = server_url(name)
        manage("migrate", "--no-input", environment=service_environment(url))
        yield url
    finally:
        with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def write_ndjson(path: Path, records) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")
    return path


def baseline_records():
    """What the database holds before: one small organization."""
    yield {"type": "organization", "id": "org_before", "name": "Before"}
    yield {"type": "user", "id": "user_before"}
    yield {
        "type": "membership",
        "organizationId": "org_before",
        "userId": "user_before",
        "publicMetadata": {"team": "red"},
    }
    yield {"type": "agent", "id": 1, "organizationId": "org_before", "name": "Old name"}
    yield {
        "type": "conversation",
        "id": "conv-before",
        "organizationId": "org_before",
        "userId": "user_before",
        "agentId": 1,
        "createdAt": "2024-02-01T00:00:00Z",
        "title": "Old title",
    }
    yield {
        "type": "message",
        "id": "msg-before",
        "conversationId": "conv-before",
        "role": "assistant",
        "createdAt": "2024-02-01T00:00:01Z",
        "usage": {"inputTokens": 3, "outputTokens": 4},
    }


def large_records():
    """Changes to the baseline's rows first, then a large organization's activity."""
    yield {"type": "agent", "id": 1, "organizationId": "org_before", "name": "New name"}
    yield {
        "type": "membership",
        "organizationId": "org_before",
        "userId": "user_before",
        "publicMetadata": {"team": "blue"},
    }
    yield {"type": "organization", "id": "org_big", "name": "Big"}
    for user in range(20):
        yield {"type": "user", "id": f"user_big_{user}"}
        yield {"type": "membership", "organizationId": "org_big", "userId": f"user_big_{user}"}
    for agent in range(5):
        yield {"type": "agent", "id": 5000 + agent, "organizationId": "org_big"}
    for number in range(CONVERSATIONS):
        yield {
            "type": "conversation",
            "id": f"conv-{number}",
            "organizationId": "org_big",
            "userId": f"user_big_{number % 20}",
            "agentId": 5000 + number % 5,
            "createdAt": "2024-03-01T00:00:00Z",
        }
        for index in range(MESSAGES_PER_CONVERSATION):
            yield {
                "type": "message",
                "id": f"msg-{number}-{index}",
                "conversationId": f"conv-{number}",
                "role": "assistant",
                "createdAt": f"2024-03-{1 + number % 28:02d}T{index:02d}:00:00Z",
                "usage": {"inputTokens": 10, "outputTokens": 2},
            }


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Every table's row count and a checksum of its rows in a fixed order."""
    with psycopg.connect(url) as reader:
        tables = [
            name
            for (name,) in reader.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {
            table: reader.execute(
                sql.SQL(
                    "SELECT count(*), coalesce(md5(string_agg(row.*::text, E'\\n' "
                    "ORDER BY row.*::text)), '') FROM {} AS row"
                ).format(sql.Identifier(table))
            ).fetchone()
            for table in tables
        }


def importer_backend(url: str, database: str) -> int | None:
    """The pid of the server process of an import that holds a write lock on messages."""
    with psycopg.connect(url, autocommit=True) as watcher:
        row = watcher.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE a.datname = %s AND l.relation = 'conversations_message'::regclass "
            "AND l.mode = 'RowExclusiveLock' AND l.granted",
            [database],
        ).fetchone()
    return row[0] if row else None


def wait_until_gone(url: str, backend: int) -> None:
    deadline = time.monotonic() + SECONDS_FOR_THE_BACKEND_TO_GO
    with psycopg.connect(url, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            if not watcher.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [backend]
            ).fetchone():
                return
            time.sleep(0.05)
    raise AssertionError(f"the killed import's server process {backend} is still there")


def test_sigkill_midway_leaves_the_database_as_it_was(scratch_database, tmp_path):
    url = scratch_database
    database = url.rsplit("/", 1)[1]
    environment = service_environment(url)
    manage(
        "import_activity",
        str(write_ndjson(tmp_path / "before.ndjson", baseline_records())),
        environment=environment,
    )
    before = fingerprint(url)
    assert before["conversations_message"][0] == 1

    large = write_ndjson(tmp_path / "large.ndjson", large_records())
    importer = subprocess.Popen(
        [sys.executable, "manage.py", "import_activity", str(large)],
        cwd=PROJECT_DIR,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    started = time.monotonic()
    try:
        deadline = started + SECONDS_TO_START_WRITING
        backend = None
        while backend is None and importer.poll() is None and time.monotonic() < deadline:
            backend = importer_backend(url, database)
            time.sleep(0.02)
        if backend is None:
            output = importer.stdout.read() if importer.poll() is not None else ""
            pytest.fail(
                f"the import never started writing messages: exit {importer.poll()} {output}"
            )
        time.sleep(0.3)  # well inside the writing, not at its first statement
        assert importer.poll() is None, "the import finished before it could be killed"
        importer.send_signal(signal.SIGKILL)
        assert importer.wait(timeout=10) == -signal.SIGKILL
        print(f"import killed {time.monotonic() - started:.2f} s after it started")
    finally:
        if importer.poll() is None:
            importer.kill()
            importer.wait(timeout=10)
        importer.stdout.close()

    wait_until_gone(url, backend)
    assert fingerprint(url) == before

    # The same file imports cleanly afterwards: nothing was left locked or half-written.
    manage("import_activity", str(large), environment=environment, timeout=300)
    after = fingerprint(url)
    assert after["conversations_message"][0] == 1 + CONVERSATIONS * MESSAGES_PER_CONVERSATION
