"""The sixteen figures of STATS.md for one scope.

`stats_compute` answers from the pre-aggregates (stats.models) plus the raw rows at the
edges of the range; `stats_compute_raw` is the contract's definition over the raw tables
alone. Both give the same numbers, always (tests/stats/test_fast_path.py); the raw one is
the reference the fast one is tested and benchmarked against.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Sum, Value

from stats.metadata import MetadataFilter
from stats.metrics import METRIC_NAMES, METRICS, Distinct, Source, metrics_of
from stats.models import CELL_SUMS
from stats.ranges import RangePlan
from stats.scope import OrganizationData

# Agent ids are 64-bit; a larger integer names no agent (and must not reach the database).
_BIGINT_RANGE = range(-(2**63), 2**63)


@dataclass(frozen=True)
class StatsQuery:
    """What to count: the organization is always given; the rest narrows it."""

    organization_id: str
    start: datetime  # inclusive, aware
    end: datetime  # inclusive, aware
    user_id: str | None = None
    agent_id: int | None = None
    metadata_key: str | None = None
    metadata_value: str | None = None

    @property
    def metadata_filter(self) -> MetadataFilter | None:
        if self.metadata_key is None and self.metadata_value is None:
            return None
        return MetadataFilter(key=self.metadata_key, value=self.metadata_value)


def _conversation_scope(query: StatsQuery, data: OrganizationData) -> Q | None:
    """Filters on a row's conversation owner and agent; None when nothing can match.

    Every table filtered with it (messages, feedback, usage cells, conversation activity)
    names the conversation's owner and agent `owner_id` and `agent_id`.
    """
    condition = Q()
    if query.user_id is not None:
        if "\x00" in query.user_id:  # no stored id has one; PostgreSQL refuses the byte
            return None
        condition &= Q(owner_id=query.user_id)
    if query.agent_id is not None:
        if query.agent_id not in _BIGINT_RANGE:
            return None
        condition &= Q(agent_id=query.agent_id)
    if (metadata := query.metadata_filter) is not None:
        members = data.memberships().filter(public_metadata__matches_metadata=metadata)
        condition &= Q(owner_id__in=members.values("user_id"))
    return condition


def _knowledge_base_figures(query: StatsQuery, data: OrganizationData) -> dict[str, int]:
    files = data.knowledge_base_files().filter(
        processed_at__gte=query.start, processed_at__lte=query.end
    )
    return _ints(files.aggregate(**metrics_of(Source.KNOWLEDGE_BASE_FILES)))


def _ints(values: dict) -> dict[str, int]:
    # PostgreSQL sums bigint as numeric (Decimal); the contract answers integers.
    return {name: int(value or 0) for name, value in values.items()}


def _in_contract_order(figures: dict[str, int]) -> dict[str, int]:
    return {name: figures.get(name, 0) for name in METRIC_NAMES}


# --- The definition: raw tables only -------------------------------------------------------


def stats_compute_raw(*, query: StatsQuery) -> dict[str, int]:
    """All sixteen figures from the raw tables: one aggregate query per source table."""
    data = OrganizationData(query.organization_id)
    figures = _knowledge_base_figures(query, data)
    scope = _conversation_scope(query, data)
    if scope is not None:
        in_range = Q(created_at__gte=query.start, created_at__lte=query.end)
        messages = data.messages().filter(scope, in_range)
        feedback = data.feedback().filter(scope, in_range)
        figures |= _ints(messages.aggregate(**metrics_of(Source.MESSAGES)))
        figures |= _ints(feedback.aggregate(**metrics_of(Source.FEEDBACK)))
    return _in_contract_order(figures)


# --- The fast path: pre-aggregates inside, raw rows at the edges ---------------------------

_ZERO = Value(0, output_field=IntegerField())
_MESSAGE_CELL_SUMS = {
    "message_count": Count("pk"),
    "tool_calls": Sum("tool_call_count"),
    "input_tokens": Sum("input_tokens"),
    "output_tokens": Sum("output_tokens"),
    "total_tokens": Sum("total_tokens"),
}
_FEEDBACK_CELL_SUMS = {
    "feedback_count": Count("pk"),
    "helpful_count": Count("pk", filter=Q(helpful=True)),
    "not_helpful_count": Count("pk", filter=Q(helpful=False)),
}


def _as_cells(rows: QuerySet, sums: dict) -> QuerySet:
    """Rows grouped by (owner, agent) with every cell column, zero where `sums` has none."""
    columns = {name: sums.get(name, _ZERO) for name in CELL_SUMS}
    return rows.values("owner_id", "agent_id").annotate(**columns).order_by()


def _cell_parts(query: StatsQuery, data: OrganizationData, scope: Q) -> list[QuerySet]:
    plan = RangePlan.of(query.start, query.end)
    parts = []
    if (cells := plan.cells()) is not None:
        stored = data.usage_cells().filter(scope, cells)
        parts.append(_as_cells(stored, {name: Sum(name) for name in CELL_SUMS}))
    if (edges := plan.raw_rows("created_at")) is not None:
        parts.append(_as_cells(data.messages().filter(scope, edges), _MESSAGE_CELL_SUMS))
        parts.append(_as_cells(data.feedback().filter(scope, edges), _FEEDBACK_CELL_SUMS))
    return parts


def _conversation_count(query: StatsQuery, data: OrganizationData, scope: Q) -> int:
    """Conversations with a message in [start, end], from their first and last messages.

    One whose first or last message lies in the range counts; one that began before and
    ended after the range counts when it has a message inside, which an index probe on
    (conversation, created_at) answers.
    """
    start, end = query.start, query.end
    has_message_inside = Exists(
        data.messages().filter(
            conversation_id=OuterRef("conversation_id"), created_at__gte=start, created_at__lte=end
        )
    )
    overlapping = data.conversation_activity().filter(
        scope, first_message_at__lte=end, last_message_at__gte=start
    )
    return overlapping.filter(
        Q(first_message_at__gte=start) | Q(last_message_at__lte=end) | has_message_inside
    ).count()


def _cell_totals(parts: list[QuerySet]) -> dict:
    """Every cell column summed, and the distinct owners and agents that sent messages.

    The ORM cannot aggregate over a UNION, so the compiled union is wrapped in one outer
    SELECT here: the totals come back as one row instead of a row per owner and agent
    (thousands in a large organization, which cost more to ship and sum in Python than
    the whole query). The wrapper is constant text; every value is a parameter of the
    compiled parts.
    """
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    inner_sql, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    sums = ", ".join(f"SUM({quote(name)})" for name in CELL_SUMS)
    sent = f"CASE WHEN {quote('message_count')} > 0 THEN {{}} END"
    owners = sent.format(quote("owner_id"))
    agents = sent.format(quote("agent_id"))
    sql = (
        f"SELECT {sums}, COUNT(DISTINCT {owners}), COUNT(DISTINCT {agents}) "  # noqa: S608
        f"FROM ({inner_sql}) AS cells"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        values = cursor.fetchone()
    names = [*CELL_SUMS, Distinct.OWNERS, Distinct.AGENTS]
    return {name: int(value or 0) for name, value in zip(names, values, strict=True)}


def stats_compute(*, query: StatsQuery) -> dict[str, int]:
    """All sixteen figures, in the contract's order, as ints; equal to stats_compute_raw."""
    data = OrganizationData(query.organization_id)
    figures = _knowledge_base_figures(query, data)
    scope = _conversation_scope(query, data)
    if scope is None:
        return _in_contract_order(figures)
    totals = _cell_totals(_cell_parts(query, data, scope))
    for metric in METRICS:
        if metric.cell_column is not None:
            figures[metric.name] = totals[metric.cell_column]
        elif metric.distinct in totals:
            figures[metric.name] = totals[metric.distinct]
    if totals["message_count"]:
        figures["conversationCount"] = _conversation_count(query, data, scope)
    return _in_contract_order(figures)
