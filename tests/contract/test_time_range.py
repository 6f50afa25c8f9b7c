"""The [from, to] range: inclusive at the microsecond, dates, offsets, naive = UTC.

Each message carries a distinct power of two as its inputTokens, so the inputTokens sum
of a response names exactly which messages were counted.
"""

import pytest

from tests.contract.activity import (
    conversation,
    feedback,
    knowledge_base,
    knowledge_base_file,
    message,
    org_with_members,
)
from tests.contract.conftest import ZERO, assert_error, figures

pytestmark = pytest.mark.django_db

ORG, ANN, AGENT, CONV = "org_time", "user_time_ann", 501, "conv-time"

TIMELINE = {
    # label: (createdAt as imported, inputTokens)
    "before_from": ("2024-05-10T09:59:59.999999Z", 1),
    "at_from": ("2024-05-10T10:00:00Z", 2),
    "at_to": ("2024-05-10T12:00:00Z", 4),
    "after_to": ("2024-05-10T12:00:00.000001Z", 8),
    "day_start": ("2024-05-10T00:00:00Z", 16),
    "previous_day_end": ("2024-05-09T23:59:59.999999Z", 32),
    "day_end": ("2024-05-10T23:59:59.999999Z", 64),
    "next_day_start": ("2024-05-11T00:00:00Z", 128),
    "millisecond_end": ("2024-05-10T23:59:59.999Z", 256),
    "after_millisecond_end": ("2024-05-10T23:59:59.999001Z", 512),
    # 12:30Z written with an offset in the data itself.
    "offset_in_data": ("2024-05-10T07:30:00-05:00", 1024),
}


def tokens(*labels: str) -> int:
    return sum(TIMELINE[label][1] for label in labels)


def counted(*labels: str) -> dict:
    """The whole response when exactly these timeline messages are in range."""
    if not labels:
        return dict(ZERO)
    total = tokens(*labels)
    return figures(
        conversationCount=1,
        messageCount=len(labels),
        inputTokens=total,
        totalTokens=total,
        uniqueUsers=1,
        uniqueAgents=1,
    )


@pytest.fixture
def ann(load, bearer):
    records = org_with_members(ORG, {ANN: {"role": "org:admin"}}, agents=[AGENT])
    records.append(conversation(CONV, ORG, ANN, AGENT, "2024-05-01T00:00:00Z"))
    for label, (created_at, input_tokens) in TIMELINE.items():
        usage = {"inputTokens": input_tokens, "outputTokens": 0}
        records.append(message(f"m-{label}", CONV, created_at, usage=usage))
    load(records)
    return bearer(user_id=ANN, org_id=ORG, role="org:admin")


@pytest.mark.parametrize(
    ("from_", "to", "labels"),
    [
        # Both bounds inclusive; 1 µs outside either side is out.
        ("2024-05-10T10:00:00Z", "2024-05-10T12:00:00Z", ("at_from", "at_to")),
        # 1 µs inside either bound drops the message on it.
        ("2024-05-10T10:00:00.000001Z", "2024-05-10T11:59:59.999999Z", ()),
        (
            "2024-05-10T09:59:59.999999Z",
            "2024-05-10T12:00:00.000001Z",
            ("before_from", "at_from", "at_to", "after_to"),
        ),
        # from == to is a one-microsecond range, not an error.
        ("2024-05-10T10:00:00Z", "2024-05-10T10:00:00Z", ("at_from",)),
        ("2024-05-10T10:00:00.000001Z", "2024-05-10T10:00:00.000001Z", ()),
        # `…T23:59:59.999Z` is the instant .999000: .999001 and .999999 are after it.
        # (Read literally, not as "to the end of that millisecond".)
        (
            "2024-05-10T12:00:00.000001Z",
            "2024-05-10T23:59:59.999Z",
            ("after_to", "offset_in_data", "millisecond_end"),
        ),
        # Date alone: from = start of day, to = its last microsecond.
        (
            "2024-05-10",
            "2024-05-10",
            (
                "before_from",
                "at_from",
                "at_to",
                "after_to",
                "day_start",
                "day_end",
                "millisecond_end",
                "after_millisecond_end",
                "offset_in_data",
            ),
        ),
        ("2024-05-09", "2024-05-09", ("previous_day_end",)),
        ("2024-05-11", "2024-05-11", ("next_day_start",)),
        ("2024-05-10T23:59:59.999999Z", "2024-05-11", ("day_end", "next_day_start")),
        ("2024-05-09T23:59:59.999999Z", "2024-05-10T00:00:00Z", ("previous_day_end", "day_start")),
        # Offsets honoured: 12:00+02:00 is 10:00Z and 07:00-05:00 is 12:00Z.
        ("2024-05-10T12:00:00+02:00", "2024-05-10T07:00:00-05:00", ("at_from", "at_to")),
        ("2024-05-10T05:00:00.000001-05:00", "2024-05-10T14:00:00+02:00", ("at_to",)),
        # The data's own offset: 07:30-05:00 is stored as 12:30Z.
        ("2024-05-10T12:30:00Z", "2024-05-10T12:30:00Z", ("offset_in_data",)),
        ("2024-05-10T14:30:00+02:00", "2024-05-10T14:30:00+02:00", ("offset_in_data",)),
        # A datetime without offset is UTC.
        ("2024-05-10T10:00:00", "2024-05-10T12:00:00", ("at_from", "at_to")),
        ("2024-05-10T10:00:00.000001", "2024-05-10T12:00:00", ("at_to",)),
        # A range holding nothing: all sixteen zeros.
        ("2024-06-01", "2024-06-30", ()),
        ("2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", ()),
    ],
)
def test_range(ann, stats, from_, to, labels):
    assert stats(ann, {"from": from_, "to": to}) == counted(*labels)


