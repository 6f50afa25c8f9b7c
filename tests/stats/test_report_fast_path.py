"""Series and breakdowns from the pre-aggregates equal the raw definition, in any zone.

Random data around the Europe/Berlin daylight-saving change of 2024-03-31, random ranges
with edges at and a microsecond off the hour, random zones (whole, half and quarter hour
offsets), intervals and groupings. Besides fast == raw, the answer must add up: the series'
buckets sum to the totals, and a breakdown's rows plus others sum to them.
"""

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stats.report import ReportOptions, build_report
from stats.rollups import rebuild_all
from stats.selectors import StatsQuery, stats_compute_raw
from tests.stats.test_fast_path import T0, build, conversation_specs, instants, message_specs

ZONES = ["UTC", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham"]
ADDITIVE = [
    "messageCount", "toolCalls", "totalTokens", "inputTokens", "outputTokens",
    "totalFeedback", "totalHelpful", "totalNotHelpful", "kbFileCount",
    "kbExtractTotalTokens", "kbExtractInputTokens", "kbExtractOutputTokens",
]  # fmt: skip
# Adds up over any grouping: a conversation has one owner and one agent.
BREAKDOWN_ADDITIVE = [*ADDITIVE[:8], "conversationCount"]

options = st.builds(
    lambda zone, interval, grouping, limit, compare: ReportOptions(
        zone=ZoneInfo(zone),
        interval=interval,
        group_by=grouping[0],
        group_key=grouping[1],
        limit=limit,
        compare_previous=compare,
    ),
    st.sampled_from(ZONES),
    st.sampled_from(["hour", "day", "week", "month"]),
    st.sampled_from(
        [(None, None), ("agent", None), ("user", None), ("metadata", "team"), ("metadata", "n")]
    ),
    st.sampled_from([1, 2, 10]),
    st.booleans(),
)
queries = st.builds(
    lambda org, start, end, user, agent: StatsQuery(
        organization_id=org, start=min(start, end), end=max(start, end), user_id=user,
        agent_id=agent,
    ),
    st.sampled_from(["org_a", "org_b"]),
    instants,
    instants,
    st.sampled_from([None, None, "ann"]),
    st.sampled_from([None, None, 2]),
)  # fmt: skip


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    conversations=st.lists(conversation_specs, min_size=1, max_size=8),
    messages=st.lists(message_specs, max_size=25),
    asked=st.lists(st.tuples(queries, options), min_size=1, max_size=4),
)
def test_report_fast_path_equals_raw(conversations, messages, asked):
    with transaction.atomic():
        build(conversations, messages)
        rebuild_all()
        for query, chosen in asked:
            if chosen.interval == "hour" and query.end - query.start > timedelta(days=40):
                chosen = replace(chosen, interval="day")  # at most 1,000 buckets
            fast = build_report(query=query, options=chosen).figures
            raw = build_report(query=query, options=chosen, fast=False).figures
            assert fast == raw, (query, chosen)
            check_adds_up(fast)
            check_buckets_against_the_definition(query, fast["series"])
        transaction.set_rollback(True)


def check_buckets_against_the_definition(query: StatsQuery, series: list[dict]):
    """Each bucket holds what the plain definition counts over the part of the range in it.

    Independent of the bucketing SQL: the bounds come from the bucket's own start and end.
    """
    for bucket in series[:12] + series[-3:]:
        start = datetime.fromisoformat(bucket["start"])
        end = datetime.fromisoformat(bucket["end"]) - timedelta(microseconds=1)
        part = replace(query, start=max(query.start, start), end=min(query.end, end))
        expected = stats_compute_raw(query=part)
        assert {name: bucket[name] for name in expected} == expected, bucket["start"]


def check_adds_up(answer: dict):
    for name in ADDITIVE:
        assert sum(bucket[name] for bucket in answer["series"]) == answer[name], name
    breakdown = answer.get("breakdown")
    if breakdown:
        for name in BREAKDOWN_ADDITIVE:
            shown = sum(row[name] for row in breakdown["rows"])
            assert shown + breakdown["others"][name] == answer[name], name


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("inside", "expected"),
    [([], [0]), ([T0 + timedelta(hours=10)], [1])],
)
def test_conversation_spanning_the_range_counts_only_where_it_has_a_message(inside, expected):
    """A conversation that begins before `from` and ends after `to`, in the same bucket as
    both, counts in a bucket only if it has a message there."""
    messages = [T0 + timedelta(hours=3), *inside, T0 + timedelta(hours=20)]
    build([("org_a", "ann", 1)], [(0, at, 0, 0, None) for at in messages])
    rebuild_all()
    query = StatsQuery("org_a", T0 + timedelta(hours=4), T0 + timedelta(hours=19))
    chosen = ReportOptions(zone=ZoneInfo("UTC"), interval="day")
    for fast in (True, False):
        series = build_report(query=query, options=chosen, fast=fast).figures["series"]
        assert [bucket["start"] for bucket in series] == ["2024-03-31T00:00:00+00:00"]
        assert [bucket["conversationCount"] for bucket in series] == expected
