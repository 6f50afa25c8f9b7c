"""The sixteen figures per local-calendar bucket (issue 7's `interval`).

A bucket counts what lies inside both the bucket and [from, to]. `series_raw` is the
definition over the raw tables. `series_fast` reads the stored hours and days that lie
wholly inside one bucket and raw rows for the rest (the hours a half- or quarter-hour zone
splits, and the range's own partial hours): sums from the organization cells (pair cells
when the scope is narrowed), distinct users and agents from the pair cells, conversations
as those begun in the bucket plus those continuing into it (see _conversation_series).
The two agree exactly (tests/stats/test_report_fast_path.py).
"""

from datetime import timedelta

from django.db import connection
from django.db.models import Count, F, Q

from stats.buckets import BucketIndex
from stats.cells import (
    AGENTS,
    FEEDBACK_CELL_SUMS,
    MESSAGE_CELL_SUMS,
    OWNERS,
    STARTS_CELL_SUMS,
    STORED_CELL_SUMS,
    as_cells,
    distinct_senders,
    figures_of,
    grouped_totals,
)
from stats.metrics import Source, metrics_of
from stats.models import ROLLED_UP, STARTED
from stats.ranges import RangePlan
from stats.scope import OrganizationData
from stats.selectors import StatsQuery, _conversation_scope, _in_contract_order
from stats.zones import Bucket

MICROSECOND = timedelta(microseconds=1)
BUCKET = "bucket"


def _boundaries(buckets: tuple[Bucket, ...]) -> list:
    return [bucket.first for bucket in buckets[1:]]


def _in_range(query: StatsQuery, column: str) -> Q:
    return Q(**{f"{column}__gte": query.start, f"{column}__lte": query.end})


def _per_bucket(rows, column: str, boundaries: list, aggregates: dict) -> dict[int, dict]:
    grouped = rows.annotate(**{BUCKET: BucketIndex(column, boundaries)}).values(BUCKET)
    return {
        row.pop(BUCKET): {name: int(value or 0) for name, value in row.items()}
        for row in grouped.annotate(**aggregates).order_by()
    }


def _knowledge_base_series(query, data, boundaries) -> dict[int, dict]:
    files = data.knowledge_base_files().filter(_in_range(query, "processed_at"))
    return _per_bucket(files, "processed_at", boundaries, metrics_of(Source.KNOWLEDGE_BASE_FILES))


def _assemble(buckets: tuple[Bucket, ...], *per_bucket: dict[int, dict]) -> list[dict]:
    series = []
    for index, bucket in enumerate(buckets):
        figures = {}
        for part in per_bucket:
            figures |= part.get(index, {})
        series.append(
            {
                "start": bucket.start.isoformat(),
                "end": bucket.end.isoformat(),
                **_in_contract_order(figures),
            }
        )
    return series


def series_raw(*, query: StatsQuery, buckets: tuple[Bucket, ...]) -> list[dict]:
    """The definition: one grouped aggregate per source table."""
    data = OrganizationData(query.organization_id)
    boundaries = _boundaries(buckets)
    parts = [_knowledge_base_series(query, data, boundaries)]
    scope = _conversation_scope(query, data)
    if scope is not None:
        for source, rows in (
            (Source.MESSAGES, data.messages()),
            (Source.FEEDBACK, data.feedback()),
        ):
            in_scope = rows.filter(scope, _in_range(query, "created_at"))
            parts.append(_per_bucket(in_scope, "created_at", boundaries, metrics_of(source)))
    return _assemble(buckets, *parts)


# --- The fast path ---------------------------------------------------------------------------


def _merged(spans: list[tuple], gap=timedelta(0)) -> list[tuple]:
    """Adjacent spans joined: half-open ones that touch (gap 0), inclusive ones a
    microsecond apart (gap 1 µs). Fewer, longer ranges make a shorter query."""
    merged: list[list] = []
    for first, last in sorted(spans):
        if merged and merged[-1][1] + gap == first:
            merged[-1][1] = last
        else:
            merged.append([first, last])
    return [tuple(span) for span in merged]


def _stored_and_raw(buckets: tuple[Bucket, ...]) -> tuple[list[tuple], list[tuple]]:
    """The stored cells that lie wholly inside one bucket, as (grain, half-open span), and
    the rest of the range as inclusive raw spans."""
    by_grain: dict[int, list[tuple]] = {}
    raw: list[tuple] = []
    for bucket in buckets:
        plan = RangePlan.of(bucket.first, bucket.last)
        for grain, span in plan.cell_spans():
            by_grain.setdefault(grain, []).append(span)
        raw.extend(plan.raw)
    cells = [(grain, span) for grain, spans in by_grain.items() for span in _merged(spans)]
    return cells, _merged(raw, gap=MICROSECOND)


