"""tz: IANA zones only; date-only bounds are local days; datetimes keep their own meaning;
without the new parameters the answer is exactly the contract's 16 integers."""

import json
from datetime import datetime, timedelta

import pytest

from tests.dashboard.conftest import FIELDS, Probes, assert_error

pytestmark = pytest.mark.django_db

# Labels: "kolkata" = the local day 2024-03-01 in +05:30, [2024-02-29T18:30Z,
# 2024-03-01T18:29:59.999999Z]; "utc" = the UTC day 2024-03-01; "mixed" = from the Kolkata
# day's start to the UTC day's end.
DAY = Probes(
    [
        ("2024-02-29T18:29:59.999999Z", {"kolkata": None, "utc": None, "mixed": None}),
        ("2024-02-29T18:30:00Z", {"kolkata": "in", "utc": None, "mixed": "in"}),
        ("2024-02-29T23:59:59.999999Z", {"kolkata": "in", "utc": None, "mixed": "in"}),
        ("2024-03-01T00:00:00Z", {"kolkata": "in", "utc": "in", "mixed": "in"}),
        ("2024-03-01T18:29:59.999999Z", {"kolkata": "in", "utc": "in", "mixed": "in"}),
        ("2024-03-01T18:30:00Z", {"kolkata": None, "utc": "in", "mixed": "in"}),
        ("2024-03-01T23:59:59.999999Z", {"kolkata": None, "utc": "in", "mixed": "in"}),
        ("2024-03-02T00:00:00Z", {"kolkata": None, "utc": None, "mixed": None}),
    ]
)


def shift(text: str, micros: int) -> str:
    """A UTC instant written with Z, moved by some microseconds."""
    instant = datetime.fromisoformat(text.replace("Z", "+00:00")) + timedelta(microseconds=micros)
    return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def day(load):
    load(DAY.records())


ALL = {"allInOrg": "true"}


@pytest.mark.parametrize(
    ("params", "label", "in_tokens"),
    [
        # Date-only bounds in tz: the local day. Probes 1..4: 2 + 4 + 8 + 16.
        ({"tz": "Asia/Kolkata", "from": "2024-03-01", "to": "2024-03-01"}, "kolkata", 30),
        # The same instants written with the offset: tz changes nothing.
        (
            {
                "tz": "Asia/Kolkata",
                "from": "2024-03-01T00:00:00+05:30",
                "to": "2024-03-01T23:59:59.999999+05:30",
            },
            "kolkata",
            30,
        ),
        # A datetime without an offset stays UTC even with tz. Probes 3..6: 8 + 16 + 32 + 64.
        (
            {
                "tz": "Asia/Kolkata",
                "from": "2024-03-01T00:00:00",
                "to": "2024-03-01T23:59:59.999999",
            },
            "utc",
            120,
        ),
        (
            {
                "tz": "Asia/Kolkata",
                "from": "2024-03-01T00:00:00Z",
                "to": "2024-03-01T23:59:59.999999Z",
            },
            "utc",
            120,
        ),
        # Without tz (or tz=UTC) a date is the UTC day.
        ({"from": "2024-03-01", "to": "2024-03-01"}, "utc", 120),
        ({"tz": "UTC", "from": "2024-03-01", "to": "2024-03-01"}, "utc", 120),
        ({"tz": "Etc/UTC", "from": "2024-03-01", "to": "2024-03-01"}, "utc", 120),
        # A local date for `from`, an explicit UTC instant for `to`. Probes 1..6.
        (
            {"tz": "Asia/Kolkata", "from": "2024-03-01", "to": "2024-03-01T23:59:59.999999Z"},
            "mixed",
            126,
        ),
    ],
)
def test_date_only_bounds_are_local_days(day, probe_admin, report, params, label, in_tokens):
    body = report(probe_admin, {**params, **ALL})
    assert {f: body[f] for f in FIELDS} == DAY.total(label)
    assert body["inputTokens"] == in_tokens


