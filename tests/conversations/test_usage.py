"""The counting rules of STATS.md for one message or file (conversations.usage)."""

import json

import pytest

from conversations.usage import Usage, UsageError, count_tool_invocations, parse_usage


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"inputTokens": 812, "outputTokens": 64, "totalTokens": 876}, Usage(812, 64, 876)),
        # A missing totalTokens is input + output.
        ({"inputTokens": 15000, "outputTokens": 900}, Usage(15000, 900, 15900)),
        # A totalTokens that disagrees is taken as given (it may count cached tokens).
        ({"inputTokens": 1, "outputTokens": 2, "totalTokens": 10}, Usage(1, 2, 10)),
        # The older AI SDK names.
        ({"promptTokens": 30, "completionTokens": 7}, Usage(30, 7, 37)),
        # The newer name wins when both are present, each on its own.
        ({"inputTokens": 5, "promptTokens": 99, "completionTokens": 3}, Usage(5, 3, 8)),
        ({"outputTokens": 4, "completionTokens": 99, "promptTokens": 2}, Usage(2, 4, 6)),
        # null is absent; a null newer name lets the older one through.
        ({"inputTokens": None, "promptTokens": 6}, Usage(6, 0, 6)),
        ({}, Usage(0, 0, 0)),
        (None, Usage(0, 0, 0)),
        ({"totalTokens": 0}, Usage(0, 0, 0)),
        ({"inputTokens": 0, "outputTokens": 0}, Usage(0, 0, 0)),
        # Unknown keys are ignored.
        ({"inputTokens": 1, "cachedInputTokens": -5, "reasoning": "x"}, Usage(1, 0, 1)),
        ({"inputTokens": 2**62, "outputTokens": 2**62}, Usage(2**62, 2**62, 2**63)),
    ],
)
def test_parse_usage(usage, expected):
    assert parse_usage(usage) == expected


@pytest.mark.parametrize(
    ("usage", "field"),
    [
        ({"inputTokens": -1}, "inputTokens"),
        ({"outputTokens": 5.5}, "outputTokens"),
        ({"totalTokens": "5"}, "totalTokens"),
        ({"inputTokens": True}, "inputTokens"),
        ({"promptTokens": -3}, "promptTokens"),
        ({"completionTokens": [1]}, "completionTokens"),
        # An older name is checked even when the newer one is there.
        ({"inputTokens": 1, "promptTokens": "x"}, "promptTokens"),
        ({"inputTokens": {"n": 1}}, "inputTokens"),
        ([1, 2], "usage"),
        ("812", "usage"),
    ],
)
def test_parse_usage_refuses(usage, field):
    with pytest.raises(UsageError) as error:
        parse_usage(usage)
    assert error.value.field == field


def test_five_point_zero_is_no_count_even_as_json_gives_it():
    # Python's json reads 5.0 as a float: the JSON text, not the value, decides.
    usage = json.loads('{"inputTokens": 5.0}')
    with pytest.raises(UsageError, match="non-negative JSON integer, got 5.0"):
        parse_usage(usage)


def test_negative_count_message():
    with pytest.raises(UsageError) as error:
        parse_usage({"inputTokens": -1})
    assert (error.value.field, error.value.reason) == (
        "inputTokens",
        "must be a non-negative JSON integer, got -1",
    )


TOOL_CALL = {"toolCallId": "c1", "toolName": "lookupOrder", "state": "result"}


@pytest.mark.parametrize(
    ("tool_invocations", "parts", "expected"),
    [
        ([TOOL_CALL], None, 1),
        ([TOOL_CALL, TOOL_CALL, TOOL_CALL], None, 3),
        # An empty array is 0, whatever the parts say.
        ([], [{"type": "tool-invocation"}, {"type": "tool-search"}], 0),
        # The array wins over the parts when both are there.
        ([TOOL_CALL], [{"type": "tool-a"}, {"type": "tool-b"}], 1),
        # null is no array: the parts count.
        (None, [{"type": "tool-invocation"}, {"type": "text", "text": "hi"}], 1),
        (None, [{"type": "dynamic-tool"}, {"type": "tool-search"}, {"type": "tool-"}], 3),
        (None, [{"type": "text"}, {"type": "reasoning"}, {"type": "step-start"}], 0),
        # Not quite tool parts.
        (None, [{"type": "Tool-x"}, {"type": "dynamic-tools"}, {"type": "xtool-a"}], 0),
        (None, [{"type": 7}, {"kind": "tool-x"}, "tool-x", None, ["tool-x"]], 0),
        (None, None, 0),
        (None, [], 0),
        # Neither an array nor null: nothing to count.
        ({"0": TOOL_CALL}, "tool-x", 0),
    ],
)
def test_count_tool_invocations(tool_invocations, parts, expected):
    assert count_tool_invocations(tool_invocations, parts) == expected
