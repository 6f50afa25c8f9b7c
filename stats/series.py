"""The sixteen figures per local-calendar bucket (issue 7's `interval`).

A bucket counts what lies inside both the bucket and [from, to]. `series_raw` is the
definition over the raw tables; `series_fast` reads whole stored hours and days that fall
inside one bucket, raw rows for the rest (partial hours at a half- or quarter-hour bucket
edge, and the range's own edges), and conversations through their first and last
messages. The two agree exactly (tests/stats/test_report_fast_path.py).
"""

from datetime import timedelta

from django.db.models import Count, F, Q

from stats.buckets import BucketIndex
from stats.cells import (
    FEEDBACK_CELL_SUMS,
    MESSAGE_CELL_SUMS,
    STORED_CELL_SUMS,
    as_cells,
    figures_of,
    grouped_totals,
)
from stats.metrics import Source, metrics_of
from stats.ranges import RangePlan
from stats.scope import OrganizationData
from stats.selectors import StatsQuery, _conversation_scope, _in_contract_order
from stats.zones import Bucket

MICROSECOND = timedelta(microseconds=1)
BUCKET = "bucket"


def _boundaries(buckets: list[Bucket]) -> list:
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


def _assemble(buckets: list[Bucket], *per_bucket: dict[int, dict]) -> list[dict]:
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


def series_raw(*, query: StatsQuery, buckets: list[Bucket]) -> list[dict]:
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


def _stored_and_raw(buckets: list[Bucket]) -> tuple[Q | None, Q | None]:
    """The stored cells that lie wholly inside one bucket, and the raw rows of the rest."""
    by_grain: dict[int, list[tuple]] = {}
    raw: list[tuple] = []
    for bucket in buckets:
        plan = RangePlan.of(bucket.first, bucket.last)
        for grain, span in plan.cell_spans():
            by_grain.setdefault(grain, []).append(span)
        raw.extend(plan.raw)
    cells = Q()
    for grain, spans in by_grain.items():
        for first, end in _merged(spans):
            cells |= Q(grain=grain, bucket_start__gte=first, bucket_start__lt=end)
    edges = Q()
    for first, last in _merged(raw, gap=MICROSECOND):
        edges |= Q(created_at__gte=first, created_at__lte=last)
    return cells or None, edges or None


def _usage_series(query, data, scope, buckets, boundaries) -> dict[int, dict]:
    cells, edges = _stored_and_raw(buckets)
    parts = []
    if cells is not None:
        stored = data.usage_cells().filter(scope, cells)
        stored = stored.annotate(**{BUCKET: BucketIndex("bucket_start", boundaries)})
        parts.append(as_cells(stored, STORED_CELL_SUMS, BUCKET))
    if edges is not None:
        for rows, sums in (
            (data.messages(), MESSAGE_CELL_SUMS),
            (data.feedback(), FEEDBACK_CELL_SUMS),
        ):
            rows = rows.filter(scope, edges)
            rows = rows.annotate(**{BUCKET: BucketIndex("created_at", boundaries)})
            parts.append(as_cells(rows, sums, BUCKET))
    return {row[BUCKET]: figures_of(row) for row in grouped_totals(parts, (BUCKET,))}


def _conversation_series(query, data, scope, boundaries) -> dict[int, dict]:
    """conversationCount per bucket.

    A conversation whose in-range messages all fall in one bucket, and whose first or last
    message is inside the range, has a message in that bucket: it is counted from its
    first and last instants alone. The others (spanning buckets, or the whole range) are
    counted from their raw messages in the range.
    """
    overlapping = data.conversation_activity().filter(
        scope, first_message_at__lte=query.end, last_message_at__gte=query.start
    )
    overlapping = overlapping.annotate(
        first_bucket=BucketIndex("first_message_at", boundaries),
        last_bucket=BucketIndex("last_message_at", boundaries),
    )
    one_bucket = Q(first_bucket=F("last_bucket")) & (
        Q(first_message_at__gte=query.start) | Q(last_message_at__lte=query.end)
    )
    counts = {
        row["first_bucket"]: row["conversations"]
        for row in overlapping.filter(one_bucket)
        .values("first_bucket")
        .annotate(conversations=Count("pk"))
        .order_by()
    }
    spanning = overlapping.exclude(one_bucket).values("conversation_id")
    messages = data.messages().filter(
        scope, _in_range(query, "created_at"), conversation_id__in=spanning
    )
    distinct = {"conversations": Count("conversation_id", distinct=True)}
    for index, row in _per_bucket(messages, "created_at", boundaries, distinct).items():
        counts[index] = counts.get(index, 0) + row["conversations"]
    return {index: {"conversationCount": count} for index, count in counts.items()}


def series_fast(*, query: StatsQuery, buckets: list[Bucket]) -> list[dict]:
    data = OrganizationData(query.organization_id)
    boundaries = _boundaries(buckets)
    parts = [_knowledge_base_series(query, data, boundaries)]
    scope = _conversation_scope(query, data)
    if scope is not None:
        parts.append(_usage_series(query, data, scope, buckets, boundaries))
        parts.append(_conversation_series(query, data, scope, boundaries))
    return _assemble(buckets, *parts)
