"""interval=hour|day|week|month in UTC: bucket counts and bounds, partial first and last
buckets, empty buckets, the 1,000-bucket limit, bad values."""

import pytest

from tests.dashboard.conftest import (
    FIELDS,
    ZERO,
    Probes,
    assert_adds_up,
    assert_error,
    series_shape,
)

pytestmark = pytest.mark.django_db

RANGE = {"from": "2024-05-01T12:00:00Z", "to": "2024-05-03T06:00:00Z", "allInOrg": "true"}

MAY = Probes(
    [
        ("2024-05-01T11:59:59.999999Z", {"hour": None, "day": None, "week": None, "month": None}),
        (
            "2024-05-01T12:00:00Z",
            {
                "hour": "2024-05-01T12:00:00+00:00",
                "day": "2024-05-01T00:00:00+00:00",
                "week": "2024-04-29T00:00:00+00:00",
                "month": "2024-05-01T00:00:00+00:00",
            },
        ),
        (
            "2024-05-01T23:59:59.999999Z",
            {
                "hour": "2024-05-01T23:00:00+00:00",
                "day": "2024-05-01T00:00:00+00:00",
                "week": "2024-04-29T00:00:00+00:00",
                "month": "2024-05-01T00:00:00+00:00",
            },
        ),
        (
            "2024-05-03T00:00:00Z",
            {
                "hour": "2024-05-03T00:00:00+00:00",
                "day": "2024-05-03T00:00:00+00:00",
                "week": "2024-04-29T00:00:00+00:00",
                "month": "2024-05-01T00:00:00+00:00",
            },
        ),
        # `to` is inclusive: the bucket 06:00-07:00 overlaps the range at one microsecond.
        (
            "2024-05-03T06:00:00Z",
            {
                "hour": "2024-05-03T06:00:00+00:00",
                "day": "2024-05-03T00:00:00+00:00",
                "week": "2024-04-29T00:00:00+00:00",
                "month": "2024-05-01T00:00:00+00:00",
            },
        ),
        (
            "2024-05-03T06:00:00.000001Z",
            {"hour": None, "day": None, "week": None, "month": None},
        ),
    ]
)

MAY_HOURS = (
    [f"2024-05-01T{h:02d}:00:00+00:00" for h in range(12, 24)]
    + [f"2024-05-02T{h:02d}:00:00+00:00" for h in range(24)]
    + [f"2024-05-03T{h:02d}:00:00+00:00" for h in range(7)]
)

MAY_CASES = {
    # interval: (bucket starts, end of the last bucket, bucket count written out)
    "hour": (MAY_HOURS, "2024-05-03T07:00:00+00:00", 43),
    "day": (
        ["2024-05-01T00:00:00+00:00", "2024-05-02T00:00:00+00:00", "2024-05-03T00:00:00+00:00"],
        "2024-05-04T00:00:00+00:00",
        3,
    ),
    # 2024-05-01 is a Wednesday: its ISO week starts on Monday 2024-04-29.
    "week": (["2024-04-29T00:00:00+00:00"], "2024-05-06T00:00:00+00:00", 1),
    "month": (["2024-05-01T00:00:00+00:00"], "2024-06-01T00:00:00+00:00", 1),
}


@pytest.fixture
def may(load):
    load(MAY.records())


@pytest.mark.parametrize("interval", list(MAY_CASES))
def test_utc_buckets_partial_ends_and_empty_middle(may, probe_admin, report, interval):
    starts, last_end, count = MAY_CASES[interval]
    body = report(probe_admin, {**RANGE, "interval": interval})
    assert len(body["series"]) == count == len(starts)
    expected = MAY.series(interval, starts, last_end)
    assert body["series"] == expected
    assert {f: body[f] for f in FIELDS} == MAY.total(interval)
    assert_adds_up(body["series"], body)


