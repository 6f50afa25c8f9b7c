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
    sql = _RefreshSql(organization_id)
    # First the first/last instants, which the cells' conversations_started read. A
    # conversation refreshed here may have begun, or begin now, in a clean hour: its start
    # moves between cells there, so those hours are recomputed too.
    sql.set_runs(hour_runs)
    first_hours = sql.conversation_activity()
    sql.participant_activity()
    if first_hours:
        hour_runs = _merged([*hour_runs, *((hour, hour + HOUR) for hour in first_hours)])
        sql.set_runs(hour_runs)
    sql.hour_cells()
    sql.organization_cells(UsageCell.Grain.HOUR)
    # Every day a refreshed hour lies in, summed again from all of its hours.
    days = {
        floor_day(start) + DAY * offset
        for start, end in hour_runs
        for offset in range((floor_day(end - HOUR) - floor_day(start)) // DAY + 1)
    }
    sql.set_runs(_runs(days, DAY))
    sql.day_cells()
    sql.organization_cells(UsageCell.Grain.DAY)
    sql.drop_runs()


# The runs being refreshed, as rows: every statement joins them, so a refresh costs the same
# few statements however many runs an import dirtied (a sparse organization has hundreds).
_RUNS = "stats_refresh_runs"
_RUN_COLUMN_TYPE = {"postgresql": "timestamp with time zone", "sqlite": "text"}


def _in_runs(column: str) -> str:
    """Join condition: `column` lies in a run (r) of the refresh."""
    return f"{column} >= r.run_start AND {column} < r.run_end"


class _RefreshSql:
    """The refresh statements for the current database, for one organization."""

    def __init__(self, organization_id: str):
        self.organization_id = organization_id
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
        self.sums = ", ".join(f"SUM(c.{quote(name)})" for name in ROLLED_UP)

    def _truncate(self, unit: str, column: str) -> str:
        return _TRUNCATE[self.vendor][unit].format(column=column)

    def _execute(self, sql: str, params: list) -> list[tuple]:
        adapt = connection.ops.adapt_datetimefield_value
        values = [adapt(value) if isinstance(value, datetime) else value for value in params]
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            return cursor.fetchall() if cursor.description else []

    def set_runs(self, runs: list[Span]) -> None:
        """The half-open runs the next statements refresh, in a temporary table."""
        column_type = _RUN_COLUMN_TYPE[self.vendor]
        self.drop_runs()
        self._execute(
            f"CREATE TEMPORARY TABLE {_RUNS} (run_start {column_type}, run_end {column_type})", []
        )
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {_RUNS} (run_start, run_end) VALUES (%s, %s)",  # noqa: S608
                [(adapt(start), adapt(end)) for start, end in runs],
            )
        if self.vendor == "postgresql":
            # A temporary table has no statistics: without them the planner may scan a
            # whole table for what is a handful of index ranges.
            self._execute(f"ANALYZE {_RUNS}", [])

    def drop_runs(self) -> None:
        self._execute(f"DROP TABLE IF EXISTS {_RUNS}", [])

    def _span_class(self) -> str:
        """SQL for ConversationActivity.span_class over a conversation's messages."""
        hours = _HOURS_BETWEEN[self.vendor].format(first="MIN(created_at)", last="MAX(created_at)")
        branches = " ".join(
            f"WHEN {hours} <= {bound} THEN {index}" for index, bound in enumerate(SPAN_CLASS_HOURS)
        )
        return f"CASE {branches} ELSE {len(SPAN_CLASS_HOURS)} END"

    def _delete_cells(self, table: str, grain: int) -> None:
        """Delete the cells of one grain whose bucket starts in a run."""
        self._execute(
            f"DELETE FROM {table} WHERE id IN (SELECT c.id FROM {_RUNS} AS r "  # noqa: S608
            f"JOIN {table} AS c ON c.organization_id = %s AND c.grain = %s "
            f"AND {_in_runs('c.bucket_start')})",
            [self.organization_id, grain],
        )

    def hour_cells(self) -> None:
        """Hour cells of the runs, from the raw rows and the conversations' first messages."""
        self._delete_cells(self.cells, UsageCell.Grain.HOUR)
        message_hour = self._truncate("hour", "m.created_at")
        first_hour = self._truncate("hour", "a.first_message_at")
        # Messages, feedback and conversation starts grouped alike, then merged into one cell
        # per key.
        self._execute(
            f"INSERT INTO {self.cells} ({self.cell_columns}) "  # noqa: S608
            f"SELECT %s, %s, bucket, owner_id, agent_id, SUM(messages), SUM(tools), "
            "SUM(input), SUM(output), SUM(total), SUM(feedback), SUM(helpful), SUM(unhelpful), "
            "SUM(started) "
            f"FROM (SELECT {message_hour} AS bucket, m.owner_id, m.agent_id, "
            "COUNT(*) AS messages, SUM(m.tool_call_count) AS tools, "
            "SUM(m.input_tokens) AS input, SUM(m.output_tokens) AS output, "
            "SUM(m.total_tokens) AS total, 0 AS feedback, 0 AS helpful, 0 AS unhelpful, "
            f"0 AS started FROM {_RUNS} AS r JOIN {self.messages} AS m "
            f"ON m.organization_id = %s AND {_in_runs('m.created_at')} GROUP BY 1, 2, 3 "
            f"UNION ALL SELECT {message_hour}, m.owner_id, m.agent_id, 0, 0, 0, 0, 0, "
            "COUNT(*), SUM(CASE WHEN m.helpful THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN m.helpful THEN 0 ELSE 1 END), 0 "
            f"FROM {_RUNS} AS r JOIN {self.feedback} AS m "
            f"ON m.organization_id = %s AND {_in_runs('m.created_at')} GROUP BY 1, 2, 3 "
            f"UNION ALL SELECT {first_hour}, a.owner_id, a.agent_id, 0, 0, 0, 0, 0, 0, 0, 0, "
            f"COUNT(*) FROM {_RUNS} AS r JOIN {self.activity} AS a "
            f"ON a.organization_id = %s AND {_in_runs('a.first_message_at')} "
            "GROUP BY 1, 2, 3) AS parts "
            "GROUP BY bucket, owner_id, agent_id",
            [self.organization_id, UsageCell.Grain.HOUR] + [self.organization_id] * 3,
        )

    def day_cells(self) -> None:
        """Day cells of the days of the runs (whole days), from their hour cells."""
        self._delete_cells(self.cells, UsageCell.Grain.DAY)
        day = self._truncate("day", "c.bucket_start")
        self._execute(
            f"INSERT INTO {self.cells} ({self.cell_columns}) "  # noqa: S608
            f"SELECT c.organization_id, %s, {day}, c.owner_id, c.agent_id, {self.sums} "
            f"FROM {_RUNS} AS r JOIN {self.cells} AS c ON c.organization_id = %s "
            f"AND c.grain = %s AND {_in_runs('c.bucket_start')} "
            f"GROUP BY c.organization_id, {day}, c.owner_id, c.agent_id",
            [UsageCell.Grain.DAY, self.organization_id, UsageCell.Grain.HOUR],
        )

    def organization_cells(self, grain: int) -> None:
        """Organization cells of one grain in the runs, from the pair cells."""
        self._delete_cells(self.organization_cells_table, grain)
        columns = ", ".join(["organization_id", "grain", "bucket_start", *ROLLED_UP])
        self._execute(
            f"INSERT INTO {self.organization_cells_table} ({columns}) "  # noqa: S608
            f"SELECT c.organization_id, c.grain, c.bucket_start, {self.sums} "
            f"FROM {_RUNS} AS r JOIN {self.cells} AS c ON c.organization_id = %s "
            f"AND c.grain = %s AND {_in_runs('c.bucket_start')} "
            "GROUP BY c.organization_id, c.grain, c.bucket_start",
            [self.organization_id, grain],
        )

    def participant_activity(self) -> None:
        """First/last message of every owner and agent the runs may have changed.

        Each one's instants come from two probes of the (organization, owner or agent,
        created_at) message index: the cost follows the participants, not their messages.
        """
        organization_id = self.organization_id
        for column, table in self.participants.items():
            affected = (
                f"SELECT m.{column} AS participant FROM {_RUNS} AS r "  # noqa: S608
                f"JOIN {self.messages} AS m ON m.organization_id = %s "
                f"AND {_in_runs('m.created_at')} "
                f"UNION SELECT a.{column} FROM {_RUNS} AS r JOIN {table} AS a "
                f"ON a.organization_id = %s AND (({_in_runs('a.first_message_at')}) "
                f"OR ({_in_runs('a.last_message_at')}))"
            )
            self._execute("DROP TABLE IF EXISTS stats_refresh_participants", [])
            self._execute(
                f"CREATE TEMPORARY TABLE stats_refresh_participants AS {affected}",
                [organization_id, organization_id],
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

    def conversation_activity(self) -> set[datetime]:
        """First/last message of every conversation the runs may have changed.

        That is one with a message in them now, or whose stored first or last message lay in
        them (it may have moved to another conversation or hour since). Returns the hours
        outside the runs where one of them began before or begins now.
        """
        organization_id = self.organization_id
        affected = (
            f"SELECT m.conversation_id FROM {_RUNS} AS r JOIN {self.messages} AS m "  # noqa: S608
            f"ON m.organization_id = %s AND {_in_runs('m.created_at')} "
            f"UNION SELECT a.conversation_id FROM {_RUNS} AS r JOIN {self.activity} AS a "
            f"ON a.organization_id = %s AND {_in_runs('a.first_message_at')} "
            f"UNION SELECT a.conversation_id FROM {_RUNS} AS r JOIN {self.activity} AS a "
            f"ON a.organization_id = %s AND {_in_runs('a.last_message_at')}"
        )
        # Kept in a temporary table: the statements below need the same set.
        self._execute("DROP TABLE IF EXISTS stats_refresh_conversations", [])
        self._execute(
            f"CREATE TEMPORARY TABLE stats_refresh_conversations AS {affected}",
            [organization_id] * 3,
        )
        first_hour = self._truncate("hour", "a.first_message_at")
        first_hours = (
            f"SELECT DISTINCT {first_hour} FROM {self.activity} AS a "  # noqa: S608
            "WHERE a.conversation_id IN "
            "(SELECT conversation_id FROM stats_refresh_conversations) "
            f"AND NOT EXISTS (SELECT 1 FROM {_RUNS} AS r WHERE {_in_runs('a.first_message_at')})"
        )
        hours = self._execute(first_hours, [])
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
        hours += self._execute(first_hours, [])
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
