"""Split an inclusive range into whole UTC days, whole UTC hours and raw edges."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q

from stats.models import UsageCell

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)

Span = tuple[datetime, datetime]


def _floor(moment: datetime, unit: timedelta) -> datetime:
    moment = moment.astimezone(UTC)
    if unit == DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil(moment: datetime, unit: timedelta) -> datetime | None:
    """The first boundary at or after `moment`; None past the last representable one."""
    floor = _floor(moment, unit)
    if floor == moment:
        return floor
    try:
        return floor + unit
    except OverflowError:
        return None


def _whole_units_end(end: datetime, unit: timedelta) -> datetime:
    """The end of the last whole unit inside [..., end] (end inclusive)."""
    try:
        return _floor(end + MICROSECOND, unit)
    except OverflowError:  # `end` is the last representable instant: its unit is partial
        return _floor(end, unit)


@dataclass(frozen=True)
class RangePlan:
    """Which stored buckets and which raw rows together cover [start, end] exactly once."""

    days: Span | None  # half-open
    hours: tuple[Span, ...]  # half-open
    raw: tuple[Span, ...]  # inclusive at both ends

    @classmethod
    def of(cls, start: datetime, end: datetime) -> "RangePlan":
        """Raw spans are inclusive at both ends; day and hour spans are half-open."""
        first_hour, last_hour = _ceil(start, HOUR), _whole_units_end(end, HOUR)
        if first_hour is None or first_hour >= last_hour:
            return cls(days=None, hours=(), raw=((start, end),))
        left = ((start, first_hour - MICROSECOND),) if start < first_hour else ()
        raw = left + _nonempty((last_hour, end), inclusive=True)
        first_day, last_day = _ceil(first_hour, DAY), _whole_units_end(last_hour - MICROSECOND, DAY)
        if first_day is None or first_day >= last_day:
            return cls(days=None, hours=((first_hour, last_hour),), raw=raw)
        hours = _nonempty((first_hour, first_day), (last_day, last_hour))
        return cls(days=(first_day, last_day), hours=hours, raw=raw)

    def cell_spans(self) -> list[tuple[int, Span]]:
        """The whole stored buckets as (UsageCell grain, half-open span), coarsest first."""
        spans = [(UsageCell.Grain.DAY, self.days)] if self.days is not None else []
        return spans + [(UsageCell.Grain.HOUR, span) for span in self.hours]

    def cells(self) -> Q | None:
        """The UsageCell rows of the whole days and hours, or None when there are none."""
        condition = Q()
        for grain, span in self.cell_spans():
            condition |= _within("bucket_start", span) & Q(grain=grain)
        return condition or None

    def raw_rows(self, column: str) -> Q | None:
        """Raw rows whose `column` lies in an edge, or None when the edges are empty."""
        condition = Q()
        for first, last in self.raw:
            condition |= Q(**{f"{column}__gte": first, f"{column}__lte": last})
        return condition or None


def _within(column: str, span: Span) -> Q:
    return Q(**{f"{column}__gte": span[0], f"{column}__lt": span[1]})


def _nonempty(*spans: Span, inclusive: bool = False) -> tuple[Span, ...]:
    return tuple(span for span in spans if (span[0] <= span[1] if inclusive else span[0] < span[1]))
