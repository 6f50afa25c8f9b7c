"""Fixtures and helpers of the black-box dashboard suite (issue 7): getStats with tz,
interval, groupBy, compare, freshness and caching.

Data goes in through `import_activity` only and every answer is read over HTTP, like the
contract suite (whose fixtures are reused here). Expected figures are written out by hand
in the tests, or added up here from hand-labelled records (`Probes`): which bucket each
record belongs to is always the test's own, hand-written statement.
"""

import json
import re
from datetime import datetime

import pytest
from django.core.management import call_command

from tests.contract.activity import (
    conversation,
    feedback,
    knowledge_base,
    knowledge_base_file,
    message,
    org_with_members,
)
from tests.contract.conftest import (  # noqa: F401  (fixtures re-exported to this suite)
    FIELDS,
    ZERO,
    assert_error,
    figures,
    get_stats,
    load,
    raw_bearer,
)

# The 11 conversation fields of a breakdown row (no knowledge-base figures).
CONVERSATION_FIELDS = FIELDS[:11]
assert CONVERSATION_FIELDS[-1] == "totalNotHelpful" and "kbFileCount" not in CONVERSATION_FIELDS

# Fields whose bucket / group figures add up to the range's totals.
ADDITIVE = (
    "messageCount",
    "toolCalls",
    "totalTokens",
    "inputTokens",
    "outputTokens",
    "totalFeedback",
    "totalHelpful",
    "totalNotHelpful",
    "kbFileCount",
    "kbExtractTotalTokens",
    "kbExtractInputTokens",
    "kbExtractOutputTokens",
)
ADDITIVE_CONVERSATION = tuple(f for f in ADDITIVE if f in CONVERSATION_FIELDS)

ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
# datetime.isoformat() of a whole-second local instant: "YYYY-MM-DDTHH:MM:SS+HH:MM".
LOCAL_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")

NEW_OPTIONS = ("tz", "interval", "groupBy", "compare")


def parse_z(text: str) -> datetime:
    assert ISO_Z.fullmatch(text), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _given(params) -> dict:
    items = list(params.items()) if isinstance(params, dict) else list(params)
    return {name: value for name, value in items if value != ""}


def assert_report(response, params) -> dict:
    """A 200 JSON answer with exactly the keys `params` asks for; returns the body.

    The 16 integer fields always; generatedAt and dataThrough when any of tz, interval,
    groupBy, compare is given (a non-empty value); series / breakdown / previous+change for
    interval / groupBy / compare.
    """
    assert response.status_code == 200, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    given = _given(params)
    expected = set(FIELDS)
    if any(name in given for name in NEW_OPTIONS):
        expected |= {"generatedAt", "dataThrough"}
    if "interval" in given:
        expected.add("series")
    if "groupBy" in given:
        expected.add("breakdown")
    if "compare" in given:
        expected |= {"previous", "change"}
    assert set(body) == expected, sorted(set(body) ^ expected)
    not_ints = {k: body[k] for k in FIELDS if type(body[k]) is not int}
    assert not not_ints, f"non-integer fields: {not_ints}"
    for name in ("generatedAt", "dataThrough"):
        if name in body:
            parse_z(body[name])
    for bucket in body.get("series", ()):
        assert set(bucket) == {"start", "end", *FIELDS}, sorted(bucket)
        assert LOCAL_ISO.fullmatch(bucket["start"]) and LOCAL_ISO.fullmatch(bucket["end"]), bucket
        assert all(type(bucket[f]) is int for f in FIELDS), bucket
    if "breakdown" in body:
        breakdown = body["breakdown"]
        keys = {"by", "rows", "others", "truncated"}
        if given.get("groupBy") == "metadata":
            keys.add("groupKey")
        assert set(breakdown) == keys, sorted(breakdown)
        assert type(breakdown["truncated"]) is bool
        assert set(breakdown["others"]) == set(CONVERSATION_FIELDS), sorted(breakdown["others"])
        for row in breakdown["rows"]:
            assert set(row) == {"key", "label", *CONVERSATION_FIELDS}, sorted(row)
            assert all(type(row[f]) is int for f in CONVERSATION_FIELDS), row
    if "previous" in body:
        assert set(body["previous"]) == set(FIELDS)
        assert set(body["change"]) == set(FIELDS)
        for field, change in body["change"].items():
            assert set(change) == {"delta", "percent"}, (field, change)
            assert type(change["delta"]) is int, (field, change)
            percent = change["percent"]
            assert percent is None or type(percent) in (int, float), (field, change)
    return body


@pytest.fixture
def report(get_stats):  # noqa: F811  (the imported fixture)
    """report(auth, params) -> the 200 body, checked to hold exactly what params ask for."""

    def _report(auth, params):
        return assert_report(get_stats(auth, params), params)

    return _report


@pytest.fixture
def load_lines(tmp_path):
    """load_lines(lines) imports NDJSON lines written verbatim (for literals like 1e2)."""
    counter = iter(range(1_000_000))

    def _load(lines: list[str]) -> None:
        path = tmp_path / f"raw-{next(counter)}.ndjson"
        path.write_text("".join(line + "\n" for line in lines), "utf-8")
        call_command("import_activity", str(path))

    return _load


def assert_adds_up(parts: list[dict], total: dict, fields=ADDITIVE) -> None:
    """The parts' figures summed field by field equal the total, for every given field."""
    sums = {f: sum(part[f] for part in parts) for f in fields}
    assert sums == {f: total[f] for f in fields}


