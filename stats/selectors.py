"""The sixteen figures of STATS.md for one scope.

`stats_compute` answers from the pre-aggregates (stats.models) plus the raw rows at the
edges of the range; `stats_compute_raw` is the contract's definition over the raw tables
alone. Both give the same numbers, always (tests/stats/test_fast_path.py); the raw one is
the reference the fast one is tested and benchmarked against.
"""

from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL

from stats.cells import (
    AGENTS,
    FEEDBACK_CELL_SUMS,
    MESSAGE_CELL_SUMS,
    OWNERS,
    STARTS_CELL_SUMS,
    STORED_CELL_SUMS,
    as_cells,
    grouped_totals,
)
from stats.metadata import MetadataFilter
from stats.metrics import METRIC_NAMES, METRICS, Distinct, Source, metrics_of
from stats.models import (
    SPAN_CLASS_HOURS,
    STARTED,
    AgentActivity,
    OwnerActivity,
)
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


def cell_parts(
    query: StatsQuery, data: OrganizationData, scope: Q, plan: RangePlan, *, by_pair: bool
) -> list[QuerySet]:
    """The whole buckets' cells and the raw edges (with the conversations begun there), as
    rows of cell columns: per owner and agent with `by_pair`, else per organization, from
    the organization cells (no owner or agent), which only an unnarrowed scope may read."""
    group_by = () if by_pair else ("organization_id",)
    parts = []
    if (cells := plan.cells()) is not None:
        if by_pair:
            stored = data.usage_cells().filter(scope, cells)
        else:
            stored = data.organization_cells().filter(cells)
        parts.append(as_cells(stored, STORED_CELL_SUMS, *group_by, pairs=by_pair))
    if (edges := plan.raw_rows("created_at")) is not None:
        starts = data.conversation_activity().filter(scope, plan.raw_rows("first_message_at"))
        for rows, sums in (
            (data.messages().filter(scope, edges), MESSAGE_CELL_SUMS),
            (data.feedback().filter(scope, edges), FEEDBACK_CELL_SUMS),
            (starts, STARTS_CELL_SUMS),
        ):
            parts.append(as_cells(rows, sums, *group_by, pairs=by_pair))
    return parts


def _fetch_ints(sql: str, params) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [int(value or 0) for value in cursor.fetchone()]


def _running_at_start(query: StatsQuery, data: OrganizationData, scope: Q) -> tuple[str, list]:
    """SQL counting the conversations begun before `start` with a message in [start, end].

    They are the ones running at `start` (first message before it, last at or after it)
    whose last message is inside the range, or, for those spanning the whole range, where
    an index probe on (conversation, created_at) finds one inside. A conversation of span
    class k began at most SPAN_CLASS_HOURS[k] hours before `start` (plus a margin for the
    classification's floating point). So a constant table holds one (class, earliest first
    message) row per class, and a count correlated with it reads one short index range per
    class: the ORM compiles that count once, the rest is constant text with parameters.
    """
    start, end = query.start, query.end
    has_message_inside = Exists(
        data.messages().filter(
            conversation_id=OuterRef("conversation_id"), created_at__gte=start, created_at__lte=end
        )
    )
    per_class = (
        data.conversation_activity()
        .filter(
            Q(last_message_at__lte=end) | has_message_inside,
            scope,
            span_class=RawSQL("windows.span_class", (), output_field=IntegerField()),
            first_message_at__gte=RawSQL("windows.earliest", (), output_field=DateTimeField()),
            first_message_at__lt=start,
            last_message_at__gte=start,
        )
        .values("organization_id")
        .annotate(running=Count("pk"))
        .values("running")
        .order_by()
    )
    sql, params = per_class.query.sql_with_params()
    adapt = connection.ops.adapt_datetimefield_value
    windows, window_params = [], []
    for span_class in range(len(SPAN_CLASS_HOURS) + 1):
        earliest = _EARLIEST
        if span_class < len(SPAN_CLASS_HOURS):
            with suppress(OverflowError):  # before the first representable instant: no bound
                earliest = start - timedelta(hours=SPAN_CLASS_HOURS[span_class]) - SPAN_MARGIN
        windows.append("SELECT %s AS span_class, %s AS earliest")
        window_params += [span_class, adapt(earliest)]
    count = (
        f"SELECT SUM(running) FROM (SELECT ({sql}) AS running "  # noqa: S608
        f"FROM ({' UNION ALL '.join(windows)}) AS windows) AS per_class"
    )
    return count, list(params) + window_params


