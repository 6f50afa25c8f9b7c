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
# Now and then much further: conversations running for weeks (span classes up to 4**5
# hours), ranges over months, and conversations that span a whole range.
FAR = timedelta(days=120)
US = timedelta(microseconds=1)

# Instants near the boundaries the fast path splits at, and anywhere in between.
offsets = st.one_of(
    st.integers(0, int(HORIZON / US)).map(lambda n: timedelta(microseconds=n)),
    st.tuples(st.integers(0, 96), st.sampled_from([-1, 0, 1])).map(
        lambda hour_us: timedelta(hours=hour_us[0], microseconds=hour_us[1])
    ),
    st.tuples(st.integers(-FAR.days, FAR.days), st.sampled_from([-1, 0, 1])).map(
        lambda day_us: timedelta(days=day_us[0], microseconds=day_us[1])
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


filters = st.one_of(
    # Organization-wide (the organization cells and participant activity) as often as not.
    st.just((None, None, (None, None))),
    st.tuples(
        st.one_of(st.none(), st.sampled_from(USERS)),
        st.one_of(st.none(), st.sampled_from(AGENTS)),
        st.sampled_from([(None, None), ("team", "red"), (None, "1"), ("n", None)]),
    ),
)
queries = st.builds(
    lambda org, start, end, narrowed: StatsQuery(
        organization_id=org,
        start=min(start, end),
        end=max(start, end),
        user_id=narrowed[0],
        agent_id=narrowed[1],
        metadata_key=narrowed[2][0],
        metadata_value=narrowed[2][1],
    ),
    st.sampled_from(["org_a", "org_b"]),
    instants,
    instants,
    filters,
)


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
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


def org_wide(start, end):
    return StatsQuery(organization_id="org_a", start=start, end=end)


@pytest.mark.django_db
def test_a_conversation_start_that_moves_between_clean_hours():
    """An out-of-order import moves a conversation's first message to another hour and back.

    Only the imported message's hour is dirty; the hour the start leaves (or returns to) is
    clean, and its cell must still lose (or regain) the start.
    """
    day = timedelta(days=1)
    build([("org_a", "ann", 1)], [(0, T0 - 10 * day, 0, 0, None), (0, T0, 0, 0, None)])
    rebuild_all()
    around_old_start = org_wide(T0 - 11 * day, T0 - 9 * day)
    everything = org_wide(T0 - 30 * day, T0 + day)
    changes = RollupChanges()
    earlier = Message.objects.create(
        id="m_early",
        organization_id="org_a",
        conversation_id="c0",
        owner_id="ann",
        agent_id=1,
        role="user",
        created_at=T0 - 20 * day,
    )
    changes.touch("org_a", earlier.created_at)
    changes.apply()
    for query in (around_old_start, everything, org_wide(T0 - 20 * day, T0 - 20 * day)):
        assert stats_compute(query=query)["conversationCount"] == 1
        assert stats_compute(query=query) == stats_compute_raw(query=query)
    assert stats_compute(query=org_wide(T0 - 19 * day, T0 - 11 * day))["conversationCount"] == 0
    changes.touch("org_a", earlier.created_at)
    earlier.delete()
    changes.apply()
    for query in (around_old_start, everything):
        assert stats_compute(query=query)["conversationCount"] == 1
        assert stats_compute(query=query) == stats_compute_raw(query=query)
    assert stats_compute(query=org_wide(T0 - 30 * day, T0 - 11 * day))["conversationCount"] == 0


@pytest.mark.django_db
def test_a_conversation_running_for_years():
    """A span class far above the others: found at any `from`, counted only with a message."""
    year = timedelta(days=365)
    build(
        [("org_a", "ann", 1), ("org_a", "bob", 2)],
        [(0, T0 - 3 * year, 0, 0, None), (0, T0, 0, 0, None), (1, T0 - year, 0, 0, None)],
    )
    rebuild_all()
    spanning = org_wide(T0 - 2 * year, T0 - timedelta(days=1))  # bob's message only
    assert stats_compute(query=spanning) == stats_compute_raw(query=spanning)
    assert (
        stats_compute(query=spanning)["conversationCount"],
        stats_compute(query=spanning)["uniqueUsers"],
    ) == (1, 1)
    quiet = org_wide(T0 - year + timedelta(days=1), T0 - timedelta(days=1))  # no message
    assert stats_compute(query=quiet)["conversationCount"] == 0
    late = org_wide(T0 - 2 * year, T0)
    assert stats_compute(query=late) == stats_compute_raw(query=late)
    assert (
        stats_compute(query=late)["conversationCount"],
        stats_compute(query=late)["uniqueUsers"],
    ) == (2, 2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)),
        (datetime.min.replace(tzinfo=UTC), T0),
        (T0 + US, datetime.max.replace(tzinfo=UTC)),
    ],
)
def test_ranges_at_the_ends_of_time(start, end):
    """Span-class windows reaching before the first representable instant stay unbounded."""
    build(
        [("org_a", "ann", 1), ("org_a", "bob", 2)],
        [(0, T0 - timedelta(days=900), 0, 5, None), (0, T0 + HORIZON, 1, 7, (T0, True))]
        + [(1, T0, 0, 1, None)],
    )
    rebuild_all()
    for query in (
        org_wide(start, end),
        StatsQuery(organization_id="org_a", start=start, end=end, user_id="ann"),
    ):
        assert stats_compute(query=query) == stats_compute_raw(query=query)
    everything = stats_compute(query=org_wide(start, end))
    expected = {
        (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)): (2, 3, 2),
        (datetime.min.replace(tzinfo=UTC), T0): (2, 2, 2),
        (T0 + US, datetime.max.replace(tzinfo=UTC)): (1, 1, 1),
    }[(start, end)]
    assert (
        everything["conversationCount"],
        everything["messageCount"],
        everything["uniqueUsers"],
    ) == expected
