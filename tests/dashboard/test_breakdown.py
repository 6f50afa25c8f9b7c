"""groupBy=agent|user|metadata: rows, labels, ordering, limit, truncated, others, and that
rows plus others add up to the totals.

June 2024 in org_dash_bd (every figure below is written out from this table):

| message | conversation (owner, agent) | createdAt            | in   | out | tools |
|---------|-----------------------------|----------------------|------|-----|-------|
| a1      | A1 (ann, 2)                 | 06-01T00:00:00Z      | 1    | 10  | 1     |
| a2      | A1 (ann, 2)                 | 06-10                | 2    | 20  | 0     |
| a3      | A1 (ann, 2)                 | 06-30T23:59:59.999999| 4    | 30  | 2     |
| a4      | A2 (ann, 10)                | 06-15T12:00          | 8    | 40  | 0     |
| b1      | B1 (bob, 10)                | 06-05                | 16   | 50  | 1     |
| b2      | B1 (bob, 10)                | 06-06                | 32   | 60  | 0     |
| d1      | D1 (dan, 7)                 | 06-20                | 128  | 80  | 3     |
| c0      | C1 (cat, 2)                 | 05-31T23:59:59.999999| out of range   |
| a0, e1  | A1, E1 (eve, 2)             | 05-15, 07-01         | out of range   |

Feedback in June: f1 on a1 (helpful), f2 on b1 (not helpful), f3 on c0 by cat (helpful: the
message is from May, the feedback counts at its own time), f4 by ann on bob's b2 (helpful:
counted for the conversation's owner bob and agent 10). Out of range: f5, f6. Another
organization's data (ann is a member there too, with other metadata) never counts.
"""

import json

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
from tests.dashboard.conftest import (
    ADDITIVE_CONVERSATION,
    CONVERSATION_FIELDS,
    assert_adds_up,
    assert_error,
)

pytestmark = pytest.mark.django_db

ORG, OTHER = "org_dash_bd", "org_dash_bd_other"
ANN, BOB, CAT, DAN, EVE = (f"user_bd_{n}" for n in ("ann", "bob", "cat", "dan", "eve"))
JUNE = {"from": "2024-06-01", "to": "2024-06-30"}
ALL = {**JUNE, "allInOrg": "true"}


def tools(n: int) -> list[dict]:
    return [{"toolCallId": f"t{i}", "toolName": "x", "state": "result"} for i in range(n)]


def raw_membership(user_id: str, metadata_text: str) -> str:
    """A member's NDJSON line with publicMetadata written verbatim (number literals kept)."""
    head = json.dumps({"type": "membership", "organizationId": ORG, "userId": user_id})
    return head[:-1] + ', "publicMetadata": ' + metadata_text + "}"