def series_shape(body) -> list[tuple[str, str]]:
    return [(bucket["start"], bucket["end"]) for bucket in body["series"]]


# --- hand-labelled probes ----------------------------------------------------------------

PROBE_ORG = "org_dash_probe"
PROBE_ANN, PROBE_BOB = "user_probe_ann", "user_probe_bob"
PROBE_AGENTS = (11, 12)
# Probe i's message is in conversation PROBE_CONVS[i % 3]: (id, owner, agent).
PROBE_CONVS = (
    ("conv-probe-0", PROBE_ANN, 11),
    ("conv-probe-1", PROBE_BOB, 11),
    ("conv-probe-2", PROBE_ANN, 12),
)
PROBE_KBS = ("kb-probe-0", "kb-probe-1")
# Feedback is counted at its own createdAt: it is given on this message from 2000.
ANCHOR_MESSAGE = "m-probe-anchor"


class Probes:
    """One message, one feedback and one KB file at each probe instant.

    `labels` is a list of (instant as imported, where): `where` maps a name of the test's
    choosing (an interval, "range", ...) to the hand-written bucket start the probe falls in,
    or None where it is outside [from, to]. Probe i carries inputTokens 2**i (message and KB
    extraction), outputTokens i + 1, i % 3 tool invocations, a helpful feedback when i is
    even, and sits in conversation PROBE_CONVS[i % 3] and knowledge base PROBE_KBS[i % 2];
    so any wrongly bucketed record changes several figures of two buckets.
    """

    def __init__(self, labels: list[tuple[str, dict]]):
        self.labels = labels

    def records(self) -> list[dict]:
        members = {PROBE_ANN: {"role": "org:admin"}, PROBE_BOB: {}}
        records = org_with_members(PROBE_ORG, members, agents=PROBE_AGENTS)
        for conv_id, owner, agent_id in PROBE_CONVS:
            records.append(
                conversation(conv_id, PROBE_ORG, owner, agent_id, "2000-01-01T00:00:00Z")
            )
        records.append(message(ANCHOR_MESSAGE, PROBE_CONVS[0][0], "2000-01-01T00:00:00Z"))
        records += [knowledge_base(kb, PROBE_ORG) for kb in PROBE_KBS]
        for i, (at, _where) in enumerate(self.labels):
            records.append(
                message(
                    f"m-probe-{i}",
                    PROBE_CONVS[i % 3][0],
                    at,
                    usage={"inputTokens": 2**i, "outputTokens": i + 1},
                    toolInvocations=[
                        {"toolCallId": f"c{i}-{n}", "toolName": "t", "state": "result"}
                        for n in range(i % 3)
                    ],
                )
            )
            records.append(
                feedback(
                    f"f-probe-{i}", ANCHOR_MESSAGE, PROBE_ANN, helpful=i % 2 == 0, created_at=at
                )
            )
            records.append(
                knowledge_base_file(
                    f"kbf-probe-{i}",
                    PROBE_KBS[i % 2],
                    processed_at=at,
                    extraction={"inputTokens": 2**i, "outputTokens": 1},
                )
            )
        return records

    def indices(self, name: str, bucket: str | None = None) -> list[int]:
        """The probes whose `name` label is `bucket` (bucket None: every labelled-in probe)."""
        return [
            i
            for i, (_at, where) in enumerate(self.labels)
            if where[name] is not None and (bucket is None or where[name] == bucket)
        ]

    @staticmethod
    def figures_of(indices: list[int]) -> dict:
        """The 16 fields when exactly these probes are counted."""
        convs = [PROBE_CONVS[i % 3] for i in indices]
        input_tokens = sum(2**i for i in indices)
        output_tokens = sum(i + 1 for i in indices)
        n = len(indices)
        return {
            "conversationCount": len({c[0] for c in convs}),
            "messageCount": n,
            "toolCalls": sum(i % 3 for i in indices),
            "totalTokens": input_tokens + output_tokens,
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "uniqueUsers": len({c[1] for c in convs}),
            "uniqueAgents": len({c[2] for c in convs}),
            "totalFeedback": n,
            "totalHelpful": sum(1 for i in indices if i % 2 == 0),
            "totalNotHelpful": sum(1 for i in indices if i % 2 == 1),
            "kbFileCount": n,
            "kbCount": len({i % 2 for i in indices}),
            "kbExtractTotalTokens": input_tokens + n,
            "kbExtractInputTokens": input_tokens,
            "kbExtractOutputTokens": n,
        }

    def total(self, name: str) -> dict:
        return self.figures_of(self.indices(name))

    def series(self, name: str, starts: list[str], last_end: str) -> list[dict]:
        """The expected series: buckets at these hand-written starts (each ends where the
        next starts, the last at `last_end`), figures of the probes labelled into each."""
        unknown = {w[name] for _at, w in self.labels if w[name] is not None} - set(starts)
        assert not unknown, f"probe labelled into no listed bucket: {unknown}"
        ends = [*starts[1:], last_end]
        return [
            {"start": start, "end": end, **self.figures_of(self.indices(name, start))}
            for start, end in zip(starts, ends, strict=True)
        ]


@pytest.fixture
def probe_admin(bearer):
    return bearer(user_id=PROBE_ANN, org_id=PROBE_ORG, role="org:admin")
