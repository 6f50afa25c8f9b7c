"""Keeping the pre-aggregates (stats.models) equal to the raw tables.

The importer reports, per written batch, the (organization, instant) of every message and
feedback row it inserted, updated or re-owned, before and after the change. Those instants
mark UTC hours dirty. At the end of the import, for each run of dirty hours: the
conversations, owners and agents with a message in, or a first/last message stored in,
those hours get their first/last message instants again; then the hour cells are
recomputed from the raw rows (and from those first messages: conversations_started), for
the dirty hours and for the hours where a refreshed conversation's first message was or now
is; then the days holding them from their hours, and the organization cells from the pair
cells. Recomputing from raw rows, rather than adding deltas, is what keeps re-imports, late
feedback and out-of-order messages exact.

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
from stats.models import (
    ROLLED_UP,
    SPAN_CLASS_HOURS,
    AgentActivity,
    ConversationActivity,
    OrganizationCell,
    OwnerActivity,
    UsageCell,
)

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
# Hours from one timestamp to a later one. Only classifies spans (SPAN_CLASS_HOURS): the
# reader allows a margin for SQLite's floating-point julianday.
_HOURS_BETWEEN = {
    "postgresql": "(EXTRACT(EPOCH FROM ({last}) - ({first})) / 3600)",
    "sqlite": "((julianday({last}) - julianday({first})) * 24)",
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


Span = tuple[datetime, datetime]


def _merged(spans: Iterable[Span]) -> list[Span]:
    """Half-open spans sorted and merged where they overlap or lie _MERGE_GAP apart."""
    runs: list[Span] = []
    for start, end in sorted(set(spans)):
        if runs and start - runs[-1][1] <= _MERGE_GAP:
            runs[-1] = (runs[-1][0], max(runs[-1][1], end))
        else:
            runs.append((start, end))
    return runs


def _runs(starts: Iterable[datetime], unit: timedelta) -> list[Span]:
    """Unit starts as sorted half-open [start, end) runs, merging those _MERGE_GAP apart."""
    return _merged((start, start + unit) for start in starts)


def refresh_hours(*, organization_id: str, hours: Iterable[datetime]) -> None:
    """Recompute the cells and conversation activity that these UTC hours feed."""
    _refresh(organization_id, _runs((floor_hour(hour) for hour in hours), HOUR))


@transaction.atomic
def _refresh(organization_id: str, hour_runs: list[Span]) -> None:
    sql = _RefreshSql()
    # First the first/last instants, which the cells' conversations_started read. A
    # conversation refreshed here may have begun, or begin now, in a clean hour: its start
    # moves between cells there, so those hours are recomputed too.
    first_hours: set[datetime] = set()
    for start, end in hour_runs:
        first_hours |= sql.conversation_activity(organization_id, start, end)
        sql.participant_activity(organization_id, start, end)
    hour_runs = _merged([*hour_runs, *((hour, hour + HOUR) for hour in first_hours)])
    for start, end in hour_runs:
        sql.hour_cells(organization_id, start, end)
        sql.organization_cells(organization_id, UsageCell.Grain.HOUR, start, end)
    # Every day a refreshed hour lies in, summed again from all of its hours.
    days = {
        floor_day(start) + DAY * offset
        for start, end in hour_runs
        for offset in range((floor_day(end - HOUR) - floor_day(start)) // DAY + 1)
    }
    for start, end in _runs(days, DAY):
        sql.day_cells(organization_id, start, end)
        sql.organization_cells(organization_id, UsageCell.Grain.DAY, start, end)


class _RefreshSql:
    """The refresh statements for the current database."""

    def __init__(self):
        self.vendor = connection.vendor
        quote = connection.ops.quote_name
        self.cells = quote(UsageCell._meta.db_table)
        self.organization_cells_table = quote(OrganizationCell._meta.db_table)
        self.activity = quote(ConversationActivity._meta.db_table)
        self.participants = {
            "owner_id": quote(OwnerActivity._meta.db_table),
            "agent_id": quote(AgentActivity._meta.db_table),
        }
        self.messages = quote(Message._meta.db_table)
        self.feedback = quote(Feedback._meta.db_table)
        self.cell_columns = ", ".join(
            quote(name)
            for name in ["organization_id", "grain", "bucket_start", "owner_id", "agent_id"]
            + ROLLED_UP
        )
        self.sums = ", ".join(f"SUM({quote(name)})" for name in ROLLED_UP)

    def _truncate(self, unit: str, column: str) -> str:
        return _TRUNCATE[self.vendor][unit].format(column=column)

    def _execute(self, sql: str, params: list) -> list[tuple]:
        adapt = connection.ops.adapt_datetimefield_value
        values = [adapt(value) if isinstance(value, datetime) else value for value in params]
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            return cursor.fetchall() if cursor.description else []

    def _span_class(self) -> str:
        """SQL for ConversationActivity.span_class over a conversation's messages."""
        hours = _HOURS_BETWEEN[self.vendor].format(first="MIN(created_at)", last="MAX(created_at)")
        branches = " ".join(
            f"WHEN {hours} <= {bound} THEN {index}" for index, bound in enumerate(SPAN_CLASS_HOURS)
        )
        return f"CASE {branches} ELSE {len(SPAN_CLASS_HOURS)} END"

    def hour_cells(self, organization_id: str, start: datetime, end: datetime) -> None:
        self._execute(
            f"DELETE FROM {self.cells} WHERE organization_id = %s AND grain = %s "  # noqa: S608
            "AND bucket_start >= %s AND bucket_start < %s",
            [organization_id, UsageCell.Grain.HOUR, start, end],
        )
        message_hour = self._truncate("hour", "created_at")
        first_hour = self._truncate("hour", "first_message_at")
        # Messages, feedback and conversation starts grouped alike, then merged into one cell
        # per key.
        self._execute(
            f"INSERT INTO {self.cells} ({self.cell_columns}) "  # noqa: S608
            f"SELECT %s, %s, bucket, owner_id, agent_id, SUM(messages), SUM(tools), "
            "SUM(input), SUM(output), SUM(total), SUM(feedback), SUM(helpful), SUM(unhelpful), "
            "SUM(started) "
            f"FROM (SELECT {message_hour} AS bucket, owner_id, agent_id, COUNT(*) AS messages, "
            "SUM(tool_call_count) AS tools, SUM(input_tokens) AS input, "
            "SUM(output_tokens) AS output, SUM(total_tokens) AS total, 0 AS feedback, "
            "0 AS helpful, 0 AS unhelpful, 0 AS started "
            f"FROM {self.messages} WHERE organization_id = %s AND created_at >= %s "
            f"AND created_at < %s GROUP BY 1, 2, 3 "
            f"UNION ALL SELECT {message_hour}, owner_id, agent_id, 0, 0, 0, 0, 0, COUNT(*), "
            "SUM(CASE WHEN helpful THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN helpful THEN 0 ELSE 1 END), 0 "
            f"FROM {self.feedback} WHERE organization_id = %s AND created_at >= %s "
            "AND created_at < %s GROUP BY 1, 2, 3 "
            f"UNION ALL SELECT {first_hour}, owner_id, agent_id, 0, 0, 0, 0, 0, 0, 0, 0, "
            f"COUNT(*) FROM {self.activity} WHERE organization_id = %s "
            "AND first_message_at >= %s AND first_message_at < %s GROUP BY 1, 2, 3) AS parts "
            "GROUP BY bucket, owner_id, agent_id",
            [organization_id, UsageCell.Grain.HOUR] + [organization_id, start, end] * 3,
        )

    def day_cells(self, organization_id: str, start: datetime, end: datetime) -> None:
        """Day cells of the days in [start, end), from their hour cells."""
        self._execute(
            f"DELETE FROM {self.cells} WHERE organization_id = %s AND grain = %s "  # noqa: S608
            "AND bucket_start >= %s AND bucket_start < %s",
            [organization_id, UsageCell.Grain.DAY, start, end],
        )
        day = self._truncate("day", "bucket_start")
        self._execute(
            f"INSERT INTO {self.cells} ({self.cell_columns}) "  # noqa: S608
            f"SELECT organization_id, %s, {day}, owner_id, agent_id, {self.sums} "
            f"FROM {self.cells} WHERE organization_id = %s AND grain = %s "
            "AND bucket_start >= %s AND bucket_start < %s "
            f"GROUP BY organization_id, {day}, owner_id, agent_id",
            [UsageCell.Grain.DAY, organization_id, UsageCell.Grain.HOUR, start, end],
        )

    def organization_cells(
        self, organization_id: str, grain: int, start: datetime, end: datetime
    ) -> None:
        """Organization cells of one grain in [start, end), from the pair cells."""
        self._execute(
            f"DELETE FROM {self.organization_cells_table} WHERE organization_id = %s "  # noqa: S608
            "AND grain = %s AND bucket_start >= %s AND bucket_start < %s",
            [organization_id, grain, start, end],
        )
        columns = ", ".join(["organization_id", "grain", "bucket_start", *ROLLED_UP])
        self._execute(
            f"INSERT INTO {self.organization_cells_table} ({columns}) "  # noqa: S608
            f"SELECT organization_id, grain, bucket_start, {self.sums} FROM {self.cells} "
            "WHERE organization_id = %s AND grain = %s AND bucket_start >= %s "
            "AND bucket_start < %s GROUP BY organization_id, grain, bucket_start",
            [organization_id, grain, start, end],
        )

    def participant_activity(self, organization_id: str, start: datetime, end: datetime) -> None:
        """First/last message of every owner and agent these hours may have changed.

        Each one's instants come from two probes of the (organization, owner or agent,
        created_at) message index: the cost follows the participants, not their messages.
        """
        for column, table in self.participants.items():
            affected = (
                f"SELECT {column} AS participant FROM {self.messages} "  # noqa: S608
                "WHERE organization_id = %s AND created_at >= %s AND created_at < %s "
                f"UNION SELECT {column} FROM {table} WHERE organization_id = %s "
                "AND ((first_message_at >= %s AND first_message_at < %s) "
                "OR (last_message_at >= %s AND last_message_at < %s))"
            )
            affected_params = [organization_id, start, end, organization_id] + [start, end] * 2
            self._execute("DROP TABLE IF EXISTS stats_refresh_participants", [])
            self._execute(
                f"CREATE TEMPORARY TABLE stats_refresh_participants AS {affected}",
                affected_params,
            )
            self._execute(
                f"DELETE FROM {table} WHERE organization_id = %s AND {column} IN "  # noqa: S608
                "(SELECT participant FROM stats_refresh_participants)",
                [organization_id],
            )
            bound = (
                f"(SELECT {{}}(created_at) FROM {self.messages} AS m "  # noqa: S608
                f"WHERE m.organization_id = %s AND m.{column} = p.participant)"
            )
            self._execute(
                f"INSERT INTO {table} (organization_id, {column}, first_message_at, "  # noqa: S608
                "last_message_at) SELECT %s, participant, first_at, last_at FROM "
                f"(SELECT participant, {bound.format('MIN')} AS first_at, "
                f"{bound.format('MAX')} AS last_at FROM stats_refresh_participants AS p) "
                "AS bounds WHERE first_at IS NOT NULL",
                [organization_id, organization_id, organization_id],
            )
            self._execute("DROP TABLE stats_refresh_participants", [])

    def conversation_activity(
        self, organization_id: str, start: datetime, end: datetime
    ) -> set[datetime]:
        """First/last message of every conversation these hours may have changed.

        That is one with a message in them now, or whose stored first or last message lay in
        them (it may have moved to another conversation or hour since). Returns the hours
        outside [start, end) where one of them began before or begins now.
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
        first_hour = self._truncate("hour", "first_message_at")
        first_hours = (
            f"SELECT DISTINCT {first_hour} FROM {self.activity} WHERE conversation_id IN "  # noqa: S608
            "(SELECT conversation_id FROM stats_refresh_conversations) "
            "AND (first_message_at < %s OR first_message_at >= %s)"
        )
        hours = self._execute(first_hours, [start, end])
        self._execute(
            f"DELETE FROM {self.activity} WHERE conversation_id IN "  # noqa: S608
            "(SELECT conversation_id FROM stats_refresh_conversations)",
            [],
        )
        self._execute(
            f"INSERT INTO {self.activity} (conversation_id, organization_id, owner_id, "  # noqa: S608
            "agent_id, first_message_at, last_message_at, span_class) "
            "SELECT conversation_id, organization_id, owner_id, agent_id, MIN(created_at), "
            f"MAX(created_at), {self._span_class()} FROM {self.messages} "
            "WHERE organization_id = %s AND "
            "conversation_id IN (SELECT conversation_id FROM stats_refresh_conversations) "
            "GROUP BY conversation_id, organization_id, owner_id, agent_id",
            [organization_id],
        )
        hours += self._execute(first_hours, [start, end])
        self._execute("DROP TABLE stats_refresh_conversations", [])
        return {_instant(hour) for (hour,) in hours}


def _instant(value) -> datetime:
    """A truncated hour as the database returns it (SQLite: text) as an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ROLLUP_MODELS = (UsageCell, OrganizationCell, ConversationActivity, OwnerActivity, AgentActivity)


def rebuild_all(*, organization_id: str | None = None) -> None:
    """Recompute every rollup from the raw tables (after a bulk load that bypassed them)."""
    rollups = [model.objects.all() for model in ROLLUP_MODELS]
    messages, feedback = Message.objects.all(), Feedback.objects.all()
    if organization_id is not None:
        rollups = [rows.filter(organization_id=organization_id) for rows in rollups]
        messages = messages.filter(organization_id=organization_id)
        feedback = feedback.filter(organization_id=organization_id)
    with transaction.atomic():
        # Cleared first, so an organization whose activity is gone keeps no stale rollups.
        for rows in rollups:
            rows.delete()
        bounds = defaultdict(list)
        for rows in (messages, feedback):
            spans = rows.values("organization_id").annotate(
                first=Min("created_at"), last=Max("created_at")
            )
            for span in spans.order_by():
                bounds[span["organization_id"]] += [span["first"], span["last"]]
        for org, instants in bounds.items():
            _refresh(org, [(floor_hour(min(instants)), floor_hour(max(instants)) + HOUR)])
