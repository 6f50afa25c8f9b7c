"""getStats with issue 7's options: series, breakdown, comparison, freshness.

One function builds the whole answer for the endpoint, dashboard_stats and the admin's
usage-stats page. Without options it is exactly the sixteen figures of STATS.md; the
extras are added only when the caller asks for one (tz, interval, groupBy, compare).
"""

from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction

from asteragents.datetimes import isoformat_z
from stats.breakdown import BreakdownRequest, breakdown
from stats.metrics import METRIC_NAMES
from stats.selectors import StatsQuery, stats_compute, stats_compute_raw
from stats.series import series_fast, series_raw
from stats.zones import TooManyBuckets, bucket_bounds

__all__ = ["Report", "ReportOptions", "TooManyBuckets", "build_report", "stats_report"]

MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class ReportOptions:
    zone: ZoneInfo | None = None  # None: not given, which is UTC
    interval: str | None = None  # hour | day | week | month
    group_by: str | None = None  # agent | user | metadata
    group_key: str | None = None  # the metadata key, for group_by="metadata"
    limit: int = 10
    compare_previous: bool = False

    @property
    def extras_requested(self) -> bool:
        return bool(self.zone or self.interval or self.group_by or self.compare_previous)

    @property
    def zone_or_utc(self) -> ZoneInfo:
        return self.zone or ZoneInfo("UTC")


@dataclass
class Report:
    figures: dict  # the sixteen, then series / breakdown / previous / change when asked
    generated_at: datetime
    data_through: datetime
    with_times: bool = field(default=False)

    @property
    def body(self) -> dict:
        if not self.with_times:
            return self.figures
        times = {
            "generatedAt": isoformat_z(self.generated_at),
            "dataThrough": isoformat_z(self.data_through),
        }
        return self.figures | times


@contextmanager
def _one_snapshot():
    """Run every query of one answer against the same committed data.

    The rollups are written in each import's own transaction, so the pre-aggregated and
    the raw parts of an answer agree as long as they are read from one snapshot; the
    instant it is taken is the answer's dataThrough. (Inside an enclosing transaction,
    as in tests, that transaction already is the snapshot.)
    """
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield datetime.now(UTC)


def _previous_period(query: StatsQuery) -> StatsQuery | None:
    """The same absolute length just before `from`; None before the first instant."""
    length = query.end - query.start + MICROSECOND
    try:
        end = query.start - MICROSECOND
    except OverflowError:
        return None
    try:
        start = query.start - length
    except OverflowError:
        start = datetime.min.replace(tzinfo=UTC)
    return replace(query, start=start, end=end)


def _percent(delta: int, previous: int) -> float | None:
    if previous == 0:
        return None
    exact = Decimal(100 * delta) / Decimal(previous)
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _comparison(current: dict, previous: dict) -> dict:
    return {
        name: {
            "delta": current[name] - previous[name],
            "percent": _percent(current[name] - previous[name], previous[name]),
        }
        for name in previous
    }


def build_report(*, query: StatsQuery, options: ReportOptions, fast: bool = True) -> Report:
    """The answer, and when it was made. Raises TooManyBuckets for a series too long."""
    buckets = None
    if options.interval:
        buckets = bucket_bounds(query.start, query.end, options.zone_or_utc, options.interval)
    compute = stats_compute if fast else stats_compute_raw
    with _one_snapshot() as data_through:
        figures = compute(query=query)
        if buckets is not None:
            if fast:
                figures["series"] = series_fast(
                    query=query, buckets=buckets, interval=options.interval
                )
            else:
                figures["series"] = series_raw(query=query, buckets=buckets)
        if options.group_by:
            request = BreakdownRequest(options.group_by, options.limit, options.group_key)
            figures["breakdown"] = breakdown(query=query, request=request, fast=fast)
        if options.compare_previous:
            earlier = _previous_period(query)
            previous = compute(query=earlier) if earlier else {}
            previous = {name: previous.get(name, 0) for name in METRIC_NAMES}
            figures["previous"] = previous
            figures["change"] = _comparison(figures, previous)
    return Report(figures, datetime.now(UTC), data_through, options.extras_requested)


def stats_report(*, query: StatsQuery, options: ReportOptions, fast: bool = True) -> dict:
    """The JSON-ready body getStats answers for this query and these options."""
    return build_report(query=query, options=options, fast=fast).body


def stats_report_raw(*, query: StatsQuery, options: ReportOptions) -> dict:
    """The same answer from the raw tables alone: the definition the fast one is held to."""
    return stats_report(query=query, options=options, fast=False)