def records_as_lines() -> list[str]:
    def line(record: dict) -> str:
        return json.dumps(record, ensure_ascii=False)

    lines = [
        line(organization(ORG)),
        line(organization(OTHER)),
        line(user(ANN, firstName="Ann", lastName="Lee")),
        line(user(BOB)),
        # No email and no name: label null.
        line({"type": "user", "id": CAT}),
        line({"type": "user", "id": DAN, "email": "dan@example.test", "firstName": "Dan"}),
        line(user(EVE)),
        line(
            membership(
                ORG,
                ANN,
                role="org:admin",
                metadata={
                    "team": "red",
                    "level": 3,
                    "flag": True,
                    "tags": ["b", "a"],
                    "a.b": "dotted",
                },
            )
        ),
        line(
            membership(
                ORG, BOB, metadata={"team": "blue", "level": 3.0, "flag": False, "tags": ["a", "b"]}
            )
        ),
        # Written verbatim: the number literals 2.50 and 1e2 as they came.
        raw_membership(CAT, '{"team":"red","level":2.50,"tags":["ü"],"a":{"b":"nested"}}'),
        raw_membership(DAN, '{"team":null,"level":1e2,"flag":null,"tags":{"x":1,"a":[2,1]}}'),
        line(membership(ORG, EVE, metadata={"team": "green", "level": 5})),
        line(membership(OTHER, ANN, role="org:admin", metadata={"team": "green", "level": 9})),
        line(agent(2, ORG) | {"name": "Alpha"}),
        line(agent(10, ORG) | {"name": "Beta"}),
        # No name: label null.
        line({"type": "agent", "id": 7, "organizationId": ORG}),
        line(agent(99, OTHER)),
    ]
    convs = [
        ("A1", ANN, 2),
        ("A2", ANN, 10),
        ("B1", BOB, 10),
        ("C1", CAT, 2),
        ("D1", DAN, 7),
        ("E1", EVE, 2),
    ]
    lines += [line(conversation(c, ORG, u, a, "2024-05-01T00:00:00Z")) for c, u, a in convs]
    lines.append(line(conversation("X1", OTHER, ANN, 99, "2024-05-01T00:00:00Z")))
    msgs = [
        ("a1", "A1", "2024-06-01T00:00:00Z", 1, 10, 1),
        ("a2", "A1", "2024-06-10T00:00:00Z", 2, 20, 0),
        ("a3", "A1", "2024-06-30T23:59:59.999999Z", 4, 30, 2),
        ("a4", "A2", "2024-06-15T12:00:00Z", 8, 40, 0),
        ("b1", "B1", "2024-06-05T00:00:00Z", 16, 50, 1),
        ("b2", "B1", "2024-06-06T00:00:00Z", 32, 60, 0),
        ("c0", "C1", "2024-05-31T23:59:59.999999Z", 64, 70, 1),
        ("d1", "D1", "2024-06-20T00:00:00Z", 128, 80, 3),
        ("e1", "E1", "2024-07-01T00:00:00Z", 256, 90, 1),
        ("a0", "A1", "2024-05-15T00:00:00Z", 512, 100, 1),
        ("x1", "X1", "2024-06-10T00:00:00Z", 1024, 110, 1),
    ]
    for mid, conv, at, inp, out, n in msgs:
        usage = {"inputTokens": inp, "outputTokens": out}
        lines.append(line(message(mid, conv, at, usage=usage, toolInvocations=tools(n))))
    fbs = [
        ("f1", "a1", ANN, True, "2024-06-02T00:00:00Z"),
        ("f2", "b1", BOB, False, "2024-06-07T00:00:00Z"),
        ("f3", "c0", CAT, True, "2024-06-03T00:00:00Z"),
        ("f4", "b2", ANN, True, "2024-06-08T00:00:00Z"),
        ("f5", "a2", ANN, True, "2024-07-01T00:00:00Z"),
        ("f6", "e1", EVE, False, "2024-05-31T23:59:59.999999Z"),
        ("fx", "x1", ANN, True, "2024-06-11T00:00:00Z"),
    ]
    for fid, mid, uid, helpful, at in fbs:
        lines.append(line(feedback(fid, mid, uid, helpful=helpful, created_at=at)))
    lines.append(line(knowledge_base("kb-bd", ORG)))
    lines.append(
        line(
            knowledge_base_file(
                "kbf-bd",
                "kb-bd",
                processed_at="2024-06-15T00:00:00Z",
                extraction={"inputTokens": 100, "outputTokens": 5},
            )
        )
    )
    return lines


@pytest.fixture
def org_data(load_lines):
    load_lines(records_as_lines())


@pytest.fixture
def ann(org_data, bearer):
    return bearer(user_id=ANN, org_id=ORG, role="org:admin")


@pytest.fixture
def bob(org_data, bearer):
    return bearer(user_id=BOB, org_id=ORG, role="org:member")


