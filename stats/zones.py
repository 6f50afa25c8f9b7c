"""Local calendars: the caller's IANA zone, and the buckets of a time series in it.

Bucket bounds are computed here, in Python with zoneinfo, and reach the database only as
UTC instants (stats.buckets). So every zone behaves the same on PostgreSQL and SQLite, and
daylight-saving changes, half- and quarter-hour offsets and days that start at 01:00 come
out of one piece of code.
"""

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

INTERVALS = ("hour", "day", "week", "month")
MAX_BUCKETS = 1000

_APPROXIMATE_LENGTH = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=31),  # the longest month: never overestimates the count
}


@functools.cache
def _zone_names() -> frozenset[str]:
    # 'localtime' names this machine's own zone (a file some systems have), not a zone.
    return frozenset((available_timezones() | {"UTC"}) - {"localtime"})


def parse_zone(name: str) -> ZoneInfo:
    """The zone of an IANA name, or ValueError. Only names of the tz database count: no
    file paths, no POSIX TZ strings, no 'localtime'."""
    if name not in _zone_names():
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)")
    return ZoneInfo(name)


class TooManyBuckets(ValueError):
    def __init__(self, interval: str):
        self.interval = interval
        super().__init__(
            f"interval={interval} gives more than {MAX_BUCKETS:,} buckets for this range, "
            f"the most a series may have. Choose a longer interval or a shorter range."
        )


@dataclass(frozen=True)
class Bucket:
    """One local-calendar bucket: half-open [start, end), both aware in the caller's zone.

    `first` and `last` are what of it lies in the requested range, as inclusive UTC
    instants: the figures of the bucket count exactly that.
    """

    start: datetime
    end: datetime
    first: datetime
    last: datetime


# getStats checks the bucket count with the other parameters (before the 403 checks), then
# answers with the same buckets: the cache spares computing them twice (7 ms for 1,000 hours).
@functools.lru_cache(maxsize=64)
def bucket_bounds(
    start: datetime, end: datetime, zone: ZoneInfo, interval: str
) -> tuple[Bucket, ...]:
    """Every bucket of `interval` in `zone` that overlaps [start, end] (inclusive), in order.

    Raises TooManyBuckets beyond MAX_BUCKETS, before doing work proportional to the range.
    """
    estimate = int((end - start) / _APPROXIMATE_LENGTH[interval])
    if estimate > MAX_BUCKETS + 1:
        raise TooManyBuckets(interval)
    starts = _bucket_starts(start, end, zone, interval)
    if len(starts) - 1 > MAX_BUCKETS:
        raise TooManyBuckets(interval)
    buckets = []
    for bucket_start, bucket_end in zip(starts, starts[1:], strict=False):
        first = start if bucket_start is None else max(start, bucket_start)
        last = end if bucket_end is None else min(end, bucket_end - timedelta(microseconds=1))
        buckets.append(
            Bucket(
                start=_local(bucket_start, zone, first),
                end=_local(bucket_end, zone, last),
                first=first,
                last=last,
            )
        )
    return tuple(buckets)


def _local(instant: datetime | None, zone: ZoneInfo, fallback: datetime) -> datetime:
    # A bound beyond the representable instants (year 1 east of UTC, year 9999 west of it)
    # is shown as the range's own end: nothing lies beyond it anyway.
    instant = instant or fallback
    try:
        return instant.astimezone(zone)
    except OverflowError:  # the local date would be year 0 or 10000
        return instant


def _bucket_starts(
    start: datetime, end: datetime, zone: ZoneInfo, interval: str
) -> list[datetime | None]:
    """The boundaries from the one at or before `start` to the first after `end`.

    None stands for a boundary outside the representable UTC instants.
    """
    if interval == "hour":
        return _hour_starts(start, end, zone)
    try:
        day: date | None = _unit_floor(start.astimezone(zone).date(), interval)
        boundaries: list[datetime | None] = []
    except OverflowError:  # `start` is in the local year 0: its bucket starts unrepresentably
        day, boundaries = date.min, [None]
    while True:
        boundary = _start_of_local_day(day, zone) if day is not None else None
        boundaries.append(boundary)
        if boundary is None and len(boundaries) > 1:
            break  # past the last representable instant
        if boundary is not None and boundary > end:
            break
        day = _next_unit(day, interval) if day is not None else None
    return boundaries


def _unit_floor(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if interval == "month":
        return day.replace(day=1)
    return day


def _next_unit(day: date, interval: str) -> date | None:
    try:
        if interval == "day":
            return day + timedelta(days=1)
        if interval == "week":
            return day + timedelta(weeks=1)
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    except (OverflowError, ValueError):  # beyond year 9999
        return None


def _start_of_local_day(day: date, zone: ZoneInfo) -> datetime | None:
    """The first instant whose local date is `day`.

    Where midnight does not exist (a daylight-saving change at 00:00, as in Sao Paulo until
    2019), zoneinfo reads the missing 00:00 with the offset from before the change, which
    is exactly the instant the day begins (shown as 01:00 local).
    """
    try:
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _wall_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    """The local clock's reading; the first or last representable one beyond the ends."""
    try:
        return instant.astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        return datetime.min if instant.year == 1 else datetime.max


def _hour_starts(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime | None]:
    """Every instant the local clock shows HH:00, around [start, end].

    Each wall-clock hour is tried with both folds: it happens twice when the clock is set
    back (two buckets), and not at all when it jumps forward (the bucket before lasts until
    the next HH:00 that happens). In +05:45 the hours start at :15 UTC.
    """
    wall = _wall_clock(start, zone).replace(minute=0, second=0, microsecond=0)
    last_wall = _wall_clock(end, zone)
    if last_wall < datetime.max - timedelta(hours=2):
        last_wall += timedelta(hours=2)
    instants: set[datetime] = set()
    while wall <= last_wall:
        for fold in (0, 1):
            try:
                instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
            except OverflowError:  # before year 1 or after 9999 in UTC
                continue
            if instant.astimezone(zone).replace(tzinfo=None) == wall:
                instants.add(instant)
        try:
            wall += timedelta(hours=1)
        except OverflowError:
            break
    ordered = sorted(instants)
    # One boundary at or before `start`, those inside, one after `end`; None where that
    # boundary is not representable.
    at_or_before = [instant for instant in ordered if instant <= start][-1:] or [None]
    inside = [instant for instant in ordered if start < instant <= end]
    after = [instant for instant in ordered if instant > end][:1] or [None]
    return at_or_before + inside + after
