"""The sixteen figures written as JSON, CSV or an aligned table (dashboard_stats output)."""

import csv
import io
import json
from collections.abc import Callable

from asteragents.datetimes import isoformat_z
from stats.selectors import StatsQuery


def render_json(figures: dict[str, int], query: StatsQuery) -> str:
    """Exactly the endpoint's object, fields in the contract's order."""
    return json.dumps(figures) + "\n"


def render_csv(figures: dict[str, int], query: StatsQuery) -> str:
    """A header row of the field names and one row of values."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(figures.keys())
    writer.writerow(figures.values())
    return out.getvalue()


def render_table(figures: dict[str, int], query: StatsQuery) -> str:
    """A caption naming the scope, then field names and right-aligned values with commas."""
    values = {name: f"{value:,}" for name, value in figures.items()}
    name_width = max(len("figure"), *map(len, values))
    value_width = max(len("value"), *map(len, values.values()))
    lines = [
        *_caption(query),
        "",
        f"{'figure':<{name_width}}  {'value':>{value_width}}",
        f"{'-' * name_width}  {'-' * value_width}",
        *(f"{name:<{name_width}}  {value:>{value_width}}" for name, value in values.items()),
    ]
    return "\n".join(lines) + "\n"


def _caption(query: StatsQuery) -> list[str]:
    filters = {
        "user": query.user_id,
        "agent": query.agent_id,
        "metadata key": query.metadata_key,
        "metadata value": query.metadata_value,
    }
    lines = [
        f"organization  {query.organization_id}",
        f"from          {isoformat_z(query.start)}",
        f"to            {isoformat_z(query.end)}",
    ]
    lines += [f"{name:<14}{value!r}" for name, value in filters.items() if value is not None]
    return lines


RENDERERS: dict[str, Callable[[dict[str, int], StatsQuery], str]] = {
    "json": render_json,
    "table": render_table,
    "csv": render_csv,
}
