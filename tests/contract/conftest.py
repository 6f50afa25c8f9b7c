"""Fixtures of the black-box getStats contract suite: data in through the importer only."""

import json
import re
from urllib.parse import urlencode

import pytest
from django.core.management import call_command

from tests.contract.activity import write_ndjson

STATS_PATH = "/api/dashboard/getStats"

FIELDS = (
    "conversationCount",
    "messageCount",
    "toolCalls",
    "totalTokens",
    "inputTokens",
    "outputTokens",
    "uniqueUsers",
    "uniqueAgents",
    "totalFeedback",
    "totalHelpful",
    "totalNotHelpful",
    "kbFileCount",
    "kbCount",
    "kbExtractTotalTokens",
    "kbExtractInputTokens",
    "kbExtractOutputTokens",
)
ZERO = dict.fromkeys(FIELDS, 0)


def figures(**nonzero) -> dict:
    """The whole 16-field response with the given fields set and every other field 0."""
    unknown = set(nonzero) - set(FIELDS)
    assert not unknown, f"not a stats field: {unknown}"
    return {**ZERO, **nonzero}


@pytest.fixture
def load(tmp_path):
    """load(records) writes them as NDJSON and runs `import_activity` on the file."""
    counter = iter(range(1_000_000))

    def _load(records: list[dict]) -> None:
        path = write_ndjson(tmp_path / f"activity-{next(counter)}.ndjson", records)
        call_command("import_activity", str(path))

    return _load


@pytest.fixture
def raw_bearer(clerk_key):
    """raw_bearer(claims) -> HTTP_AUTHORIZATION kwargs for a token with exactly these claims."""
    from tests.clerk import sign

    def _raw_bearer(claims: dict) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {sign(claims)}"}

    return _raw_bearer


@pytest.fixture
def get_stats(client):
    """get_stats(auth, params) -> response; params is a dict or a list of (name, value) pairs.

    The query string is encoded here (so `+02:00` arrives as a plus sign, and a list of
    pairs may repeat a name).
    """

    def _get(auth: dict | None, params=(), *, path=STATS_PATH):
        items = list(params.items()) if isinstance(params, dict) else list(params)
        url = f"{path}?{urlencode(items)}" if items else path
        return client.get(url, **(auth or {}))

    return _get


def assert_stats_body(response) -> dict:
    """A 200 JSON body with exactly the sixteen integer fields; returns it."""
    assert response.status_code == 200, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == set(FIELDS), sorted(set(body) ^ set(FIELDS))
    not_ints = {k: v for k, v in body.items() if type(v) is not int}
    assert not not_ints, f"non-integer fields: {not_ints}"
    return body


def assert_error(response, status: int, *, parameter: str | tuple[str, ...] | None = None):
    """A JSON error with a machine-readable code and a message (naming `parameter` if given)."""
    assert response.status_code == status, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    assert b"Traceback" not in response.content
    body = json.loads(response.content)
    assert isinstance(body.get("code"), str) and body["code"], body
    assert isinstance(body.get("message"), str) and body["message"], body
    if parameter is not None:
        names = (parameter,) if isinstance(parameter, str) else parameter
        # "names the parameter": the `parameter` field when there is one, else the message
        # must name it as a word (a bare substring test would let "to" pass in any text).
        if "parameter" in body:
            assert body["parameter"] in names, body
        else:
            assert any(re.search(rf"\b{re.escape(n)}\b", body["message"]) for n in names), body
    return body


@pytest.fixture
def stats(get_stats):
    """stats(auth, params) -> the 200 body, checked to be the sixteen integer fields."""

    def _stats(auth, params=()):
        return assert_stats_body(get_stats(auth, params))

    return _stats