def test_empty_buckets_are_present_with_zeros(may, probe_admin, report):
    body = report(probe_admin, {**RANGE, "interval": "day"})
    # Nothing on 2024-05-02: the bucket is there, every figure 0.
    assert body["series"][1] == {
        "start": "2024-05-02T00:00:00+00:00",
        "end": "2024-05-03T00:00:00+00:00",
        **ZERO,
    }


def test_partial_first_bucket_counts_only_from_from(may, probe_admin, report):
    """The first day bucket holds 11:59:59.999999Z too, but it is before `from`."""
    body = report(probe_admin, {**RANGE, "interval": "day"})
    first = body["series"][0]
    # Probes 1 (12:00:00Z) and 2 (23:59:59.999999Z): inputTokens 2 + 4, no probe 0 (1).
    assert (first["messageCount"], first["inputTokens"]) == (2, 6)
    last = body["series"][2]
    # Probes 3 (00:00Z) and 4 (06:00Z): 8 + 16, not probe 5 (32) 1 µs after `to`.
    assert (last["messageCount"], last["inputTokens"]) == (2, 24)


def test_range_without_data_has_all_buckets_zero(load, probe_admin, report):
    load(Probes([]).records())
    body = report(probe_admin, {**RANGE, "interval": "day"})
    assert body["series"] == [
        {"start": "2024-05-01T00:00:00+00:00", "end": "2024-05-02T00:00:00+00:00", **ZERO},
        {"start": "2024-05-02T00:00:00+00:00", "end": "2024-05-03T00:00:00+00:00", **ZERO},
        {"start": "2024-05-03T00:00:00+00:00", "end": "2024-05-04T00:00:00+00:00", **ZERO},
    ]


@pytest.mark.parametrize(
    ("interval", "shape"),
    [
        ("hour", [("2024-05-01T12:00:00+00:00", "2024-05-01T13:00:00+00:00")]),
        ("day", [("2024-05-01T00:00:00+00:00", "2024-05-02T00:00:00+00:00")]),
        ("week", [("2024-04-29T00:00:00+00:00", "2024-05-06T00:00:00+00:00")]),
        ("month", [("2024-05-01T00:00:00+00:00", "2024-06-01T00:00:00+00:00")]),
    ],
)
def test_one_microsecond_range_is_one_bucket(may, probe_admin, report, interval, shape):
    params = {"from": "2024-05-01T12:00:00Z", "to": "2024-05-01T12:00:00Z", "allInOrg": "true"}
    body = report(probe_admin, {**params, "interval": interval})
    assert series_shape(body) == shape
    # Only probe 1 (inputTokens 2) is at that microsecond.
    assert body["series"][0]["messageCount"] == body["messageCount"] == 1
    assert body["series"][0]["inputTokens"] == body["inputTokens"] == 2


# --- weeks and months across a year end ----------------------------------------------------

YEAR_END = Probes(
    [
        ("2024-12-24T23:59:59.999999Z", {"week": None, "month": None}),
        (
            "2024-12-25T00:00:00Z",
            {"week": "2024-12-23T00:00:00+00:00", "month": "2024-12-01T00:00:00+00:00"},
        ),
        # Sunday's last microsecond, then Monday 2024-12-30 (ISO week 1 of 2025).
        (
            "2024-12-29T23:59:59.999999Z",
            {"week": "2024-12-23T00:00:00+00:00", "month": "2024-12-01T00:00:00+00:00"},
        ),
        (
            "2024-12-30T00:00:00Z",
            {"week": "2024-12-30T00:00:00+00:00", "month": "2024-12-01T00:00:00+00:00"},
        ),
        (
            "2024-12-31T23:59:59.999999Z",
            {"week": "2024-12-30T00:00:00+00:00", "month": "2024-12-01T00:00:00+00:00"},
        ),
        (
            "2025-01-01T00:00:00Z",
            {"week": "2024-12-30T00:00:00+00:00", "month": "2025-01-01T00:00:00+00:00"},
        ),
        (
            "2025-01-05T23:59:59.999999Z",
            {"week": "2024-12-30T00:00:00+00:00", "month": "2025-01-01T00:00:00+00:00"},
        ),
        ("2025-01-06T00:00:00Z", {"week": None, "month": None}),
    ]
)


