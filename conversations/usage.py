"""The counting rules of STATS.md for one message or file: tokens and tool invocations.

Computed once, on import, into integer columns; no stats query parses JSON.
"""

from dataclasses import dataclass
from typing import Any

# Older AI SDK names, read when the newer name is absent.
_LEGACY_NAMES = {"inputTokens": "promptTokens", "outputTokens": "completionTokens"}


class UsageError(ValueError):
    """A usage object that breaks ACTIVITY.md; `field` is the offending key."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0


def _token_count(usage: dict, name: str) -> int | None:
    value = usage.get(name)
    if value is None:
        return None
    # bool is an int in Python but `true` is no count in JSON.
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(name, f"must be a non-negative JSON integer, got {value!r}")
    if value < 0:
        raise UsageError(name, f"must be a non-negative JSON integer, got {value}")
    return value


def parse_usage(usage: Any) -> Usage:
    """Usage of a message or a file's extraction; missing usage is all zeros.

    `promptTokens`/`completionTokens` stand in for `inputTokens`/`outputTokens` (the newer
    name wins when both are present); a missing `totalTokens` is input + output.
    """
    if usage is None:
        return Usage()
    if not isinstance(usage, dict):
        raise UsageError("usage", f"must be an object, got {type(usage).__name__}")
    counts = {}
    for name, legacy in _LEGACY_NAMES.items():
        newer, older = _token_count(usage, name), _token_count(usage, legacy)
        counts[name] = newer if newer is not None else (older or 0)
    total = _token_count(usage, "totalTokens")
    if total is None:
        total = counts["inputTokens"] + counts["outputTokens"]
    return Usage(counts["inputTokens"], counts["outputTokens"], total)


def is_tool_part(part: Any) -> bool:
    """A message part that records a tool call (AI SDK v4 `tool-invocation`, v5 `tool-*`)."""
    if not isinstance(part, dict):
        return False
    part_type = part.get("type")
    return isinstance(part_type, str) and (
        part_type == "dynamic-tool" or part_type.startswith("tool-")
    )


def count_tool_invocations(tool_invocations: Any, parts: Any) -> int:
    """The `toolInvocations` array's length when there is one (even empty), else tool parts."""
    if isinstance(tool_invocations, list):
        return len(tool_invocations)
    if isinstance(parts, list):
        return sum(1 for part in parts if is_tool_part(part))
    return 0
