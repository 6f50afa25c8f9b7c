"""Keeping the pre-aggregates (stats.models) equal to the raw tables.

The importer reports, per written batch, the (organization, instant) of every message and
feedback row it inserted, updated or re-owned, before and after the change. Those instants
mark UTC hours dirty; at the end of the import each run of dirty hours is recomputed from
the raw rows, then the days holding them from their hours, and the conversations with a
message in, or a first/last message stored in, those hours get their first/last message
instants again. Recomputing from raw rows, rather than adding deltas, is what keeps
re-imports, late feedback and out-of-order messages exact.

The refresh is set-based SQL (INSERT ... SELECT ... GROUP BY): a bulk import dirties every
hour it spans, and moving those rows through Python cost more than the import itself.
Values reach the SQL only as parameters; the SQL text is built from this module's own
constants and the models' table and column names.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max, Min

from conversations.models import Feedback, Message
from stats.models import CELL_SUMS, ConversationActivity, UsageCell

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Dirty hours this close together are refreshed as one run: recomputing a few clean hours
# costs less than another round of statements.
_MERGE_GAP = timedelta(hours=48)

# The UTC hour or day a timestamp column falls in, per database. SQLite stores Django
# datetimes as 'YYYY-MM-DD HH:MM:SS[.ffffff]' UTC text, which strftime reads and writes.
_TRUNCATE = {
    "postgresql": {
        "hour": "date_trunc('hour', {column}, 'UTC')",
        "day": "date_trunc('day', {column}, 'UTC')",
    },
    "sqlite": {
        "hour": "strftime('%%Y-%%m-%%d %%H:00:00', {column})",
        "day": "strftime('%%Y-%%m-%%d 00:00:00', {column})",
    },
}


def floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def floor_day(moment: datetime) -> datetime:
    return floor_hour(moment).replace(hour=0)


class RollupChanges:
    """Collects what an import touched; `apply()` brings the rollups up to date."""

    def __init__(self):
        self.dirty_hours: dict[str, set[datetime]] = defaultdict(set)

    def touch(self, organization_id: str, moment: datetime) -> None:
        self.dirty_hours[organization_id].add(floor_hour(moment))

    def on_batch(self, batch) -> None:
        """The importer's batch hook (conversations.importer.ImportedBatch)."""
        for kind in ("message", "feedback"):
            for organization_id, moment in batch.touched.get(kind, ()):
                self.touch(organization_id, moment)

    def apply(self) -> None:
        for organization_id, hours in self.dirty_hours.items():
            refresh_hours(organization_id=organization_id, hours=hours)
        self.dirty_hours.clear()


def _runs(starts: Iterable[datetime], unit: timedelta) -> list[tuple[datetime, datetime]]:
    """Sorted unit starts as half-open [start, end) runs, merging those _MERGE_GAP apart."""
    runs: list[tuple[datetime, datetime]] = []
    for start in sorted(set(starts)):
        if runs and start - runs[-1][1] <= _MERGE_GAP:
            runs[-1] = (runs[-1][0], start + unit)
        else:
            runs.append((start, start + unit))
    return runs


def refresh_hours(*, organization_id: str, hours: Iterable[datetime]) -> None:
    """Recompute the cells and conversation activity that these UTC hours feed."""
    _refresh(organization_id, _runs((floor_hour(hour) for hour in hours), HOUR))


