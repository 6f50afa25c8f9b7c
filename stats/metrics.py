"""The sixteen figures of STATS.md, declared once.

Each entry says what the figure means, which table it counts, the aggregate that counts it
over the raw rows, and how the pre-aggregated path (stats.models) reads it: a summed cell
column, or a distinct count. Adding a metric is adding an entry.
"""

from dataclasses import dataclass
from enum import Enum

from django.db.models import Aggregate, Count, Q, Sum


class Source(Enum):
    # Messages of the conversations in scope whose createdAt is in the range.
    MESSAGES = "messages"
    # Feedback on messages in scope whose own createdAt is in the range.
    FEEDBACK = "feedback"
    # Knowledge-base files processed in the range; organization-wide, never narrowed.
    KNOWLEDGE_BASE_FILES = "knowledge_base_files"


class Distinct(Enum):
    """What a distinct-count figure counts, on the pre-aggregated path."""

    CONVERSATIONS = "conversation_id"
    OWNERS = "owner_id"
    AGENTS = "agent_id"


@dataclass(frozen=True)
class Metric:
    name: str
    source: Source
    # Over the raw rows of `source`, in one aggregate query per source.
    aggregate: Aggregate
    meaning: str
    # The UsageCell column that sums it, or the distinct thing it counts; neither for the
    # knowledge-base figures, which always read their (small) raw table.
    cell_column: str | None = None
    distinct: Distinct | None = None


def _total(column: str) -> Aggregate:
    return Sum(column, default=0)


METRICS: tuple[Metric, ...] = (
    Metric(
        "conversationCount",
        Source.MESSAGES,
        Count("conversation_id", distinct=True),
        "distinct conversations among the messages in range",
        distinct=Distinct.CONVERSATIONS,
    ),
    Metric("messageCount", Source.MESSAGES, Count("pk"), "messages in range", "message_count"),
    Metric(
        "toolCalls",
        Source.MESSAGES,
        _total("tool_call_count"),
        "tool invocations of those messages",
        "tool_calls",
    ),
    Metric(
        "totalTokens",
        Source.MESSAGES,
        _total("total_tokens"),
        "usage.totalTokens summed",
        "total_tokens",
    ),
    Metric(
        "inputTokens",
        Source.MESSAGES,
        _total("input_tokens"),
        "usage.inputTokens summed",
        "input_tokens",
    ),
    Metric(
        "outputTokens",
        Source.MESSAGES,
        _total("output_tokens"),
        "usage.outputTokens summed",
        "output_tokens",
    ),
    Metric(
        "uniqueUsers",
        Source.MESSAGES,
        Count("owner_id", distinct=True),
        "distinct conversation owners among those messages",
        distinct=Distinct.OWNERS,
    ),
    Metric(
        "uniqueAgents",
        Source.MESSAGES,
        Count("agent_id", distinct=True),
        "distinct agents among those messages",
        distinct=Distinct.AGENTS,
    ),
    Metric(
        "totalFeedback",
        Source.FEEDBACK,
        Count("pk"),
        "feedback given in range",
        "feedback_count",
    ),
    Metric(
        "totalHelpful",
        Source.FEEDBACK,
        Count("pk", filter=Q(helpful=True)),
        "helpful part of totalFeedback",
        "helpful_count",
    ),
    Metric(
        "totalNotHelpful",
        Source.FEEDBACK,
        Count("pk", filter=Q(helpful=False)),
        "not-helpful part of totalFeedback",
        "not_helpful_count",
    ),
    Metric(
        "kbFileCount",
        Source.KNOWLEDGE_BASE_FILES,
        Count("pk"),
        "knowledge-base files processed in range",
    ),
    Metric(
        "kbCount",
        Source.KNOWLEDGE_BASE_FILES,
        Count("knowledge_base_id", distinct=True),
        "distinct knowledge bases among those files",
    ),
    Metric(
        "kbExtractTotalTokens",
        Source.KNOWLEDGE_BASE_FILES,
        _total("extract_total_tokens"),
        "extraction totalTokens of those files",
    ),
    Metric(
        "kbExtractInputTokens",
        Source.KNOWLEDGE_BASE_FILES,
        _total("extract_input_tokens"),
        "extraction inputTokens of those files",
    ),
    Metric(
        "kbExtractOutputTokens",
        Source.KNOWLEDGE_BASE_FILES,
        _total("extract_output_tokens"),
        "extraction outputTokens of those files",
    ),
)

METRIC_NAMES: tuple[str, ...] = tuple(metric.name for metric in METRICS)


def metrics_of(source: Source) -> dict[str, Aggregate]:
    return {metric.name: metric.aggregate for metric in METRICS if metric.source is source}
