"""Mixed activity checked against a reference model of STATS.md written in plain Python.

The model reads the generated NDJSON records, never the database or the project's code.
The data is pseudo-random with a fixed seed, so every run sees the same records.
"""

import random
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.contract.activity import (
    agent,
    conversation,
    feedback,
    knowledge_base,
    knowledge_base_file,
    membership,
    message,
    organization,
    user,
)
from tests.contract.conftest import FIELDS

pytestmark = pytest.mark.django_db

ACME, GLOBEX = "org_ref_acme", "org_ref_globex"
MEMBERS = {
    ACME: {
        "user_ref_ann": ("org:admin", {"team": "core", "level": 3, "tags": ["beta", "eu"]}),
        "user_ref_bob": ("org:member", {"team": "edge", "level": 3.0, "beta": True}),
        "user_ref_cy": ("org:member", {"team": None, "tags": ["us", 7], "level": "3"}),
        "user_ref_di": ("org:member", {}),
    },
    GLOBEX: {
        "user_ref_ann": ("org:member", {"team": "edge", "tags": ["beta"]}),
        "user_ref_eve": ("org:admin", {"team": "core", "level": 3}),
    },
}
AGENTS = {ACME: [1001, 1002, 1003], GLOBEX: [1004]}
T0 = datetime(2024, 8, 1, tzinfo=UTC)
PART_TYPES = ["text", "tool-invocation", "dynamic-tool", "tool-search", "reasoning", "step-start"]