# SQLite classifies spans through floating-point julianday: a conversation may exceed its
# class's bound by a few microseconds.
SPAN_MARGIN = timedelta(minutes=1)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def _participants(model, column: str, query: StatsQuery, data: OrganizationData) -> QuerySet:
    """The owners or agents (OwnerActivity, AgentActivity) with a message in [start, end].

    One counts when its first or last message lies inside; one spanning the whole range
    when an index probe on (organization, owner or agent, created_at) finds one inside.
    """
    start, end = query.start, query.end
    has_message_inside = Exists(
        data.messages().filter(
            **{column: OuterRef(column)}, created_at__gte=start, created_at__lte=end
        )
    )
    return (
        model.objects.filter(
            organization_id=data.organization_id,
            first_message_at__lte=end,
            last_message_at__gte=start,
        )
        .filter(Q(first_message_at__gte=start) | Q(last_message_at__lte=end) | has_message_inside)
        .values(column)
        .order_by()
    )


def _counts(*row_sets: QuerySet | tuple[str, list]) -> list[int]:
    """The number of rows of each queryset (or the value of each counting SQL) at once.

    One statement of scalar subqueries: constant text around the compiled querysets;
    every value is one of their parameters.
    """
    selects, params = [], []
    for index, rows in enumerate(row_sets):
        if isinstance(rows, tuple):
            sql, row_params = rows
        else:
            sql, row_params = rows.query.sql_with_params()
            sql = f"SELECT COUNT(*) FROM ({sql}) AS rows_{index}"  # noqa: S608
        selects.append(f"({sql})")
        params += row_params
    return _fetch_ints(f"SELECT {', '.join(selects)}", params)


def stats_compute(*, query: StatsQuery) -> dict[str, int]:
    """All sixteen figures, in the contract's order, as ints; equal to stats_compute_raw.

    Three statements: the knowledge-base files; the sums over the cells of the whole hours
    and days plus the raw edges (with the conversations begun in the range); then the
    conversations begun before the range and still active in it, and (organization-wide,
    where the cells have no owner or agent) the distinct owners and agents.
    """
    data = OrganizationData(query.organization_id)
    figures = _knowledge_base_figures(query, data)
    scope = _conversation_scope(query, data)
    if scope is None:
        return _in_contract_order(figures)
    plan = RangePlan.of(query.start, query.end)
    # One row: every cell column summed, and (by pair) the owners and agents that sent.
    by_pair = bool(scope)
    parts = cell_parts(query, data, scope, plan, by_pair=by_pair)
    (totals,) = grouped_totals(parts, (), senders=by_pair)
    if by_pair:
        totals |= {Distinct.OWNERS: totals.pop(OWNERS), Distinct.AGENTS: totals.pop(AGENTS)}
    if totals["message_count"]:
        running = _running_at_start(query, data, scope)
        if scope:
            (earlier,) = _counts(running)
        else:
            earlier, owners, agents = _counts(
                running,
                _participants(OwnerActivity, "owner_id", query, data),
                _participants(AgentActivity, "agent_id", query, data),
            )
            totals |= {Distinct.OWNERS: owners, Distinct.AGENTS: agents}
        totals[Distinct.CONVERSATIONS] = totals[STARTED] + earlier
    for metric in METRICS:
        if metric.cell_column is not None:
            figures[metric.name] = totals[metric.cell_column]
        elif metric.distinct is not None:
            figures[metric.name] = totals.get(metric.distinct, 0)
    return _in_contract_order(figures)