def conv(
    conversationCount=0,  # noqa: N803 (the API's field names)
    messageCount=0,  # noqa: N803
    toolCalls=0,  # noqa: N803
    inputTokens=0,  # noqa: N803
    outputTokens=0,  # noqa: N803
    uniqueUsers=0,  # noqa: N803
    uniqueAgents=0,  # noqa: N803
    totalHelpful=0,  # noqa: N803
    totalNotHelpful=0,  # noqa: N803
) -> dict:
    """The 11 conversation fields; totalTokens and totalFeedback follow from their parts."""
    return {
        "conversationCount": conversationCount,
        "messageCount": messageCount,
        "toolCalls": toolCalls,
        "totalTokens": inputTokens + outputTokens,
        "inputTokens": inputTokens,
        "outputTokens": outputTokens,
        "uniqueUsers": uniqueUsers,
        "uniqueAgents": uniqueAgents,
        "totalFeedback": totalHelpful + totalNotHelpful,
        "totalHelpful": totalHelpful,
        "totalNotHelpful": totalNotHelpful,
    }


NOTHING = conv()

# The totals of June, allInOrg (7 messages, conversations A1 A2 B1 D1, users ann bob dan,
# agents 2 10 7, feedback f1..f4).
TOTALS = {
    **conv(4, 7, 7, 191, 290, 3, 3, totalHelpful=3, totalNotHelpful=1),
    "kbFileCount": 1,
    "kbCount": 1,
    "kbExtractTotalTokens": 105,
    "kbExtractInputTokens": 100,
    "kbExtractOutputTokens": 5,
}

# Per user (conversation owner).
ANN_FIGS = conv(2, 4, 3, 15, 100, 1, 2, totalHelpful=1)  # a1..a4, f1
BOB_FIGS = conv(1, 2, 1, 48, 110, 1, 1, totalHelpful=1, totalNotHelpful=1)  # b1 b2, f2 f4
DAN_FIGS = conv(1, 1, 3, 128, 80, 1, 1)  # d1
CAT_FIGS = conv(totalHelpful=1)  # f3 only

# Per agent.
AGENT_2 = conv(1, 3, 3, 7, 60, 1, 1, totalHelpful=2)  # a1 a2 a3, f1 f3
AGENT_10 = conv(2, 3, 1, 56, 150, 2, 1, totalHelpful=1, totalNotHelpful=1)  # a4 b1 b2, f2 f4
AGENT_7 = DAN_FIGS


def row(key, label, figs: dict) -> dict:
    return {"key": key, "label": label, **figs}


USER_ROWS = [
    row(ANN, "Ann Lee", ANN_FIGS),
    row(BOB, f"{BOB}@example.test", BOB_FIGS),
    row(DAN, "Dan", DAN_FIGS),
    row(CAT, None, CAT_FIGS),
]
# Agents 2 and 10 tie at 3 messages: key ascending as integers (2 before 10).
AGENT_ROWS = [row(2, "Alpha", AGENT_2), row(10, "Beta", AGENT_10), row(7, None, AGENT_7)]


def assert_breakdown_adds_up(body, distinct: str | None) -> None:
    breakdown = body["breakdown"]
    parts = [*breakdown["rows"], breakdown["others"]]
    fields = (*ADDITIVE_CONVERSATION, "conversationCount") + ((distinct,) if distinct else ())
    assert_adds_up(parts, body, fields)


def test_totals(ann, report):
    body = report(ann, {**ALL, "groupBy": "agent"})
    assert {k: body[k] for k in TOTALS} == TOTALS


def test_group_by_user(ann, report):
    body = report(ann, {**ALL, "groupBy": "user"})
    assert body["breakdown"] == {
        "by": "user",
        "rows": USER_ROWS,
        "others": NOTHING,
        "truncated": False,
    }
    assert_breakdown_adds_up(body, "uniqueUsers")


def test_group_by_agent(ann, report):
    body = report(ann, {**ALL, "groupBy": "agent"})
    assert body["breakdown"] == {
        "by": "agent",
        "rows": AGENT_ROWS,
        "others": NOTHING,
        "truncated": False,
    }
    assert_breakdown_adds_up(body, "uniqueAgents")
    # uniqueUsers does not add up over agents (ann talks to 2 and 10): 1 + 2 + 1 > 3.
    assert sum(r["uniqueUsers"] for r in body["breakdown"]["rows"]) == 4 != body["uniqueUsers"]


