"""Response and error shapes, for the OpenAPI schema."""

from rest_framework import serializers

from stats.breakdown import CONVERSATION_FIELDS
from stats.metrics import METRICS


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable error code.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    parameter = serializers.CharField(
        required=False, help_text="The offending query parameter, where there is one."
    )


def _figures(name: str, names, doc: str, bases=(serializers.Serializer,), **extra):
    meaning = {metric.name: metric.meaning for metric in METRICS}
    fields = {
        field: serializers.IntegerField(min_value=0, help_text=meaning[field]) for field in names
    }
    serializer = type(name, bases, fields | extra)
    serializer.__doc__ = doc
    return serializer


ALL_FIGURES = [metric.name for metric in METRICS]

StatsSerializer = _figures(
    "StatsSerializer", ALL_FIGURES, "The sixteen figures of STATS.md; every one always present."
)

BucketSerializer = _figures(
    "BucketSerializer",
    ALL_FIGURES,
    "The sixteen figures of what lies inside both the bucket and [from, to].",
    start=serializers.CharField(help_text="The bucket's local start, ISO 8601 with offset."),
    end=serializers.CharField(help_text="The next bucket's start (half-open)."),
)

ConversationFiguresSerializer = _figures(
    "ConversationFiguresSerializer",
    CONVERSATION_FIELDS,
    "The figures of a group (no knowledge-base figures: those are organization-wide).",
)

BreakdownRowSerializer = _figures(
    "BreakdownRowSerializer",
    CONVERSATION_FIELDS,
    "One group's conversation figures.",
    key=serializers.JSONField(
        help_text="Agent id (integer), user id, or metadata value (null: not set)."
    ),
    label=serializers.CharField(allow_null=True, help_text="Agent name, user name or value."),
)


class BreakdownSerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=["agent", "user", "metadata"])
    groupKey = serializers.CharField(required=False, help_text="With by=metadata.")
    rows = BreakdownRowSerializer(many=True, help_text="By messageCount, then key; at most limit.")
    others = ConversationFiguresSerializer(help_text="The groups not shown, together.")
    truncated = serializers.BooleanField(help_text="Whether groups were left out of rows.")


class ChangeSerializer(serializers.Serializer):
    delta = serializers.IntegerField(help_text="Current minus previous.")
    percent = serializers.FloatField(
        allow_null=True, help_text="100 * delta / previous, 2 decimals; null if previous is 0."
    )


ChangesSerializer = type(
    "ChangesSerializer",
    (serializers.Serializer,),
    {name: ChangeSerializer() for name in ALL_FIGURES},
)


StatsReportSerializer = _figures(
    "StatsReportSerializer",
    ALL_FIGURES,
    "The sixteen figures; with tz, interval, groupBy or compare also the parts they add, and "
    "generatedAt / dataThrough.",
    generatedAt=serializers.CharField(required=False, help_text="When the answer was made."),
    dataThrough=serializers.CharField(
        required=False, help_text="Everything committed up to this instant is reflected."
    ),
    series=BucketSerializer(many=True, required=False, help_text="With interval."),
    breakdown=BreakdownSerializer(required=False, help_text="With groupBy."),
    previous=StatsSerializer(required=False, help_text="With compare=previous."),
    change=ChangesSerializer(required=False, help_text="With compare=previous."),
)
