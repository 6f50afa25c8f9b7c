"""The conversation figures per agent, user or metadata value (issue 7's `groupBy`).

Every group is a set of (owner, agent) pairs: a conversation has one owner and one agent,
and a user falls in exactly one metadata group. So both paths first compute the figures of
each pair in the range, with the conversations counted per pair, and `fold` adds pairs up
into groups, the shown rows and `others` alike; the sums and conversationCount add up to
the totals by construction, and uniqueUsers / uniqueAgents are recounted from the pairs of
each group.
"""

import json
import math
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q

from asteragents.models import User
from stats.cells import (
    figures_of,
    grouped_totals,
)
from stats.metrics import METRICS, Distinct, Source, metrics_of
from stats.models import SPAN_CLASS_HOURS, STARTED
from stats.ranges import RangePlan
from stats.scope import OrganizationData
from stats.selectors import SPAN_MARGIN, StatsQuery, _conversation_scope, cell_parts

GROUP_BY = ("agent", "user", "metadata")
# The figures a breakdown row has: everything but the organization-wide knowledge-base ones.
CONVERSATION_FIELDS = tuple(
    metric.name for metric in METRICS if metric.source is not Source.KNOWLEDGE_BASE_FILES
)
# uniqueUsers and uniqueAgents are recounted from a group's pairs; the rest are summed
# (conversationCount too: each conversation belongs to exactly one pair).
_RECOUNTED = {
    metric.name: metric.distinct
    for metric in METRICS
    if metric.distinct in (Distinct.OWNERS, Distinct.AGENTS)
}
_SUMMED = tuple(name for name in CONVERSATION_FIELDS if name not in _RECOUNTED)
NOT_SET_LABEL = "(not set)"

Pair = tuple[str, int]  # owner id, agent id


@dataclass(frozen=True)
class BreakdownRequest:
    by: str  # one of GROUP_BY
    limit: int
    group_key: str | None = None  # the metadata key, for by="metadata"


# --- Figures per (owner, agent) pair ---------------------------------------------------------


def _pairs_raw(query: StatsQuery, data: OrganizationData, scope: Q) -> dict[Pair, dict]:
    in_range = Q(created_at__gte=query.start, created_at__lte=query.end)
    pairs: dict[Pair, dict] = defaultdict(dict)
    for source, rows in ((Source.MESSAGES, data.messages()), (Source.FEEDBACK, data.feedback())):
        grouped = rows.filter(scope, in_range).values("owner_id", "agent_id")
        for row in grouped.annotate(**metrics_of(source)).order_by():
            pair = (row.pop("owner_id"), row.pop("agent_id"))
            pairs[pair] |= {name: int(value or 0) for name, value in row.items()}
    return pairs


def _pairs_fast(query: StatsQuery, data: OrganizationData, scope: Q) -> dict[Pair, dict]:
    """The cells of the whole hours and days plus the raw edges, by pair; a pair's
    conversations are those begun in the range plus those running at `from`."""
    plan = RangePlan.of(query.start, query.end)
    parts = cell_parts(query, data, scope, plan, by_pair=True)
    pairs: dict[Pair, dict] = {}
    for row in grouped_totals(parts, ("owner_id", "agent_id")):
        pairs[(row["owner_id"], row["agent_id"])] = figures_of(row) | {
            "conversationCount": row[STARTED]
        }
    for pair in _running_at_start(query, data, scope):
        pairs[pair]["conversationCount"] += 1
    return pairs


def _running_at_start(query, data, scope) -> list[Pair]:
    """(owner, agent) of each conversation begun before `from` with a message in range.

    A conversation of span class k (stats.models.SPAN_CLASS_HOURS) began at most that many
    hours before `from`, so one short index range per class finds those running at
    `from`; those that end after `to` count when a probe finds a message inside.
    """
    start, end = query.start, query.end
    has_message_inside = Exists(
        data.messages().filter(
            conversation_id=OuterRef("conversation_id"), created_at__gte=start, created_at__lte=end
        )
    )
    running = data.conversation_activity().filter(
        scope, first_message_at__lt=start, last_message_at__gte=start
    )
    per_class = []
    for span_class in range(len(SPAN_CLASS_HOURS) + 1):
        window = Q(span_class=span_class)
        if span_class < len(SPAN_CLASS_HOURS):
            with suppress(OverflowError):  # before the first instant: no bound
                hours = timedelta(hours=SPAN_CLASS_HOURS[span_class])
                window &= Q(first_message_at__gte=start - hours - SPAN_MARGIN)
        per_class.append(
            running.filter(window)
            .filter(Q(last_message_at__lte=end) | has_message_inside)
            .values_list("owner_id", "agent_id")
            .order_by()
        )
    return list(per_class[0].union(*per_class[1:], all=True))