def test_from_later_than_to_is_400_naming_a_bound(ann, get_stats):
    response = get_stats(ann, {"from": "2024-05-10T12:00:00.000001Z", "to": "2024-05-10T12:00:00Z"})
    assert_error(response, 400, parameter=("from", "to"))


def test_from_later_than_to_through_offsets_is_400(ann, get_stats):
    # 12:00+02:00 (10:00Z) is later than 04:59-05:00 (09:59Z), though it reads earlier.
    response = get_stats(
        ann, {"from": "2024-05-10T12:00:00+02:00", "to": "2024-05-10T04:59:00-05:00"}
    )
    assert_error(response, 400, parameter=("from", "to"))


def test_same_date_from_and_to_after_a_later_date_is_400(ann, get_stats):
    assert_error(
        get_stats(ann, {"from": "2024-05-11", "to": "2024-05-10"}), 400, parameter=("from", "to")
    )


def test_feedback_and_kb_bounds_are_inclusive(load, bearer, stats):
    """Feedback createdAt and KB processedAt obey the same inclusive bounds as messages."""
    org, user_id, agent_id = "org_time_fb", "user_time_fb", 502
    records = org_with_members(org, {user_id: {"role": "org:admin"}}, agents=[agent_id])
    records += [
        conversation("conv-fb", org, user_id, agent_id, "2024-05-01T00:00:00Z"),
        message("m-fb", "conv-fb", "2024-05-01T00:00:00Z"),
        feedback(
            "f-before", "m-fb", user_id, helpful=True, created_at="2024-05-10T09:59:59.999999Z"
        ),
        feedback("f-at-from", "m-fb", user_id, helpful=True, created_at="2024-05-10T10:00:00Z"),
        feedback("f-at-to", "m-fb", user_id, helpful=False, created_at="2024-05-10T12:00:00Z"),
        feedback(
            "f-after", "m-fb", user_id, helpful=False, created_at="2024-05-10T12:00:00.000001Z"
        ),
        knowledge_base("kb-time", org),
        knowledge_base_file(
            "kbf-before",
            "kb-time",
            processed_at="2024-05-10T09:59:59.999999Z",
            extraction={"inputTokens": 1, "outputTokens": 0},
        ),
        knowledge_base_file(
            "kbf-at-from",
            "kb-time",
            processed_at="2024-05-10T10:00:00Z",
            extraction={"inputTokens": 2, "outputTokens": 0},
        ),
        knowledge_base_file(
            "kbf-at-to",
            "kb-time",
            processed_at="2024-05-10T12:00:00Z",
            extraction={"inputTokens": 4, "outputTokens": 0},
        ),
        knowledge_base_file(
            "kbf-after",
            "kb-time",
            processed_at="2024-05-10T12:00:00.000001Z",
            extraction={"inputTokens": 8, "outputTokens": 0},
        ),
    ]
    load(records)
    auth = bearer(user_id=user_id, org_id=org, role="org:admin")
    assert stats(auth, {"from": "2024-05-10T10:00:00Z", "to": "2024-05-10T12:00:00Z"}) == figures(
        totalFeedback=2,
        totalHelpful=1,
        totalNotHelpful=1,
        kbFileCount=2,
        kbCount=1,
        kbExtractInputTokens=6,
        kbExtractTotalTokens=6,
    )
