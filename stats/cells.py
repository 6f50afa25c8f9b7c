"""Totals over a UNION of per-(owner, agent) cell rows, grouped by what the caller needs.

The pre-aggregated paths (stats.series, stats.breakdown) build their parts from stored
usage cells and raw edge rows, each part grouped by some columns plus owner and agent; this
wraps their compiled UNION in one outer SELECT, because the ORM cannot aggregate over a
UNION. The wrapper is constant text; every value is a parameter of the compiled parts.
"""

from django.db import connection
from django.db.models import Count, IntegerField, Q, QuerySet, Sum, Value

from stats.metrics import METRICS, Distinct
from stats.models import ROLLED_UP, STARTED

ZERO = Value(0, output_field=IntegerField())
MESSAGE_CELL_SUMS = {
    "message_count": Count("pk"),
    "tool_calls": Sum("tool_call_count"),
    "input_tokens": Sum("input_tokens"),
    "output_tokens": Sum("output_tokens"),
    "total_tokens": Sum("total_tokens"),
}
FEEDBACK_CELL_SUMS = {
    "feedback_count": Count("pk"),
    "helpful_count": Count("pk", filter=Q(helpful=True)),
    "not_helpful_count": Count("pk", filter=Q(helpful=False)),
}
# ConversationActivity rows whose first message lies in a raw edge: the starts there.
STARTS_CELL_SUMS = {STARTED: Count("pk")}
STORED_CELL_SUMS = {name: Sum(name) for name in ROLLED_UP}
OWNERS, AGENTS = "owners", "agents"
_FIGURES = (*ROLLED_UP, OWNERS, AGENTS)


def as_cells(rows: QuerySet, sums: dict, *group_by: str, pairs: bool = True) -> QuerySet:
    """Rows grouped by `group_by` (and owner and agent, with `pairs`), with every cell
    column (0 where `sums` has none), so parts from different tables line up in a UNION."""
    columns = {name: sums.get(name, ZERO) for name in ROLLED_UP}
    keys = (*group_by, "owner_id", "agent_id") if pairs else group_by
    return rows.values(*keys).annotate(**columns).order_by()


def grouped_totals(
    parts: list[QuerySet], group_by: tuple[str, ...], *, senders: bool = True
) -> list[dict]:
    """Per value of `group_by` (one row when it is empty): every cell column summed, and
    (with `senders`, for parts grouped by pair) the distinct owners and agents that sent
    messages (OWNERS, AGENTS). Summing in SQL ships one row per group instead of one per
    owner and agent, which in a large organization costs more than the query itself."""
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    inner_sql, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    keys = ", ".join(quote(name) for name in group_by)
    sums = ", ".join(f"SUM({quote(name)})" for name in ROLLED_UP)
    select = f"{keys + ', ' if keys else ''}{sums}"
    if senders:
        sent = f"CASE WHEN {quote('message_count')} > 0 THEN {{}} END"
        owners, agents = sent.format(quote("owner_id")), sent.format(quote("agent_id"))
        select += f", COUNT(DISTINCT {owners}), COUNT(DISTINCT {agents})"
    sql = f"SELECT {select} FROM ({inner_sql}) AS cells"  # noqa: S608
    if keys:
        sql += f" GROUP BY {keys}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    totals = []
    for row in fetched:
        keys, figures = row[: len(group_by)], row[len(group_by) :]
        names = _FIGURES if senders else ROLLED_UP
        totals.append(
            dict(zip(group_by, keys, strict=True))
            # PostgreSQL sums bigint as numeric (Decimal); the figures are integers.
            | {name: int(value or 0) for name, value in zip(names, figures, strict=True)}
        )
    return totals


def distinct_senders(parts: list[QuerySet], key: str) -> dict[object, tuple[int, int]]:
    """Per value of `key`: the distinct owners and agents among the UNION of `parts`, each
    a queryset of (key, owner_id, agent_id) rows."""
    rows = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    inner_sql, params = rows.query.sql_with_params()
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {quote(key)}, COUNT(DISTINCT {quote('owner_id')}), "  # noqa: S608
        f"COUNT(DISTINCT {quote('agent_id')}) FROM ({inner_sql}) AS sent GROUP BY {quote(key)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {value: (owners, agents) for value, owners, agents in cursor.fetchall()}


_DISTINCT_COLUMNS = {Distinct.OWNERS: OWNERS, Distinct.AGENTS: AGENTS}


def figures_of(row: dict) -> dict[str, int]:
    """The figures a grouped_totals row gives: all but conversationCount and the KB ones."""
    figures = {}
    for metric in METRICS:
        if metric.cell_column is not None:
            figures[metric.name] = row[metric.cell_column]
        elif metric.distinct in _DISTINCT_COLUMNS:
            figures[metric.name] = row[_DISTINCT_COLUMNS[metric.distinct]]
    return figures