def z(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def random_usage(rng: random.Random):
    shape = rng.randrange(6)
    a, b = rng.randrange(0, 5000), rng.randrange(0, 500)
    if shape == 0:
        return None
    if shape == 1:
        return {"inputTokens": a, "outputTokens": b}
    if shape == 2:
        return {"inputTokens": a, "outputTokens": b, "totalTokens": a + b + rng.randrange(50)}
    if shape == 3:
        return {"promptTokens": a, "completionTokens": b}
    if shape == 4:
        return {"inputTokens": a, "promptTokens": a + 1, "completionTokens": b}
    return {"outputTokens": b}


def generate() -> list[dict]:
    rng = random.Random(20240801)
    records = []
    for org, members in MEMBERS.items():
        records.append(organization(org))
        for user_id, (role, metadata) in members.items():
            records += [user(user_id), membership(org, user_id, role=role, metadata=metadata)]
        records += [agent(agent_id, org) for agent_id in AGENTS[org]]
    message_owners = []  # (message id, organization)
    for n in range(36):
        org = ACME if n % 4 else GLOBEX
        owner = rng.choice(list(MEMBERS[org]))
        conv_id = f"conv-ref-{n}"
        start = T0 + timedelta(hours=rng.randrange(0, 24 * 6), minutes=rng.randrange(60))
        records.append(conversation(conv_id, org, owner, rng.choice(AGENTS[org]), z(start)))
        for k in range(rng.randrange(0, 5)):
            msg_id = f"m-ref-{n}-{k}"
            fields = {}
            usage = random_usage(rng)
            if usage is not None:
                fields["usage"] = usage
            tools = rng.randrange(4)
            if tools == 1:
                fields["toolInvocations"] = [
                    {"toolCallId": str(i)} for i in range(rng.randrange(3))
                ]
            if tools in (1, 2):
                fields["parts"] = [
                    {"type": rng.choice(PART_TYPES)} for _ in range(rng.randrange(4))
                ]
            at = start + timedelta(minutes=37 * k, microseconds=rng.randrange(2))
            records.append(
                message(msg_id, conv_id, z(at), role=rng.choice(["user", "assistant"]), **fields)
            )
            message_owners.append((msg_id, org, at))
    for n, (msg_id, org, at) in enumerate(rng.sample(message_owners, 25)):
        giver = rng.choice(list(MEMBERS[org]))
        when = at + timedelta(hours=rng.randrange(0, 40))
        records.append(
            feedback(f"f-ref-{n}", msg_id, giver, helpful=rng.random() < 0.6, created_at=z(when))
        )
    for org in MEMBERS:
        for kb in range(2):
            records.append(knowledge_base(f"kb-ref-{org}-{kb}", org))
    for n in range(10):
        org = rng.choice(list(MEMBERS))
        processed = None if n % 5 == 0 else z(T0 + timedelta(hours=rng.randrange(0, 24 * 6)))
        records.append(
            knowledge_base_file(
                f"kbf-ref-{n}",
                f"kb-ref-{org}-{rng.randrange(2)}",
                processed_at=processed,
                extraction=random_usage(rng),
            )
        )
    return records


RECORDS = generate()

# --- the reference model -----------------------------------------------------------------

JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def scalar_matches(value, s: str) -> bool:
    if isinstance(value, bool):
        return s == ("true" if value else "false")
    if isinstance(value, str):
        return value == s
    if isinstance(value, int | float):
        return JSON_NUMBER.fullmatch(s) is not None and Decimal(s) == Decimal(repr(value))
    return False


def value_matches(value, s: str) -> bool:
    if isinstance(value, list):
        return any(scalar_matches(v, s) for v in value if not isinstance(v, list | dict))
    return scalar_matches(value, s)


def metadata_matches(metadata: dict, key, value) -> bool:
    if key is not None and key not in metadata:
        return False
    if value is None:
        return True
    candidates = [metadata[key]] if key is not None else list(metadata.values())
    return any(value_matches(v, value) for v in candidates)


def usage_of(usage) -> tuple[int, int, int]:
    usage = usage or {}
    inp = usage.get("inputTokens", usage.get("promptTokens", 0))
    out = usage.get("outputTokens", usage.get("completionTokens", 0))
    return inp, out, usage.get("totalTokens", inp + out)


def tool_count(msg: dict) -> int:
    if isinstance(msg.get("toolInvocations"), list):
        return len(msg["toolInvocations"])
    kinds = [p.get("type", "") for p in msg.get("parts") or []]
    return sum(k in ("tool-invocation", "dynamic-tool") or k.startswith("tool-") for k in kinds)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def reference_stats(*, org, start, end, users, agent_id=None, key=None, value=None) -> dict:
    """STATS.md's table over RECORDS; `users` is the scope's owners (None = everyone)."""
    by_type = {}
    for r in RECORDS:
        by_type.setdefault(r["type"], []).append(r)
    metadata = {
        m["userId"]: m["publicMetadata"]
        for m in by_type["membership"]
        if m["organizationId"] == org
    }
    conversations = {
        c["id"]: c
        for c in by_type["conversation"]
        if c["organizationId"] == org
        and (users is None or c["userId"] in users)
        and (agent_id is None or c["agentId"] == agent_id)
        and ((key is None and value is None) or metadata_matches(metadata[c["userId"]], key, value))
    }
    scoped = {m["id"]: m for m in by_type["message"] if m["conversationId"] in conversations}
    in_range = [m for m in scoped.values() if start <= at(m["createdAt"]) <= end]
    fb = [
        f
        for f in by_type["feedback"]
        if f["messageId"] in scoped and start <= at(f["createdAt"]) <= end
    ]
    kb_org = {kb["id"] for kb in by_type["knowledgeBase"] if kb["organizationId"] == org}
    files = [
        f
        for f in by_type["knowledgeBaseFile"]
        if f["knowledgeBaseId"] in kb_org
        and f["processedAt"]
        and start <= at(f["processedAt"]) <= end
    ]
    usages = [usage_of(m.get("usage")) for m in in_range]
    extractions = [usage_of(f.get("extraction")) for f in files]
    owners = [conversations[m["conversationId"]] for m in in_range]
    return {
        "conversationCount": len({m["conversationId"] for m in in_range}),
        "messageCount": len(in_range),
        "toolCalls": sum(tool_count(m) for m in in_range),
        "inputTokens": sum(u[0] for u in usages),
        "outputTokens": sum(u[1] for u in usages),
        "totalTokens": sum(u[2] for u in usages),
        "uniqueUsers": len({c["userId"] for c in owners}),
        "uniqueAgents": len({c["agentId"] for c in owners}),
        "totalFeedback": len(fb),
        "totalHelpful": sum(f["helpful"] for f in fb),
        "totalNotHelpful": sum(not f["helpful"] for f in fb),
        "kbFileCount": len(files),
        "kbCount": len({f["knowledgeBaseId"] for f in files}),
        "kbExtractInputTokens": sum(e[0] for e in extractions),
        "kbExtractOutputTokens": sum(e[1] for e in extractions),
        "kbExtractTotalTokens": sum(e[2] for e in extractions),
    }


# --- the queries -------------------------------------------------------------------------

WHOLE = ("2024-08-01", "2024-08-08")
RANGES = [
    WHOLE,
    ("2024-08-02", "2024-08-03"),
    ("2024-08-03T06:00:00Z", "2024-08-04T18:30:00.5Z"),
    ("2024-08-02T12:00:00+02:00", "2024-08-05T09:00:00-05:00"),
]
QUERIES = [
    # (caller, role, org, extra params)
    ("user_ref_ann", "org:admin", ACME, {"allInOrg": "true"}),
    ("user_ref_ann", "org:admin", ACME, {}),
    ("user_ref_ann", "org:admin", ACME, {"allInOrg": "true", "userId": "user_ref_bob"}),
    ("user_ref_ann", "org:admin", ACME, {"allInOrg": "true", "agentId": "1002"}),
    ("user_ref_ann", "org:admin", ACME, {"allInOrg": "true", "agentId": "1004"}),
    ("user_ref_ann", "org:admin", ACME, {"allInOrg": "true", "metadataValue": "3"}),
    (
        "user_ref_ann",
        "org:admin",
        ACME,
        {"allInOrg": "true", "metadataKey": "level", "metadataValue": "3.0"},
    ),
    ("user_ref_ann", "org:admin", ACME, {"allInOrg": "true", "metadataKey": "team"}),
    ("user_ref_ann", "org:admin", ACME, {"allInOrg": "true", "metadataValue": "edge"}),
    ("user_ref_ann", "org:admin", ACME, {"allInOrg": "true", "metadataValue": "true"}),
    ("user_ref_ann", "org:admin", ACME, {"allInOrg": "true", "metadataValue": "beta"}),
    (
        "user_ref_ann",
        "org:admin",
        ACME,
        {"allInOrg": "true", "metadataKey": "tags", "metadataValue": "7"},
    ),
    (
        "user_ref_ann",
        "org:admin",
        ACME,
        {"allInOrg": "true", "agentId": "1001", "metadataKey": "tags"},
    ),
    ("user_ref_bob", "org:member", ACME, {}),
    ("user_ref_cy", "org:member", ACME, {"agentId": "1003"}),
    ("user_ref_cy", "org:member", ACME, {"metadataKey": "team"}),
    ("user_ref_di", "org:member", ACME, {}),
    ("user_ref_ann", "org:member", GLOBEX, {}),
    ("user_ref_ann", "org:member", GLOBEX, {"metadataValue": "beta"}),
    ("user_ref_eve", "org:admin", GLOBEX, {"allInOrg": "true"}),
    ("user_ref_eve", "org:admin", GLOBEX, {"allInOrg": "true", "metadataValue": "3"}),
]


def bound(text: str, end: bool) -> datetime:
    if len(text) == 10:  # a date alone
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return day + timedelta(days=1, microseconds=-1) if end else day
    return at(text)


def test_records_are_varied():
    """The generated data exercises the rules it is meant to (guards the seed)."""
    messages = [r for r in RECORDS if r["type"] == "message"]
    assert len(messages) > 40
    assert any(m.get("toolInvocations") == [] and m.get("parts") for m in messages)
    assert any("promptTokens" in (m.get("usage") or {}) for m in messages)
    assert any(f["processedAt"] is None for f in RECORDS if f["type"] == "knowledgeBaseFile")


@pytest.fixture
def loaded(load):
    load(RECORDS)


@pytest.mark.parametrize(("caller", "role", "org", "extra"), QUERIES)
def test_endpoint_agrees_with_the_reference_model(loaded, bearer, stats, caller, role, org, extra):
    auth = bearer(user_id=caller, org_id=org, role=role)
    all_in_org = extra.get("allInOrg") == "true"
    users = ({extra["userId"]} if "userId" in extra else None) if all_in_org else {caller}
    agent_id = int(extra["agentId"]) if "agentId" in extra else None
    mismatches = {}
    for start, end in RANGES:
        expected = reference_stats(
            org=org,
            start=bound(start, end=False),
            end=bound(end, end=True),
            users=users,
            agent_id=agent_id,
            key=extra.get("metadataKey"),
            value=extra.get("metadataValue"),
        )
        assert set(expected) == set(FIELDS)
        got = stats(auth, {"from": start, "to": end, **extra})
        if got != expected:
            mismatches[(start, end)] = {
                k: (got[k], expected[k]) for k in FIELDS if got[k] != expected[k]
            }
    assert not mismatches, f"(got, expected) per range: {mismatches}"
