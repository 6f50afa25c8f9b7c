"""Time the admin's message changelist on PostgreSQL with a million messages.

Not a test (pytest does not collect it): a measurement to rerun when the admin or the
message indexes change. It seeds its own database, never the test suite's:

    createdb -h 127.0.0.1 -U postgres asteragents_admin_bench
    export DJANGO_SETTINGS_MODULE=tests.settings DATABASE_STATEMENT_TIMEOUT_MS=600000 \\
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/asteragents_admin_bench
    .venv/bin/python manage.py migrate -v0
    .venv/bin/python tests/admin/bench_message_changelist.py --seed 1000000

Each line is the median of five requests (after one warm-up) with its query count.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.contrib import admin  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.paginator import Paginator  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from conversations.models import Message  # noqa: E402

CHANGELIST = "/admin/conversations/message/"

# Row n of each table belongs to organization ((n - 1) % orgs) + 1, so every copied
# organization, owner and agent column agrees with its conversation's. Every statement is
# run with the SIZES parameters, so SQL's modulo operator is written %%.
SIZES = {"orgs": 20, "users": 2_000, "agents": 40, "conversations": 100_000}
SEED_SQL = [
    "TRUNCATE asteragents_organization, asteragents_user CASCADE",
    """INSERT INTO asteragents_organization (id, name, slug, created_at, extra)
        SELECT 'org_' || g, 'Organization ' || g, 'org-' || g, now(), '{}'
        FROM generate_series(1, %(orgs)s) g""",
    """INSERT INTO asteragents_user (id, email, first_name, last_name, created_at, extra)
        SELECT 'user_' || g, 'user' || g || '@example.com', 'User', g::text, now(), '{}'
        FROM generate_series(1, %(users)s) g""",
    """INSERT INTO asteragents_membership
            (organization_id, user_id, role, public_metadata, extra)
        SELECT 'org_' || ((g - 1) %% %(orgs)s + 1), 'user_' || g, 'org:member',
               jsonb_build_object('plan', CASE WHEN g %% 3 = 0 THEN 'beta' ELSE 'pro' END),
               '{}'
        FROM generate_series(1, %(users)s) g""",
    """INSERT INTO conversations_agent (id, organization_id, name, extra)
        SELECT g, 'org_' || ((g - 1) %% %(orgs)s + 1), 'Agent ' || g, '{}'
        FROM generate_series(1, %(agents)s) g""",
    """INSERT INTO conversations_conversation
            (id, organization_id, user_id, agent_id, created_at, title, extra)
        SELECT 'conv_' || g, 'org_' || ((g - 1) %% %(orgs)s + 1),
               'user_' || (((g - 1) %% %(orgs)s + 1)
                           + %(orgs)s * (g %% (%(users)s / %(orgs)s))),
               ((g - 1) %% %(orgs)s + 1) + %(orgs)s * (g %% 2),
               timestamptz '2024-01-01' + g * interval '5 minutes', 'Conversation ' || g, '{}'
        FROM generate_series(1, %(conversations)s) g""",
    # The n-th message belongs to conversation ((n - 1) % conversations) + 1.
    """INSERT INTO conversations_message
            (id, organization_id, conversation_id, owner_id, agent_id, role, created_at,
             content, tool_invocations, parts, usage, extra,
             tool_call_count, input_tokens, output_tokens, total_tokens)
        SELECT 'msg_' || lpad(m.n::text, 8, '0'), c.organization_id, c.id, c.user_id,
               c.agent_id, CASE WHEN m.n %% 2 = 0 THEN 'assistant' ELSE 'user' END,
               c.created_at + (m.n / %(conversations)s) * interval '1 minute',
               to_jsonb('Message number ' || m.n), NULL, NULL,
               jsonb_build_object(
                   'inputTokens', 500 + m.n %% 700, 'outputTokens', 50 + m.n %% 90),
               '{}', m.n %% 3, 500 + m.n %% 700, 50 + m.n %% 90,
               550 + m.n %% 700 + m.n %% 90
        FROM generate_series(1, %(messages)s) AS m(n)
        JOIN conversations_conversation c
          ON c.id = 'conv_' || ((m.n - 1) %% %(conversations)s + 1)""",
    # Feedback on every tenth message.
    """INSERT INTO conversations_feedback
            (id, organization_id, message_id, user_id, owner_id, agent_id, helpful,
             created_at, comment, extra)
        SELECT 'fb_' || m.id, m.organization_id, m.id, m.owner_id, m.owner_id, m.agent_id,
               m.total_tokens %% 2 = 0, m.created_at + interval '1 minute', '', '{}'
        FROM conversations_message m WHERE m.id LIKE '%%0'""",
    # As autovacuum would leave it: statistics and the visibility map (index-only scans).
    "VACUUM ANALYZE",
]


def seed(rows: int) -> None:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in SEED_SQL:
            cursor.execute(statement, {**SIZES, "messages": rows})
    print(f"seeded {rows:,} messages in {time.perf_counter() - started:.1f}s")


def measure(client: Client, label: str, path: str, params: dict | None = None) -> None:
    client.get(path, params or {})  # warm caches and the connection
    timings, queries = [], 0
    for _ in range(5):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, params or {})
            timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
        slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
    print(
        f"{label:<58} {statistics.median(timings) * 1000:7.0f} ms  {queries:2d} queries"
        f"  (slowest query {float(slowest['time']) * 1000:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, metavar="ROWS", help="first insert ROWS messages")
    parser.add_argument(
        "--created-at-index",
        action="store_true",
        help="measure with a (created_at, id) index on messages (created, then dropped)",
    )
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "run against PostgreSQL"
    if args.seed:
        seed(args.seed)
    setup_test_environment()
    staff, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(staff)
    total = Message.objects.count()
    print(f"{total:,} messages; median of 5 requests each")

    if args.created_at_index:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE INDEX bench_msg_created ON conversations_message (created_at, id)"
            )
    try:
        measure_all(client)
    finally:
        if args.created_at_index:
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX bench_msg_created")


def measure_all(client: Client) -> None:
    message_admin = admin.site._registry[Message]
    measure(client, "unfiltered, estimated count (as shipped)", CHANGELIST)
    measure(client, "unfiltered, page 100", CHANGELIST, {"p": 100})
    measure(
        client, "one organization (~50k messages)", CHANGELIST, {"organization__id__exact": "org_3"}
    )
    measure(client, "one conversation", CHANGELIST, {"conversation__exact": "conv_42"})
    measure(client, "search by exact message id", CHANGELIST, {"q": "msg_00424242"})
    measure(
        client,
        "created_at: a 7-day range (list filter)",
        CHANGELIST,
        {
            "created_at__gte": "2024-06-01 00:00:00+00:00",
            "created_at__lt": "2024-06-08 00:00:00+00:00",
        },
    )
    measure(
        client,
        "role=assistant (exact count of half the table)",
        CHANGELIST,
        {"role__exact": "assistant"},
    )
    measure(
        client,
        "conversation page with its 10 messages inline",
        "/admin/conversations/conversation/conv_42/change/",
    )

    message_admin.paginator = Paginator
    measure(client, "unfiltered, exact COUNT(*) (Django's default paginator)", CHANGELIST)
    message_admin.paginator = type(message_admin).paginator
    message_admin.date_hierarchy = "created_at"
    measure(client, "unfiltered, with date_hierarchy=created_at", CHANGELIST)
    measure(
        client,
        "date_hierarchy, one month drilled in",
        CHANGELIST,
        {"created_at__year": 2024, "created_at__month": 6},
    )
    message_admin.date_hierarchy = None


if __name__ == "__main__":
    main()