@pytest.mark.parametrize(
    ("limit", "rows", "others", "truncated"),
    [
        ("1", USER_ROWS[:1], conv(2, 3, 4, 176, 190, 2, 2, 2, 1), True),  # bob dan cat
        ("2", USER_ROWS[:2], conv(1, 1, 3, 128, 80, 1, 1, totalHelpful=1), True),  # dan cat
        # Cat has no message but is listed (feedback), so a limit of 3 truncates.
        ("3", USER_ROWS[:3], CAT_FIGS, True),
        ("4", USER_ROWS, NOTHING, False),
        ("100", USER_ROWS, NOTHING, False),
    ],
)
def test_user_limit_and_others(ann, report, limit, rows, others, truncated):
    body = report(ann, {**ALL, "groupBy": "user", "limit": limit})
    assert body["breakdown"] == {
        "by": "user",
        "rows": rows,
        "others": others,
        "truncated": truncated,
    }
    assert_breakdown_adds_up(body, "uniqueUsers")


@pytest.mark.parametrize(
    ("limit", "rows", "others", "truncated"),
    [
        # Hidden agents 10 and 7: a4 b1 b2 d1 by ann, bob, dan; f2 f4.
        ("1", AGENT_ROWS[:1], conv(3, 4, 4, 184, 230, 3, 2, 1, 1), True),
        ("2", AGENT_ROWS[:2], AGENT_7, True),
        ("3", AGENT_ROWS, NOTHING, False),
    ],
)
def test_agent_limit_and_others(ann, report, limit, rows, others, truncated):
    body = report(ann, {**ALL, "groupBy": "agent", "limit": limit})
    assert body["breakdown"] == {
        "by": "agent",
        "rows": rows,
        "others": others,
        "truncated": truncated,
    }
    assert_breakdown_adds_up(body, "uniqueAgents")


def test_default_limit_is_ten(load, bearer, report):
    """Twelve users with 12, 11, ..., 1 messages: ten rows, the last two in others."""
    from tests.contract.activity import org_with_members

    org = "org_dash_bd_many"
    users = [f"user_bd_many_{n:02d}" for n in range(12)]
    records = org_with_members(org, {u: {"role": "org:admin"} for u in users}, agents=[31])
    for n, uid in enumerate(users):
        records.append(conversation(f"conv-many-{n}", org, uid, 31, "2024-06-01T00:00:00Z"))
        for k in range(12 - n):
            records.append(message(f"m-many-{n}-{k}", f"conv-many-{n}", "2024-06-02T00:00:00Z"))
    load(records)
    body = report(
        bearer(user_id=users[0], org_id=org, role="org:admin"), {**ALL, "groupBy": "user"}
    )
    breakdown = body["breakdown"]
    assert [r["key"] for r in breakdown["rows"]] == users[:10]
    assert [r["messageCount"] for r in breakdown["rows"]] == [12, 11, 10, 9, 8, 7, 6, 5, 4, 3]
    assert breakdown["truncated"] is True
    assert breakdown["others"] == conv(2, 3, uniqueUsers=2, uniqueAgents=1)
    assert_breakdown_adds_up(body, "uniqueUsers")


def test_ties_order_by_key(load, bearer, report):
    """Equal messageCount: key ascending; user ids as strings, agent ids as integers."""
    from tests.contract.activity import org_with_members

    org = "org_dash_bd_ties"
    users = ["user_b", "user_a", "user_c"]
    records = org_with_members(org, {u: {"role": "org:admin"} for u in users}, agents=[9, 10, 100])
    for n, (uid, agent_id) in enumerate(zip(users, [100, 9, 10], strict=True)):
        records.append(conversation(f"conv-tie-{n}", org, uid, agent_id, "2024-06-01T00:00:00Z"))
        records.append(message(f"m-tie-{n}", f"conv-tie-{n}", "2024-06-02T00:00:00Z"))
    load(records)
    auth = bearer(user_id="user_a", org_id=org, role="org:admin")
    by_user = report(auth, {**ALL, "groupBy": "user"})["breakdown"]
    assert [r["key"] for r in by_user["rows"]] == ["user_a", "user_b", "user_c"]
    by_agent = report(auth, {**ALL, "groupBy": "agent"})["breakdown"]
    assert [r["key"] for r in by_agent["rows"]] == [9, 10, 100]


