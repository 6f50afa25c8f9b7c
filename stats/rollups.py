"""Keeping the pre-aggregates (stats.models) equal to the raw tables.

The importer reports, per written batch, the (organization, instant) of every message and
feedback row it inserted, updated or re-owned, before and after the change. Those instants
mark UTC hours dirty; at the end of the import each dirty hour is recomputed from the raw
rows, then the days holding dirty hours are recomputed from their hours, and the
conversations with a message in, or a first/last message stored in, a dirty hour get
their first/last message instants again. Recomputing from raw rows, rather than adding
deltas, is what keeps re-imports, late feedback and out-of-order messages exact.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import Trunc

from conversations.models import Feedback, Message
from stats.models import CELL_SUMS, ConversationActivity, UsageCell

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Hours recomputed per query: bounds the rows one refresh holds in memory.
_HOURS_PER_CHUNK = 24 * 7
_WRITE_BATCH = 5000


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


def _hour_runs(hours: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted hours as half-open [start, end) runs of at most _HOURS_PER_CHUNK hours."""
    runs: list[tuple[datetime, datetime]] = []
    for hour in sorted(hours):
        if runs and runs[-1][1] == hour and (hour - runs[-1][0]) < _HOURS_PER_CHUNK * HOUR:
            runs[-1] = (runs[-1][0], hour + HOUR)
        else:
            runs.append((hour, hour + HOUR))
    return runs


@transaction.atomic
def refresh_hours(*, organization_id: str, hours: Iterable[datetime]) -> None:
    """Recompute the cells and conversation activity that these UTC hours feed."""
    hour_runs = _hour_runs(floor_hour(hour) for hour in hours)
    for start, end in hour_runs:
        _refresh_hour_cells(organization_id, start, end)
    days = {
        floor_day(start + HOUR * i)
        for start, end in hour_runs
        for i in range(int((end - start) / HOUR))
    }
    for day in sorted(days):
        _refresh_day_cells(organization_id, day, day + DAY)
    for start, end in hour_runs:
        _refresh_conversation_activity(organization_id, start, end)


def _grouped_sums(rows, bucket_column: str, sums: dict) -> dict[tuple, dict[str, int]]:
    grouped = (
        rows.annotate(bucket=Trunc(bucket_column, "hour", tzinfo=UTC))
        .values("bucket", "owner_id", "agent_id")
        .annotate(**sums)
        .order_by()
    )
    return {
        (row["bucket"], row["owner_id"], row["agent_id"]): {name: int(row[name]) for name in sums}
        for row in grouped
    }


def _refresh_hour_cells(organization_id: str, start: datetime, end: datetime) -> None:
    message_sums = _grouped_sums(
        Message.objects.filter(
            organization_id=organization_id, created_at__gte=start, created_at__lt=end
        ),
        "created_at",
        {
            "message_count": Count("pk"),
            "tool_calls": Sum("tool_call_count"),
            "input_tokens": Sum("input_tokens"),
            "output_tokens": Sum("output_tokens"),
            "total_tokens": Sum("total_tokens"),
        },
    )
    feedback_sums = _grouped_sums(
        Feedback.objects.filter(
            organization_id=organization_id, created_at__gte=start, created_at__lt=end
        ),
        "created_at",
        {
            "feedback_count": Count("pk"),
            "helpful_count": Count("pk", filter=Q(helpful=True)),
            "not_helpful_count": Count("pk", filter=Q(helpful=False)),
        },
    )
    cells = defaultdict(dict)
    for sums in (message_sums, feedback_sums):
        for key, values in sums.items():
            cells[key].update(values)
    UsageCell.objects.filter(
        organization_id=organization_id,
        grain=UsageCell.Grain.HOUR,
        bucket_start__gte=start,
        bucket_start__lt=end,
    ).delete()
    UsageCell.objects.bulk_create(
        (
            UsageCell(
                organization_id=organization_id,
                grain=UsageCell.Grain.HOUR,
                bucket_start=bucket,
                owner_id=owner_id,
                agent_id=agent_id,
                **values,
            )
            for (bucket, owner_id, agent_id), values in cells.items()
        ),
        batch_size=_WRITE_BATCH,
    )


def _refresh_day_cells(organization_id: str, start: datetime, end: datetime) -> None:
    hour_cells = (
        UsageCell.objects.filter(
            organization_id=organization_id,
            grain=UsageCell.Grain.HOUR,
            bucket_start__gte=start,
            bucket_start__lt=end,
        )
        .values("owner_id", "agent_id")
        .annotate(**{name: Sum(name) for name in CELL_SUMS})
        .order_by()
    )
    day_cells = [
        UsageCell(
            organization_id=organization_id,
            grain=UsageCell.Grain.DAY,
            bucket_start=start,
            owner_id=row["owner_id"],
            agent_id=row["agent_id"],
            **{name: int(row[name]) for name in CELL_SUMS},
        )
        for row in hour_cells
    ]
    UsageCell.objects.filter(
        organization_id=organization_id, grain=UsageCell.Grain.DAY, bucket_start=start
    ).delete()
    UsageCell.objects.bulk_create(day_cells, batch_size=_WRITE_BATCH)


def _refresh_conversation_activity(organization_id: str, start: datetime, end: datetime) -> None:
    messages = Message.objects.filter(organization_id=organization_id)
    in_hours = messages.filter(created_at__gte=start, created_at__lt=end)
    # A conversation whose stored first or last message lay in these hours may have lost it
    # (moved to another conversation or hour) and must be recomputed too.
    stored_here = ConversationActivity.objects.filter(
        Q(first_message_at__gte=start, first_message_at__lt=end)
        | Q(last_message_at__gte=start, last_message_at__lt=end),
        organization_id=organization_id,
    )
    conversation_ids = set(in_hours.values_list("conversation_id", flat=True).distinct())
    conversation_ids.update(stored_here.values_list("conversation_id", flat=True))
    ids = sorted(conversation_ids)
    for offset in range(0, len(ids), _WRITE_BATCH):
        _recompute_conversations(organization_id, ids[offset : offset + _WRITE_BATCH])


def _recompute_conversations(organization_id: str, conversation_ids: list[str]) -> None:
    spans = (
        Message.objects.filter(
            organization_id=organization_id, conversation_id__in=conversation_ids
        )
        .values("conversation_id", "owner_id", "agent_id")
        .annotate(first=Min("created_at"), last=Max("created_at"))
        .order_by()
    )
    rows = [
        ConversationActivity(
            conversation_id=span["conversation_id"],
            organization_id=organization_id,
            owner_id=span["owner_id"],
            agent_id=span["agent_id"],
            first_message_at=span["first"],
            last_message_at=span["last"],
        )
        for span in spans
    ]
    ConversationActivity.objects.filter(conversation_id__in=conversation_ids).delete()
    ConversationActivity.objects.bulk_create(rows, batch_size=_WRITE_BATCH)


def rebuild_all(*, organization_id: str | None = None) -> None:
    """Recompute every rollup from the raw tables (after a bulk load that bypassed them)."""
    cells, activity = UsageCell.objects.all(), ConversationActivity.objects.all()
    messages, feedback = Message.objects.all(), Feedback.objects.all()
    if organization_id is not None:
        cells, activity = (
            cells.filter(organization_id=organization_id),
            activity.filter(organization_id=organization_id),
        )
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
            hour, last = floor_hour(min(instants)), floor_hour(max(instants))
            hours = []
            while hour <= last:
                hours.append(hour)
                hour += HOUR
            refresh_hours(organization_id=org, hours=hours)