def _cells_in(spans: list[tuple]) -> Q | None:
    condition = Q()
    for grain, (first, end) in spans:
        condition |= Q(grain=grain, bucket_start__gte=first, bucket_start__lt=end)
    return condition or None


def _raw_in(spans: list[tuple], column: str) -> Q | None:
    condition = Q()
    for first, last in spans:
        condition |= Q(**{f"{column}__gte": first, f"{column}__lte": last})
    return condition or None


def _bucketed(rows, column: str, boundaries: list):
    return rows.annotate(**{BUCKET: BucketIndex(column, boundaries)})


def _sums_series(data, scope, cell_spans, raw_spans, boundaries) -> dict[int, dict]:
    """Every cell column (with the conversations begun) summed per bucket: organization
    cells when nothing narrows the scope, pair cells otherwise, raw rows at the edges."""
    parts = []
    if (cells := _cells_in(cell_spans)) is not None:
        stored = data.usage_cells().filter(scope) if scope else data.organization_cells()
        parts.append(
            (_bucketed(stored.filter(cells), "bucket_start", boundaries), STORED_CELL_SUMS)
        )
    if raw_spans:
        in_edges = _raw_in(raw_spans, "created_at")
        for rows, sums in (
            (data.messages(), MESSAGE_CELL_SUMS),
            (data.feedback(), FEEDBACK_CELL_SUMS),
        ):
            parts.append((_bucketed(rows.filter(scope, in_edges), "created_at", boundaries), sums))
        starts = data.conversation_activity().filter(scope, _raw_in(raw_spans, "first_message_at"))
        parts.append((_bucketed(starts, "first_message_at", boundaries), STARTS_CELL_SUMS))
    cells = [as_cells(rows, sums, BUCKET, pairs=False) for rows, sums in parts]
    return {row[BUCKET]: row for row in grouped_totals(cells, (BUCKET,), senders=False)}


def _senders_series(data, scope, cell_spans, raw_spans, boundaries) -> dict[int, tuple]:
    """Per bucket, the distinct owners and agents with a message there: from the pair
    cells (which name them) and the raw edge messages."""
    parts = []
    if (cells := _cells_in(cell_spans)) is not None:
        sent = data.usage_cells().filter(scope, cells, message_count__gt=0)
        parts.append(_bucketed(sent, "bucket_start", boundaries))
    if raw_spans:
        edges = data.messages().filter(scope, _raw_in(raw_spans, "created_at"))
        parts.append(_bucketed(edges, "created_at", boundaries))
    rows = [part.values(BUCKET, "owner_id", "agent_id").distinct().order_by() for part in parts]
    return distinct_senders(rows, BUCKET)


def _usage_series(data, scope, buckets, boundaries) -> dict[int, dict]:
    cell_spans, raw_spans = _stored_and_raw(buckets)
    sums = _sums_series(data, scope, cell_spans, raw_spans, boundaries)
    senders = _senders_series(data, scope, cell_spans, raw_spans, boundaries)
    series = {}
    for index in set(sums) | set(senders):
        owners, agents = senders.get(index, (0, 0))
        row = sums.get(index, {}) | {OWNERS: owners, AGENTS: agents}
        series[index] = figures_of(
            {name: row.get(name, 0) for name in (*ROLLED_UP, OWNERS, AGENTS)}
        )
        series[index]["conversationCount"] = row.get(STARTED, 0)
    return series


def _conversation_series(query, data, scope, buckets, boundaries) -> dict[int, int]:
    """Per bucket, the conversations begun before it that have a message in it (those begun
    in it are the cells' starts).

    A conversation's first and last messages put it in buckets BUCKET and `last_bucket`.
    When every bucket between them is certain to hold a message of it (it spans at most
    two buckets, and its last message is inside the range if it spans two), it continues
    into `last_bucket` only. The others (spanning three or more buckets, or
    running past an end of the range) are probed: one index lookup on (conversation,
    created_at) per bucket in which they may have a message.
    """
    start, end = query.start, query.end
    overlapping = _bucketed(
        data.conversation_activity().filter(
            scope, first_message_at__lte=end, last_message_at__gte=start
        ),
        "first_message_at",
        boundaries,
    ).annotate(last_bucket=BucketIndex("last_message_at", boundaries))
    begun_before = Q(first_message_at__lt=start)
    probed = (begun_before & (Q(last_bucket__gt=0) | Q(last_message_at__gt=end))) | (
        ~begun_before
        & (
            Q(last_bucket__gte=F(BUCKET) + 2)
            | (Q(last_message_at__gt=end) & Q(last_bucket__gt=F(BUCKET)))
        )
    )
    continuing = overlapping.exclude(probed).filter(begun_before | Q(last_bucket__gt=F(BUCKET)))
    counts = {
        row["last_bucket"]: row["conversations"]
        for row in continuing.values("last_bucket").annotate(conversations=Count("pk")).order_by()
    }
    candidates = overlapping.filter(probed).values(
        "conversation_id", BUCKET, "last_bucket", "first_message_at", "last_message_at"
    )
    for index, found in _probe(query, data, candidates, buckets).items():
        counts[index] = counts.get(index, 0) + found
    return counts