@transaction.atomic
def _refresh(organization_id: str, hour_runs: list[tuple[datetime, datetime]]) -> None:
    sql = _RefreshSql()
    for start, end in hour_runs:
        sql.hour_cells(organization_id, start, end)
        sql.conversation_activity(organization_id, start, end)
    # Every day a refreshed hour lies in, summed again from all of its hours.
    days = {
        floor_day(start) + DAY * offset
        for start, end in hour_runs
        for offset in range((floor_day(end - HOUR) - floor_day(start)) // DAY + 1)
    }
    for start, end in _runs(days, DAY):
        sql.day_cells(organization_id, start, end)


class _RefreshSql:
    """The refresh statements for the current database."""

    def __init__(self):
        self.vendor = connection.vendor
        quote = connection.ops.quote_name
        self.cells = quote(UsageCell._meta.db_table)
        self.activity = quote(ConversationActivity._meta.db_table)
        self.messages = quote(Message._meta.db_table)
        self.feedback = quote(Feedback._meta.db_table)
        self.cell_columns = ", ".join(
            quote(name)
            for name in ["organization_id", "grain", "bucket_start", "owner_id", "agent_id"]
            + CELL_SUMS
        )

    def _truncate(self, unit: str, column: str) -> str:
        return _TRUNCATE[self.vendor][unit].format(column=column)

    def _execute(self, sql: str, params: list) -> None:
        adapt = connection.ops.adapt_datetimefield_value
        values = [adapt(value) if isinstance(value, datetime) else value for value in params]
        with connection.cursor() as cursor:
            cursor.execute(sql, values)

    def hour_cells(self, organization_id: str, start: datetime, end: datetime) -> None:
        self._execute(
            f"DELETE FROM {self.cells} WHERE organization_id = %s AND grain = %s "  # noqa: S608
            "AND bucket_start >= %s AND bucket_start < %s",
            [organization_id, UsageCell.Grain.HOUR, start, end],
        )
        message_hour = self._truncate("hour", "created_at")
        # Messages and feedback grouped alike, then merged into one cell per key.
        self._execute(
            f"INSERT INTO {self.cells} ({self.cell_columns}) "  # noqa: S608
            f"SELECT %s, %s, bucket, owner_id, agent_id, SUM(messages), SUM(tools), "
            "SUM(input), SUM(output), SUM(total), SUM(feedback), SUM(helpful), SUM(unhelpful) "
            f"FROM (SELECT {message_hour} AS bucket, owner_id, agent_id, COUNT(*) AS messages, "
            "SUM(tool_call_count) AS tools, SUM(input_tokens) AS input, "
            "SUM(output_tokens) AS output, SUM(total_tokens) AS total, 0 AS feedback, "
            "0 AS helpful, 0 AS unhelpful "
            f"FROM {self.messages} WHERE organization_id = %s AND created_at >= %s "
            f"AND created_at < %s GROUP BY 1, 2, 3 "
            f"UNION ALL SELECT {message_hour}, owner_id, agent_id, 0, 0, 0, 0, 0, COUNT(*), "
            "SUM(CASE WHEN helpful THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN helpful THEN 0 ELSE 1 END) "
            f"FROM {self.feedback} WHERE organization_id = %s AND created_at >= %s "
            "AND created_at < %s GROUP BY 1, 2, 3) AS parts "
            "GROUP BY bucket, owner_id, agent_id",
            [organization_id, UsageCell.Grain.HOUR] + [organization_id, start, end] * 2,
        )

    def day_cells(self, organization_id: str, start: datetime, end: datetime) -> None:
        """Day cells of the days in [start, end), from their hour cells."""
        self._execute(
            f"DELETE FROM {self.cells} WHERE organization_id = %s AND grain = %s "  # noqa: S608
            "AND bucket_start >= %s AND bucket_start < %s",
            [organization_id, UsageCell.Grain.DAY, start, end],
        )
        sums = ", ".join(f"SUM({name})" for name in CELL_SUMS)
        day = self._truncate("day", "bucket_start")
        self._execute(
            f"INSERT INTO {self.cells} ({self.cell_columns}) "  # noqa: S608
            f"SELECT organization_id, %s, {day}, owner_id, agent_id, {sums} "
            f"FROM {self.cells} WHERE organization_id = %s AND grain = %s "
            "AND bucket_start >= %s AND bucket_start < %s "
            f"GROUP BY organization_id, {day}, owner_id, agent_id",
            [UsageCell.Grain.DAY, organization_id, UsageCell.Grain.HOUR, start, end],
        )

    def conversation_activity(self, organization_id: str, start: datetime, end: datetime) -> None:
        """First/last message of every conversation these hours may have changed.

        That is one with a message in them now, or whose stored first or last message lay in
        them (it may have moved to another conversation or hour since).
        """
        affected = (
            f"SELECT conversation_id FROM {self.messages} WHERE organization_id = %s "  # noqa: S608
            "AND created_at >= %s AND created_at < %s "
            f"UNION SELECT conversation_id FROM {self.activity} WHERE organization_id = %s "
            "AND ((first_message_at >= %s AND first_message_at < %s) "
            "OR (last_message_at >= %s AND last_message_at < %s))"
        )
        affected_params = [organization_id, start, end, organization_id] + [start, end] * 2
        # Kept in a temporary table: both statements below need the same set.
        self._execute("DROP TABLE IF EXISTS stats_refresh_conversations", [])
        self._execute(
            f"CREATE TEMPORARY TABLE stats_refresh_conversations AS {affected}", affected_params
        )
        self._execute(
            f"DELETE FROM {self.activity} WHERE conversation_id IN "  # noqa: S608
            "(SELECT conversation_id FROM stats_refresh_conversations)",
            [],
        )
        self._execute(
            f"INSERT INTO {self.activity} (conversation_id, organization_id, owner_id, "  # noqa: S608
            "agent_id, first_message_at, last_message_at) "
            "SELECT conversation_id, organization_id, owner_id, agent_id, MIN(created_at), "
            f"MAX(created_at) FROM {self.messages} WHERE organization_id = %s AND "
            "conversation_id IN (SELECT conversation_id FROM stats_refresh_conversations) "
            "GROUP BY conversation_id, organization_id, owner_id, agent_id",
            [organization_id],
        )
        self._execute("DROP TABLE stats_refresh_conversations", [])


def rebuild_all(*, organization_id: str | None = None) -> None:
    """Recompute every rollup from the raw tables (after a bulk load that bypassed them)."""
    cells, activity = UsageCell.objects.all(), ConversationActivity.objects.all()
    messages, feedback = Message.objects.all(), Feedback.objects.all()
    if organization_id is not None:
        cells = cells.filter(organization_id=organization_id)
        activity = activity.filter(organization_id=organization_id)
        messages = messages.filter(organization_id=organization_id)
        feedback = feedback.filter(organization_id=organization_id)
    with transaction.atomic():
        # Cleared first, so an organization whose activity is gone keeps no stale rollups.
        cells.delete()
        activity.delete()
        bounds = defaultdict(list)
        for rows in (messages, feedback):
            spans = rows.values("organization_id").annotate(
                first=Min("created_at"), last=Max("created_at")
            )
            for span in spans.order_by():
                bounds[span["organization_id"]] += [span["first"], span["last"]]
        for org, instants in bounds.items():
            _refresh(org, [(floor_hour(min(instants)), floor_hour(max(instants)) + HOUR)])
