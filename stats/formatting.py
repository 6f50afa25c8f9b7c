"""A getStats answer written as JSON, CSV or aligned tables (dashboard_stats output).

The answer is stats_report's body: the sixteen figures, plus series, breakdown and
previous/change when the options ask for them.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence

from asteragents.datetimes import isoformat_z
from stats.metrics import METRIC_NAMES
from stats.report import ReportOptions
from stats.selectors import StatsQuery

# The figures of a breakdown row: no knowledge-base figures (files have no owner or agent).
CONVERSATION_FIELDS: tuple[str, ...] = tuple(
    name for name in METRIC_NAMES if not name.startswith("kb")
)
OTHERS = "others"


def render_json(body: dict, query: StatsQuery, options: ReportOptions) -> str:
    """Exactly the endpoint's body, fields in the contract's order."""
    return json.dumps(body) + "\n"


# --- CSV: one table per answer ---------------------------------------------------------------


def csv_conflict(options: ReportOptions) -> str | None:
    """Why these options have no single CSV table, or None when they have one."""
    if options.interval and options.group_by:
        return "--format csv writes one table: give --interval or --group-by, not both"
    if options.compare_previous and (options.interval or options.group_by):
        return (
            "--format csv writes one table: --compare applies to the totals, which are not "
            "in the --interval or --group-by table"
        )
    return None


def render_csv(body: dict, query: StatsQuery, options: ReportOptions) -> str:
    """One header row, then one row per bucket, per breakdown group, per period or the totals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(csv_rows(body))
    return out.getvalue()


def csv_rows(body: dict) -> list[list]:
    if "series" in body and "breakdown" in body:
        raise ValueError("a CSV table holds either the series or the breakdown, not both")
    if "series" in body:
        return [
            ["start", "end", *METRIC_NAMES],
            *([bucket["start"], bucket["end"], *_values(bucket)] for bucket in body["series"]),
        ]
    if "breakdown" in body:
        breakdown = body["breakdown"]
        rows = [
            [
                rank,
                _csv_text(row["key"]),
                _csv_text(row["label"]),
                *_values(row, CONVERSATION_FIELDS),
            ]
            for rank, row in enumerate(breakdown["rows"], start=1)
        ]
        others = [OTHERS, "", "", *_values(breakdown["others"], CONVERSATION_FIELDS)]
        return [["rank", "key", "label", *CONVERSATION_FIELDS], *rows, others]
    if "previous" in body:
        change = body["change"]
        return [
            ["period", *METRIC_NAMES],
            ["current", *_values(body)],
            ["previous", *_values(body["previous"])],
            ["delta", *(change[name]["delta"] for name in METRIC_NAMES)],
            ["percent", *(_csv_text(change[name]["percent"]) for name in METRIC_NAMES)],
        ]
    return [list(METRIC_NAMES), _values(body)]


def _values(figures: dict, names: Iterable[str] = METRIC_NAMES) -> list[int]:
    return [figures[name] for name in names]


def _csv_text(value) -> str:
    """JSON null is an empty cell; a number stays a number."""
    return "" if value is None else str(value)


# --- Tables, for a person at a terminal ------------------------------------------------------


def render_table(body: dict, query: StatsQuery, options: ReportOptions) -> str:
    """The scope, the totals (with previous and change), then the series and the breakdown."""
    sections = [_caption(body, query, options), _totals(body)]
    if "series" in body:
        sections.append(_series(body["series"]))
    if "breakdown" in body:
        sections.append(_breakdown(body["breakdown"]))
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def _caption(body: dict, query: StatsQuery, options: ReportOptions) -> list[str]:
    extras = "generatedAt" in body
    zone = options.zone_or_utc if extras else None

    def instant(moment) -> str:
        return isoformat_z(moment) if zone is None else moment.astimezone(zone).isoformat()

    lines = [
        ("organization", query.organization_id),
        ("from", instant(query.start)),
        ("to", instant(query.end)),
    ]
    filters = {
        "user": query.user_id,
        "agent": query.agent_id,
        "metadata key": query.metadata_key,
        "metadata value": query.metadata_value,
    }
    lines += [(name, repr(value)) for name, value in filters.items() if value is not None]
    if extras:
        lines.append(("time zone", str(zone)))
    if options.interval:
        lines.append(("interval", options.interval))
    if options.group_by:
        by = options.group_by
        if options.group_key is not None:
            by += f" {options.group_key!r}"
        lines.append(("group by", f"{by}, top {options.limit}"))
    if options.compare_previous:
        lines.append(("compare", "previous period of the same length"))
    if extras:
        lines += [("generated at", body["generatedAt"]), ("data through", body["dataThrough"])]
    return [f"{name:<14}{value}" for name, value in lines]


def _totals(body: dict) -> list[str]:
    if "previous" not in body:
        return _aligned(["figure", "value"], [[name, _count(body[name])] for name in METRIC_NAMES])
    change = body["change"]
    rows = [
        [
            name,
            _count(body[name]),
            _count(body["previous"][name]),
            _signed(change[name]["delta"]),
            _percent(change[name]["percent"]),
        ]
        for name in METRIC_NAMES
    ]
    return _aligned(["figure", "value", "previous", "delta", "change"], rows)


def _series(series: list[dict]) -> list[str]:
    rows = [[bucket["start"], bucket["end"], *map(_count, _values(bucket))] for bucket in series]
    return [
        f"series: {len(series)} bucket{'s' if len(series) != 1 else ''}",
        *_aligned(["start", "end", *METRIC_NAMES], rows, left=2),
    ]


def _breakdown(breakdown: dict) -> list[str]:
    by = breakdown["by"]
    title = f"breakdown by {by}"
    if by == "metadata":
        title += f" {breakdown['groupKey']!r}"
    rows = [
        [
            _key_text(row["key"]),
            _key_text(row["label"]),
            *map(_count, _values(row, CONVERSATION_FIELDS)),
        ]
        for row in breakdown["rows"]
    ]
    rows.append(["(others)", "", *map(_count, _values(breakdown["others"], CONVERSATION_FIELDS))])
    if breakdown["truncated"]:
        shown = len(breakdown["rows"])
        listed = "group is" if shown == 1 else "groups are"
        note = f"truncated: only the top {shown} {listed} listed; (others) sums the rest"
    else:
        note = "not truncated: every group is listed; (others) is zero"
    return [title, *_aligned(["key", "label", *CONVERSATION_FIELDS], rows, left=2), note]


def _aligned(header: Sequence[str], rows: list[list[str]], *, left: int = 1) -> list[str]:
    """Columns padded to their widest cell: the first `left` to the left, the rest right."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            f"{cell:<{width}}" if index < left else f"{cell:>{width}}"
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), line(["-" * width for width in widths]), *map(line, rows)]


def _count(value: int) -> str:
    return f"{value:,}"


def _signed(value: int) -> str:
    return f"{value:+,}" if value else "0"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}%"


def _key_text(value) -> str:
    return "(null)" if value is None else str(value)


RENDERERS: dict[str, Callable[[dict, StatsQuery, ReportOptions], str]] = {
    "json": render_json,
    "table": render_table,
    "csv": render_csv,
}