@pytest.mark.parametrize(
    ("tz", "from_", "to", "first", "last"),
    [
        # Local day 2024-10-27 in Berlin has 25 hours: 22:00Z (26th) .. 22:59:59.999999Z.
        (
            "Europe/Berlin",
            "2024-10-27",
            "2024-10-27",
            "2024-10-26T22:00:00Z",
            "2024-10-27T22:59:59.999999Z",
        ),
        # Local 2024-03-31 in Berlin has 23 hours: 23:00Z (30th) .. 21:59:59.999999Z.
        (
            "Europe/Berlin",
            "2024-03-31",
            "2024-03-31",
            "2024-03-30T23:00:00Z",
            "2024-03-31T21:59:59.999999Z",
        ),
        # In Sao Paulo 2018-11-04 starts at 01:00-02:00 (03:00Z); midnight does not exist.
        (
            "America/Sao_Paulo",
            "2018-11-04",
            "2018-11-04",
            "2018-11-04T03:00:00Z",
            "2018-11-05T01:59:59.999999Z",
        ),
        (
            "Asia/Kathmandu",
            "2024-03-01",
            "2024-03-01",
            "2024-02-29T18:15:00Z",
            "2024-03-01T18:14:59.999999Z",
        ),
        (
            "Pacific/Chatham",
            "2024-04-07",
            "2024-04-07",
            "2024-04-06T10:15:00Z",
            "2024-04-07T11:14:59.999999Z",
        ),
        (
            "Pacific/Chatham",
            "2024-09-29",
            "2024-09-29",
            "2024-09-28T11:15:00Z",
            "2024-09-29T10:14:59.999999Z",
        ),
    ],
)
def test_local_day_bounds_to_the_microsecond(load, probe_admin, report, tz, from_, to, first, last):
    """Probes at the first and last microsecond of the local day count; one µs outside not."""
    probes = Probes(
        [
            (shift(first, -1), {"r": None}),
            (first, {"r": "in"}),
            (last, {"r": "in"}),
            (shift(last, 1), {"r": None}),
        ]
    )
    load(probes.records())
    body = report(probe_admin, {"tz": tz, "from": from_, "to": to, **ALL})
    # Probes 1 and 2: inputTokens 2 + 4, feedback 1 helpful (even 2) 1 not, KB files 2.
    assert body["messageCount"] == 2
    assert body["inputTokens"] == 6
    assert (body["totalFeedback"], body["totalHelpful"], body["totalNotHelpful"]) == (2, 1, 1)
    assert (body["kbFileCount"], body["kbExtractInputTokens"]) == (2, 6)


@pytest.mark.parametrize(
    "bad",
    [
        "Mars/Olympus_Mons",
        "Europe/Berlinn",
        "europe/berlin",
        "utc",
        "Europe/Berlin ",
        "+05:30",
        "UTC+5",
        "GMT+5",
        "Asia",
        "Europe/",
        "../../../etc/passwd",
        "/usr/share/zoneinfo/UTC",
        "Z",
    ],
)
def test_unknown_zone_is_400(day, probe_admin, get_stats, bad):
    response = get_stats(probe_admin, {"tz": bad, "from": "2024-03-01", "to": "2024-03-01"})
    body = assert_error(response, 400)
    assert (body["code"], body.get("parameter")) == ("invalid_parameter", "tz"), body


@pytest.mark.parametrize(
    "zone",
    ["UTC", "Etc/UTC", "Etc/GMT+5", "America/Argentina/Buenos_Aires", "Asia/Kathmandu"],
)
def test_known_zones_are_accepted(day, probe_admin, report, zone):
    report(probe_admin, {"tz": zone, "from": "2024-03-01", "to": "2024-03-01"})


def test_plain_request_is_exactly_the_sixteen_integers(day, probe_admin, get_stats):
    response = get_stats(probe_admin, {"from": "2024-03-01", "to": "2024-03-01", **ALL})
    assert response.status_code == 200
    body = json.loads(response.content)
    assert set(body) == set(FIELDS)
    assert all(type(v) is int for v in body.values())
    assert "generatedAt" not in body and "dataThrough" not in body


def test_tz_alone_adds_freshness_but_not_other_parts(day, probe_admin, report):
    # report() checks the exact key set: the 16 fields, generatedAt and dataThrough.
    body = report(probe_admin, {"tz": "UTC", "from": "2024-03-01", "to": "2024-03-01", **ALL})
    assert {f: body[f] for f in FIELDS} == DAY.total("utc")
