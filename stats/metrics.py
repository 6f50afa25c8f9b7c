"""The sixteen figures of STATS.md, declared once: name, source table, aggregate.

Adding a metric is adding an entry. Each source is aggregated in one query over one table
(no join that could multiply rows), so the stats answer is exactly three queries.
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


@dataclass(frozen=True)
class Metric:
    name: str
    source: Source
    aggregate: Aggregate
    meaning: str


def _total(column: str) -> Aggregate:
    return Sum(column, default=0)


METRICS: tuple[Metric, ...] = (
    Metric(
        "conversationCount",
        Source.MESSAGES,
        Count("conversation_id", distinct=True),
        "distinct conversations among the messages in range",
    ),
    Metric("messageCount", Source.MESSAGES, Count("pk"), "messages in range"),
    Metric(
        "toolCalls",
        Source.MESSAGES,
        _total("tool_call_count"),
        "tool invocations of those messages",
    ),
    Metric("totalTokens", Source.MESSAGES, _total("total_tokens"), "usage.totalTokens summed"),
    Metric("inputTokens", Source.MESSAGES, _total("input_tokens"), "usage.inputTokens summed"),
    Metric("outputTokens", Source.MESSAGES, _total("output_tokens"), "usage.outputTokens summed"),
    Metric(
        "uniqueUsers",
        Source.MESSAGES,
        Count("owner_id", distinct=True),
        "distinct conversation owners among those messages",
    ),
    Metric(
        "uniqueAgents",
        Source.MESSAGES,
        Count("agent_id", distinct=True),
        "distinct agents among those messages",
    ),
    Metric("totalFeedback", Source.FEEDBACK, Count("pk"), "feedback given in range"),
    Metric(
        "totalHelpful",
        Source.FEEDBACK,
        Count("pk", filter=Q(helpful=True)),
        "helpful part of totalFeedback",
    ),
    Metric(
        "totalNotHelpful",
        Source.FEEDBACK,
        Count("pk", filter=Q(helpful=False)),
        "not-helpful part of totalFeedback",
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


def zero_stats() -> dict[str, int]:
    return dict.fromkeys(METRIC_NAMES, 0)