# --- Pairs into groups -------------------------------------------------------------------------


def fold(pairs: dict[Pair, dict]) -> dict[str, int]:
    """The conversation figures of a set of pairs."""
    figures = {name: sum(values.get(name, 0) for values in pairs.values()) for name in _SUMMED}
    senders = [pair for pair, values in pairs.items() if values.get("messageCount", 0) > 0]
    distinct = {
        Distinct.OWNERS: {owner for owner, _ in senders},
        Distinct.AGENTS: {agent for _, agent in senders},
    }
    for name, what in _RECOUNTED.items():
        figures[name] = len(distinct[what])
    return {name: figures[name] for name in CONVERSATION_FIELDS}


def metadata_group(metadata, key: str) -> str | None:
    """The group a membership's metadata puts its user in, for `groupKey=key`.

    The group's name is the text a metadataValue filter would use for the value: strings
    as they are, numbers as exact decimals (3, 3.0 and 3.00 are one group, "3"), booleans
    as true/false; arrays and objects as their compact JSON text. No value (or null): None.
    """
    if not isinstance(metadata, dict) or metadata.get(key) is None:
        return None
    value = metadata[key]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        exact = Decimal(repr(value))
        if exact == exact.to_integral_value():
            return str(int(exact))
        return format(exact.normalize(), "f")
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _group_keys(request, query, data, pairs) -> dict[Pair, object]:
    if request.by == "agent":
        return {pair: pair[1] for pair in pairs}
    if request.by == "user":
        return {pair: pair[0] for pair in pairs}
    owners = {owner for owner, _ in pairs}
    metadata = dict(
        data.memberships().filter(user_id__in=owners).values_list("user_id", "public_metadata")
    )
    return {pair: metadata_group(metadata.get(pair[0]), request.group_key) for pair in pairs}


def _labels(request, data, keys) -> dict:
    if request.by == "agent":
        names = dict(data.agents().filter(id__in=keys).values_list("id", "name"))
        return {key: names.get(key) or None for key in keys}
    if request.by == "user":
        users = User.objects.filter(id__in=keys).only("email", "first_name", "last_name")
        return {
            user.id: f"{user.first_name} {user.last_name}".strip() or user.email or None
            for user in users
        }
    return {key: NOT_SET_LABEL if key is None else key for key in keys}


def _sort_key(row: dict):
    # Most messages first; ties by key, ascending, the "not set" group last.
    return (-row["messageCount"], row["key"] is None, row["key"] if row["key"] is not None else "")


def breakdown(*, query: StatsQuery, request: BreakdownRequest, fast: bool = True) -> dict:
    data = OrganizationData(query.organization_id)
    scope = _conversation_scope(query, data)
    pairs = {}
    if scope is not None:
        pairs = (_pairs_fast if fast else _pairs_raw)(query, data, scope)
    keys = _group_keys(request, query, data, pairs)
    groups: dict[object, dict[Pair, dict]] = defaultdict(dict)
    for pair, values in pairs.items():
        groups[keys[pair]][pair] = values
    listed = []
    for key, members in groups.items():
        figures = fold(members)
        if any(figures.values()):
            listed.append({"key": key, **figures})
    listed.sort(key=_sort_key)
    shown, hidden = listed[: request.limit], listed[request.limit :]
    labels = _labels(request, data, [row["key"] for row in shown])
    rows = [
        {
            "key": row["key"],
            "label": labels.get(row["key"]),
            **{name: row[name] for name in CONVERSATION_FIELDS},
        }
        for row in shown
    ]
    hidden_pairs = {pair: values for row in hidden for pair, values in groups[row["key"]].items()}
    answer = {"by": request.by}
    if request.by == "metadata":
        answer["groupKey"] = request.group_key
    return answer | {"rows": rows, "others": fold(hidden_pairs), "truncated": bool(hidden)}
