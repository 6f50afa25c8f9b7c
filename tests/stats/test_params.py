"""Query-parameter parsing of STATS.md, without HTTP."""

from datetime import UTC, datetime

import pytest
from django.http import QueryDict

from asteragents.errors import ApiError
from stats.params import parse_stats_params

RANGE = "from=2024-03-01&to=2024-03-31"


def parse(query: str) -> dict:
    return dict(parse_stats_params(QueryDict(query)))


def error(query: str) -> tuple[str, str]:
    with pytest.raises(ApiError) as caught:
        parse(query)
    return caught.value.detail.code, caught.value.parameter


def test_minimal_query_and_defaults():
    assert parse(RANGE) == {
        "start": datetime(2024, 3, 1, tzinfo=UTC),
        "end": datetime(2024, 3, 31, 23, 59, 59, 999999, tzinfo=UTC),
        "all_in_org": False,
        "limit": 10,
    }


@pytest.mark.parametrize(
    ("text", "bound", "expected"),
    [
        ("2024-03-01T09:00:00Z", "from", datetime(2024, 3, 1, 9, tzinfo=UTC)),
        ("2024-03-01T09:00:00", "from", datetime(2024, 3, 1, 9, tzinfo=UTC)),
        ("2024-03-01T09:00:00%2B02:00", "from", datetime(2024, 3, 1, 7, tzinfo=UTC)),
        # An unencoded '+' arrives as a space.
        ("2024-03-01T09:00:00+02:00", "from", datetime(2024, 3, 1, 7, tzinfo=UTC)),
        ("2024-03-01T09:00:00-05:00", "from", datetime(2024, 3, 1, 14, tzinfo=UTC)),
        ("2024-03-31T23:59:59.999Z", "to", datetime(2024, 3, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        # Past microseconds, a bound rounds toward the inside of the range.
        ("2024-03-01T00:00:00.0000001Z", "from", datetime(2024, 3, 1, 0, 0, 0, 1, tzinfo=UTC)),
        (
            "2024-03-31T23:59:59.9999999Z",
            "to",
            datetime(2024, 3, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ),
    ],
)
def test_datetimes(text, bound, expected):
    other = "to=2024-12-31" if bound == "from" else "from=2024-01-01"
    key = "start" if bound == "from" else "end"
    assert parse(f"{bound}={text}&{other}")[key] == expected


@pytest.mark.parametrize(
    ("query", "code", "parameter"),
    [
        ("to=2024-03-31", "missing_parameter", "from"),
        ("from=2024-03-01", "missing_parameter", "to"),
        ("from=&to=2024-03-31", "missing_parameter", "from"),
        ("from=yesterday&to=2024-03-31", "invalid_parameter", "from"),
        ("from=2024-02-30&to=2024-03-31", "invalid_parameter", "from"),
        ("from=2024-03-01&to=2024-03-01T25:00:00Z", "invalid_parameter", "to"),
        ("from=2024-03-02&to=2024-03-01", "invalid_range", "from"),
        (RANGE + "&agentId=seven", "invalid_parameter", "agentId"),
        (RANGE + "&agentId=7.5", "invalid_parameter", "agentId"),
        (RANGE + "&agentId=%EF%BC%97", "invalid_parameter", "agentId"),  # fullwidth 7
        (RANGE + "&allInOrg=yes", "invalid_parameter", "allInOrg"),
        (RANGE + "&allInOrg=maybe", "invalid_parameter", "allInOrg"),
        (RANGE + "&agentId=1&agentId=2", "duplicate_parameter", "agentId"),
        ("from=2024-03-01&from=2024-03-02&to=2024-03-31", "duplicate_parameter", "from"),
    ],
)
def test_errors_name_the_parameter(query, code, parameter):
    assert error(query) == (code, parameter)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("True", True),
        ("1", True),
        ("false", False),
        ("FALSE", False),
        ("0", False),
    ],
)
def test_booleans(text, expected):
    assert parse(f"{RANGE}&allInOrg={text}")["all_in_org"] is expected


def test_empty_values_are_left_out_and_text_is_exact():
    parsed = parse(f"{RANGE}&agentId=&userId=&metadataKey=%20a%20&metadataValue=")
    assert parsed == parse(RANGE) | {"metadata_key": " a "}


def test_from_equal_to_is_a_range_of_one_instant():
    parsed = parse("from=2024-03-01T09:00:00Z&to=2024-03-01T09:00:00Z")
    assert parsed["start"] == parsed["end"]
