"""Response and error shapes, for the OpenAPI schema."""

from rest_framework import serializers

from stats.metrics import METRICS


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable error code.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    parameter = serializers.CharField(
        required=False, help_text="The offending query parameter, where there is one."
    )


StatsSerializer = type(
    "StatsSerializer",
    (serializers.Serializer,),
    {
        metric.name: serializers.IntegerField(min_value=0, help_text=metric.meaning)
        for metric in METRICS
    },
)
StatsSerializer.__doc__ = "The sixteen figures of STATS.md; every one always present."