def _probe(query, data, candidates, buckets) -> dict[int, int]:
    """For each candidate conversation and each bucket from its first to its last: does it
    have a message there, in the range? Not counting the bucket it began in (a start).

    One statement, constant text around the candidates the ORM compiled, every value a
    parameter: a recursive CTE lists each candidate's (conversation, bucket) pairs, a
    VALUES table gives each bucket's bounds, and a pair counts when it is the bucket of
    the conversation's last message (inside the range) or when an index probe on
    (conversation, created_at) finds a message in the bucket. The probe has a LIMIT so
    that PostgreSQL runs it per pair rather than hashing every message of the range.
    """
    quote = connection.ops.quote_name
    adapt = connection.ops.adapt_datetimefield_value
    candidates_sql, candidate_params = candidates.query.sql_with_params()
    bounds_params = []
    for index, bucket in enumerate(buckets):
        bounds_params += [index, adapt(bucket.first), adapt(bucket.last)]
    # Both databases name VALUES columns column1..column3 and allow any number of rows.
    bounds = ", ".join(["(%s, %s, %s)"] * len(buckets))
    messages = quote(data.messages().model._meta.db_table)
    first_bucket = quote(BUCKET)
    sql = (
        f"WITH RECURSIVE candidates AS ({candidates_sql}), "  # noqa: S608
        "pairs (conversation_id, j, first_bucket, last_bucket, first_at, last_at) AS ("
        f"SELECT conversation_id, {first_bucket}, {first_bucket}, last_bucket, "
        "first_message_at, last_message_at FROM candidates "
        "UNION ALL SELECT conversation_id, j + 1, first_bucket, last_bucket, first_at, last_at "
        "FROM pairs WHERE j < last_bucket) "
        f"SELECT pairs.j, COUNT(*) FROM pairs JOIN (VALUES {bounds}) AS bounds "
        "ON bounds.column1 = pairs.j "
        "WHERE NOT (pairs.j = first_bucket AND first_at >= %s) "
        "AND ((pairs.j = last_bucket AND last_at <= %s) OR EXISTS ("
        f"SELECT 1 FROM {messages} AS m WHERE m.organization_id = %s "
        "AND m.conversation_id = pairs.conversation_id "
        "AND m.created_at >= bounds.column2 AND m.created_at <= bounds.column3 LIMIT 1)) "
        "GROUP BY pairs.j"
    )
    params = [
        *candidate_params,
        *bounds_params,
        adapt(query.start),
        adapt(query.end),
        data.organization_id,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def _conversations_from_messages(query, data, scope, boundaries) -> dict[int, int]:
    """conversationCount per bucket straight from the messages in range: for hour buckets,
    where a series covers at most 1,000 hours and conversations span many buckets."""
    messages = data.messages().filter(scope, _in_range(query, "created_at"))
    distinct = {"conversations": Count("conversation_id", distinct=True)}
    per_bucket = _per_bucket(messages, "created_at", boundaries, distinct)
    return {index: row["conversations"] for index, row in per_bucket.items()}


def series_fast(*, query: StatsQuery, buckets: tuple[Bucket, ...], interval: str | None = None):
    data = OrganizationData(query.organization_id)
    boundaries = _boundaries(buckets)
    parts = [_knowledge_base_series(query, data, boundaries)]
    scope = _conversation_scope(query, data)
    if scope is not None:
        usage = _usage_series(data, scope, buckets, boundaries)
        if interval == "hour":
            for figures in usage.values():
                figures["conversationCount"] = 0
            conversations = _conversations_from_messages(query, data, scope, boundaries)
        else:  # begun in the bucket (the cells' starts) plus continuing into it
            conversations = _conversation_series(query, data, scope, buckets, boundaries)
        for index, count in conversations.items():
            usage.setdefault(index, {"conversationCount": 0})
            usage[index]["conversationCount"] += count
        parts.append(usage)
    return _assemble(buckets, *parts)
