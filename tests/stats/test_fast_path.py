"""The pre-aggregated path equals the raw definition, whatever the data and the range."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asteragents.models import Membership, Organization, User
from conversations.models import Agent, Conversation, Feedback, Message
from stats.ranges import RangePlan
from stats.rollups import RollupChanges, rebuild_all
from stats.selectors import StatsQuery, stats_compute, stats_compute_raw

T0 = datetime(2024, 3, 30, 22, 0, tzinfo=UTC)  # ranges cross days, a month and hours
HORIZON = timedelta(days=4)
US = timedelta(microseconds=1)

# Instants near the boundaries the fast path splits at, and anywhere in between.
offsets = st.one_of(
    st.integers(0, int(HORIZON / US)).map(lambda n: timedelta(microseconds=n)),
    st.tuples(st.integers(0, 96), st.sampled_from([-1, 0, 1])).map(
        lambda hour_us: timedelta(hours=hour_us[0], microseconds=hour_us[1])
    ),
)
instants = offsets.map(lambda offset: T0 + offset)


@given(start=instants, end=instants, probes=st.lists(instants, max_size=20))
def test_range_plan_covers_each_instant_exactly_once(start, end, probes):
    start, end = min(start, end), max(start, end)
    plan = RangePlan.of(start, end)
    half_open = ([plan.days] if plan.days else []) + list(plan.hours)
    for first, _ in half_open:
        assert first.minute == first.second == first.microsecond == 0
    for moment in [*probes, start, end, start - US, end + US]:
        covering = sum(1 for a, b in half_open if a <= moment < b)
        covering += sum(1 for a, b in plan.raw if a <= moment <= b)
        assert covering == (1 if start <= moment <= end else 0)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)),
        (datetime.max.replace(tzinfo=UTC) - US, datetime.max.replace(tzinfo=UTC)),
        (datetime(9999, 12, 31, 22, 30, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)),
    ],
)
def test_range_plan_at_the_ends_of_time(start, end):
    plan = RangePlan.of(start, end)
    half_open = ([plan.days] if plan.days else []) + list(plan.hours)
    for moment in (start, end):
        covering = sum(1 for a, b in half_open if a <= moment < b)
        covering += sum(1 for a, b in plan.raw if a <= moment <= b)
        assert covering == 1


USERS = ["ann", "bob", "cat"]
AGENTS = [1, 2, 3]
METADATA = {"ann": {"team": "red", "n": 1}, "bob": {"team": ["red", "blue"]}, "cat": {"n": 1.0}}

conversation_specs = st.tuples(
    st.sampled_from(["org_a", "org_b"]), st.sampled_from(USERS), st.sampled_from(AGENTS)
)
message_specs = st.tuples(
    st.integers(0, 7),  # conversation index
    instants,
    st.integers(0, 3),  # tool calls
    st.integers(0, 50),  # input tokens
    st.one_of(st.none(), st.tuples(instants, st.booleans())),  # feedback
)


def build(conversations, messages):
    for org in ("org_a", "org_b"):
        Organization.objects.create(id=org)
    for user in USERS:
        User.objects.create(id=user)
        for org in ("org_a", "org_b"):
            Membership.objects.create(
                organization_id=org, user_id=user, public_metadata=METADATA[user]
            )
    for agent in AGENTS:
        Agent.objects.create(id=agent, organization_id="org_a")
    for index, (org, user, agent) in enumerate(conversations):
        Conversation.objects.create(
            id=f"c{index}", organization_id=org, user_id=user, agent_id=agent, created_at=T0
        )
    written = []
    for index, (conv_index, at, tools, tokens, feedback) in enumerate(messages):
        conv_index %= len(conversations)
        org, user, agent = conversations[conv_index]
        message = Message.objects.create(
            id=f"m{index}",
            organization_id=org,
            conversation_id=f"c{conv_index}",
            owner_id=user,
            agent_id=agent,
            role="assistant",
            created_at=at,
            tool_call_count=tools,
            input_tokens=tokens,
            output_tokens=1,
            total_tokens=tokens + 1,
        )
        written.append(message)
        if feedback is not None:
            Feedback.objects.create(
                id=f"f{index}",
                organization_id=org,
                message=message,
                user_id=user,
                owner_id=user,
                agent_id=agent,
                helpful=feedback[1],
                created_at=feedback[0],
            )
    return written


queries = st.builds(
    lambda org, start, end, user, agent, metadata: StatsQuery(
        organization_id=org,
        start=min(start, end),
        end=max(start, end),
        user_id=user,
        agent_id=agent,
        metadata_key=metadata[0],
        metadata_value=metadata[1],
    ),
    st.sampled_from(["org_a", "org_b"]),
    instants,
    instants,
    st.one_of(st.none(), st.sampled_from(USERS)),
    st.one_of(st.none(), st.sampled_from(AGENTS)),
    st.sampled_from([(None, None), ("team", "red"), (None, "1"), ("n", None)]),
)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    conversations=st.lists(conversation_specs, min_size=1, max_size=8),
    messages=st.lists(message_specs, max_size=25),
    moves=st.lists(st.tuples(st.integers(0, 24), st.integers(0, 7), instants), max_size=4),
    asked=st.lists(queries, min_size=1, max_size=6),
)
def test_fast_path_equals_raw(conversations, messages, moves, asked):
    # Each example in a savepoint of its own, rolled back: examples share the test's DB.
    with transaction.atomic():
        check_fast_path(conversations, messages, moves, asked)
        transaction.set_rollback(True)


def check_fast_path(conversations, messages, moves, asked):
    written = build(conversations, messages)
    rebuild_all()
    # Later changes, maintained incrementally the way an import does: the hours of each
    # changed row before and after the change are refreshed.
    changes = RollupChanges()
    for message_index, conv_index, at in moves:
        if not written:
            break
        message = written[message_index % len(written)]
        target_index = conv_index % len(conversations)
        org, owner, agent = conversations[target_index]
        if org != message.organization_id:
            continue  # a message never moves across organizations (the importer refuses)
        moved_feedback = Feedback.objects.filter(message_id=message.pk)
        for moment in [
            message.created_at,
            at,
            *moved_feedback.values_list("created_at", flat=True),
        ]:
            changes.touch(org, moment)
        Message.objects.filter(pk=message.pk).update(
            conversation_id=f"c{target_index}", owner_id=owner, agent_id=agent, created_at=at
        )
        moved_feedback.update(owner_id=owner, agent_id=agent)
    changes.apply()
    for query in asked:
        assert stats_compute(query=query) == stats_compute_raw(query=query), query
