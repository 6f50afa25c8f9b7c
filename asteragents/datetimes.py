"""ISO 8601 instants as the contract reads them: offset honoured, naive is UTC.

Shared by the getStats parameters, the dashboard_stats command and the importer, so a
datetime means the same thing on every path into the service.
"""

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Literal

Bound = Literal["start", "end"]

_DATE = r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
_DATE_ONLY = re.compile(_DATE, re.ASCII)
_DATETIME = re.compile(
    _DATE + r"[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    # A space stands for '+' when an offset's plus sign was not URL-encoded.
    r"(?P<offset>[Zz]|(?P<sign>[+\- ])(?P<off_hour>\d{2})(?::?(?P<off_minute>\d{2}))?)?",
    re.ASCII,
)
_ONE_MICROSECOND = timedelta(microseconds=1)


def _offset(match: re.Match) -> tzinfo:
    if not match["offset"] or match["offset"] in "Zz":
        return UTC
    hours, minutes = int(match["off_hour"]), int(match["off_minute"] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if match["sign"] == "-" else delta)


def _microseconds(fraction: str | None, bound: Bound) -> int:
    """Digits past the sixth round toward the inside of the range, never outward."""
    if not fraction:
        return 0
    micros = int(fraction[:6].ljust(6, "0"))
    if bound == "start" and fraction[6:].strip("0"):
        micros += 1
    return micros


def start_of_local_day(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def parse_instant(text: str, *, bound: Bound = "start", zone: tzinfo = UTC) -> datetime:
    """An aware UTC datetime, or ValueError.

    A date alone is the first microsecond of that day in `zone` for a start bound and its
    last microsecond for an end bound; a datetime without an offset is UTC.
    """
    try:
        if match := _DATE_ONLY.fullmatch(text):
            day = date(int(match["year"]), int(match["month"]), int(match["day"]))
            if bound == "start":
                return start_of_local_day(day, zone)
            if day == date.max:
                return datetime.combine(day, time.max, tzinfo=zone).astimezone(UTC)
            return start_of_local_day(day + timedelta(days=1), zone) - _ONE_MICROSECOND
        match = _DATETIME.fullmatch(text)
        if match is None:
            raise ValueError(f"{text!r} is not an ISO 8601 date or datetime")
        local = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),
            tzinfo=_offset(match),
        )
        return (local + timedelta(microseconds=_microseconds(match["fraction"], bound))).astimezone(
            UTC
        )
    except OverflowError as exc:
        raise ValueError(f"{text!r} is out of the supported range") from exc


def isoformat_z(moment: datetime) -> str:
    """UTC, written with a Z as JavaScript writes it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