# --- metadata ------------------------------------------------------------------------------

RED = conv(2, 4, 3, 15, 100, 1, 2, totalHelpful=2)  # ann + cat: a1..a4, f1 f3
LEVEL_3 = conv(3, 6, 4, 63, 210, 2, 2, totalHelpful=2, totalNotHelpful=1)  # ann + bob
DAN_AND_CAT = conv(1, 1, 3, 128, 80, 1, 1, totalHelpful=1)  # d1, f3
NOT_DOTTED = conv(2, 3, 4, 176, 190, 2, 2, totalHelpful=2, totalNotHelpful=1)  # bob cat dan

METADATA = {
    # groupKey: rows as (key, figures); label is the key, "(not set)" for null.
    "team": [("red", RED), ("blue", BOB_FIGS), (None, DAN_FIGS)],
    # 3 and 3.0 are one group "3"; 1e2 is "100"; 2.50 is "2.5".
    "level": [("3", LEVEL_3), ("100", DAN_FIGS), ("2.5", CAT_FIGS)],
    "flag": [("true", ANN_FIGS), ("false", BOB_FIGS), (None, DAN_AND_CAT)],
    # Arrays and objects: compact JSON, object keys sorted, non-ASCII kept.
    "tags": [
        ('["b","a"]', ANN_FIGS),
        ('["a","b"]', BOB_FIGS),
        ('{"a":[2,1],"x":1}', DAN_FIGS),
        ('["ü"]', CAT_FIGS),
    ],
    # A key with a dot is one key, never a path (cat's {"a": {"b": ...}} is not it).
    "a.b": [("dotted", ANN_FIGS), (None, NOT_DOTTED)],
    "absent": [(None, conv(4, 7, 7, 191, 290, 3, 3, totalHelpful=3, totalNotHelpful=1))],
}


@pytest.mark.parametrize("group_key", list(METADATA))
def test_group_by_metadata(ann, report, group_key):
    body = report(ann, {**ALL, "groupBy": "metadata", "groupKey": group_key})
    rows = [row(k, "(not set)" if k is None else k, figs) for k, figs in METADATA[group_key]]
    assert body["breakdown"] == {
        "by": "metadata",
        "groupKey": group_key,
        "rows": rows,
        "others": NOTHING,
        "truncated": False,
    }
    assert_breakdown_adds_up(body, "uniqueUsers")


def test_metadata_limit_others_has_exact_distinct_users(ann, report):
    body = report(ann, {**ALL, "groupBy": "metadata", "groupKey": "level", "limit": "1"})
    assert body["breakdown"]["rows"] == [row("3", "3", LEVEL_3)]
    # Hidden: "100" (dan: d1) and "2.5" (cat: f3).
    assert body["breakdown"]["others"] == DAN_AND_CAT
    assert body["breakdown"]["truncated"] is True
    assert_breakdown_adds_up(body, "uniqueUsers")


# --- scope ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "rows"),
    [
        ({"groupBy": "user"}, [row(BOB, f"{BOB}@example.test", BOB_FIGS)]),
        ({"groupBy": "agent"}, [row(10, "Beta", BOB_FIGS)]),
        ({"groupBy": "metadata", "groupKey": "team"}, [row("blue", "blue", BOB_FIGS)]),
        ({"groupBy": "user", "userId": BOB}, [row(BOB, f"{BOB}@example.test", BOB_FIGS)]),
    ],
)
def test_member_breaks_down_only_their_own_data(bob, report, params, rows):
    body = report(bob, {**JUNE, **params})
    assert body["breakdown"]["rows"] == rows
    assert body["breakdown"]["others"] == NOTHING
    assert body["breakdown"]["truncated"] is False