@pytest.mark.parametrize(
    ("interval", "starts", "last_end"),
    [
        (
            "week",
            ["2024-12-23T00:00:00+00:00", "2024-12-30T00:00:00+00:00"],
            "2025-01-06T00:00:00+00:00",
        ),
        (
            "month",
            ["2024-12-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00"],
            "2025-02-01T00:00:00+00:00",
        ),
    ],
)
def test_weeks_start_monday_and_months_across_year_end(
    load, probe_admin, report, interval, starts, last_end
):
    load(YEAR_END.records())
    params = {"from": "2024-12-25", "to": "2025-01-05", "allInOrg": "true", "interval": interval}
    body = report(probe_admin, params)
    assert body["series"] == YEAR_END.series(interval, starts, last_end)
    assert_adds_up(body["series"], body)


# --- at most 1,000 buckets ------------------------------------------------------------------

# (params, bucket count written out)
AT_THE_LIMIT = [
    # 41 days (984 hours) + 16 hours: 2024-01-01T00 .. 2024-02-11T15.
    (
        {"from": "2024-01-01T00:00:00Z", "to": "2024-02-11T15:59:59.999999Z", "interval": "hour"},
        1000,
    ),
    # 2020-01-01 + 1000 days = 2022-09-27.
    ({"from": "2020-01-01", "to": "2022-09-26", "interval": "day"}, 1000),
    # Monday 2000-01-03 + 7000 days = Monday 2019-03-04.
    ({"from": "2000-01-03", "to": "2019-03-03", "interval": "week"}, 1000),
    # 2000-01 .. 2024-12: 300 months (1000 months: see test_open_defects.py).
    ({"from": "2000-01-01", "to": "2024-12-31", "interval": "month"}, 300),
]
OVER_THE_LIMIT = [
    {"from": "2024-01-01T00:00:00Z", "to": "2024-02-11T16:00:00Z", "interval": "hour"},
    {"from": "2020-01-01", "to": "2022-09-27", "interval": "day"},
    {"from": "2000-01-03", "to": "2019-03-04", "interval": "week"},
    {"from": "1950-01-01", "to": "2033-05-01", "interval": "month"},
    # 1000 UTC hours, but in +05:30 the range touches 1001 local hours (23:30Z .. 16:30Z).
    {
        "from": "2024-01-01T00:00:00Z",
        "to": "2024-02-11T15:59:59.999999Z",
        "interval": "hour",
        "tz": "Asia/Kolkata",
    },
    {"from": "2000-01-01", "to": "2024-12-31", "interval": "hour"},
]


@pytest.mark.parametrize(("params", "count"), AT_THE_LIMIT, ids=lambda p: str(p))
def test_one_thousand_buckets_is_allowed(may, probe_admin, report, params, count):
    body = report(probe_admin, {**params, "allInOrg": "true"})
    assert len(body["series"]) == count
    assert_adds_up(body["series"], body)


@pytest.mark.parametrize("params", OVER_THE_LIMIT, ids=lambda p: str(p))
def test_more_than_one_thousand_buckets_is_400(may, probe_admin, get_stats, params):
    body = assert_error(get_stats(probe_admin, {**params, "allInOrg": "true"}), 400)
    assert (body["code"], body.get("parameter")) == ("too_many_buckets", "interval"), body


@pytest.mark.parametrize(
    "bad", ["HOUR", "Day", "Week", "minute", "fortnight", "year", "1h", "days", " day", "day "]
)
def test_unknown_interval_is_400(may, probe_admin, get_stats, bad):
    body = assert_error(get_stats(probe_admin, {**RANGE, "interval": bad}), 400)
    assert (body["code"], body.get("parameter")) == ("invalid_parameter", "interval"), body