def test_member_cannot_break_down_the_organization(bob, get_stats):
    assert_error(get_stats(bob, {**ALL, "groupBy": "user"}), 403)
    assert_error(get_stats(bob, {**JUNE, "userId": ANN, "groupBy": "user"}), 403)


def test_admin_without_all_in_org_sees_own_data(ann, report):
    body = report(ann, {**JUNE, "groupBy": "agent"})
    assert body["breakdown"]["rows"] == [
        row(2, "Alpha", conv(1, 3, 3, 7, 60, 1, 1, totalHelpful=1)),  # a1..a3, f1
        row(10, "Beta", conv(1, 1, 0, 8, 40, 1, 1)),  # a4
    ]


@pytest.mark.parametrize(
    ("params", "rows"),
    [
        (
            {"agentId": "10", "groupBy": "user"},
            [
                row(BOB, f"{BOB}@example.test", BOB_FIGS),
                row(ANN, "Ann Lee", conv(1, 1, 0, 8, 40, 1, 1)),
            ],
        ),
        ({"userId": BOB, "groupBy": "agent"}, [row(10, "Beta", BOB_FIGS)]),
        (
            {"metadataKey": "team", "metadataValue": "red", "groupBy": "agent"},
            [row(2, "Alpha", AGENT_2), row(10, "Beta", conv(1, 1, 0, 8, 40, 1, 1))],
        ),
    ],
)
def test_filters_narrow_the_breakdown(ann, report, params, rows):
    body = report(ann, {**ALL, **params})
    assert body["breakdown"]["rows"] == rows
    assert_breakdown_adds_up(body, None)


def test_breakdown_with_series_and_compare(ann, report):
    """Other options do not change the breakdown; compare covers the totals only."""
    params = {**ALL, "groupBy": "agent", "interval": "month", "compare": "previous"}
    body = report(ann, params)  # checks no previous/change inside rows or buckets
    assert body["breakdown"]["rows"] == AGENT_ROWS
    assert len(body["series"]) == 1
    assert all(set(r) == {"key", "label", *CONVERSATION_FIELDS} for r in body["breakdown"]["rows"])


# --- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["Agent", "users", "team", "metadata ", "org", "0"])
def test_unknown_group_by_is_400(ann, get_stats, bad):
    body = assert_error(get_stats(ann, {**ALL, "groupBy": bad}), 400)
    assert (body["code"], body.get("parameter")) == ("invalid_parameter", "groupBy"), body


@pytest.mark.parametrize("extra", [{}, {"groupBy": "agent"}, {"groupBy": "user"}])
def test_group_key_without_metadata_is_400(ann, get_stats, extra):
    body = assert_error(get_stats(ann, {**ALL, "groupKey": "team", **extra}), 400)
    assert (body["code"], body.get("parameter")) == ("invalid_parameter", "groupKey"), body


@pytest.mark.parametrize("bad", ["0", "-1", "101", "1000", "x", "1.5", "1e1", " 5", "+5"])
def test_bad_limit_is_400(ann, get_stats, bad):
    body = assert_error(get_stats(ann, {**ALL, "groupBy": "user", "limit": bad}), 400)
    assert (body["code"], body.get("parameter")) == ("invalid_parameter", "limit"), body


@pytest.mark.parametrize("bad", ["0", "101", "x"])
def test_bad_limit_is_400_without_group_by_too(ann, get_stats, bad):
    body = assert_error(get_stats(ann, {**ALL, "limit": bad}), 400)
    assert (body["code"], body.get("parameter")) == ("invalid_parameter", "limit"), body


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limit_without_group_by_is_ignored(ann, report, limit):
    # report() checks the body is exactly the 16 fields: limit alone adds nothing.
    body = report(ann, {**ALL, "limit": limit})
    assert {k: body[k] for k in TOTALS} == TOTALS
