"""The getStats query parameters of STATS.md, validated into typed values."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.validators import ProhibitNullCharactersValidator
from django.http import QueryDict
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from asteragents.datetimes import Bound, parse_instant
from asteragents.errors import ApiError
from stats.breakdown import GROUP_BY
from stats.zones import INTERVALS, TooManyBuckets, bucket_bounds, parse_zone

_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)


@extend_schema_field(
    {
        "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
        "example": "2024-03-01T00:00:00Z",
    }
)
class InstantParam(serializers.Field):
    """An ISO 8601 date or datetime; a date alone covers its whole (UTC) day."""

    default_error_messages = {
        "invalid": "{value!r} is not an ISO 8601 date or datetime (e.g. 2024-03-01T09:00:00Z).",
    }

    def __init__(self, *, bound: Bound, **kwargs):
        self.bound = bound
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> datetime:
        try:
            # A date alone is a day of the caller's zone (tz), UTC by default.
            return parse_instant(str(data), bound=self.bound, zone=self.context["zone"])
        except ValueError:
            self.fail("invalid", value=data)

    def to_representation(self, value):
        return value.isoformat()


# An empty value counts as left out (STATS.md), so the schema admits it too.
_LEFT_OUT = {"type": "string", "maxLength": 0}


@extend_schema_field(
    {"anyOf": [{"type": "boolean"}, _LEFT_OUT], "description": "true/false (any case) or 1/0."}
)
class BooleanParam(serializers.Field):
    default_error_messages = {"invalid": "{value!r} is not a boolean (use true/false or 1/0)."}

    def to_internal_value(self, data) -> bool:
        try:
            return _BOOLEANS[str(data).lower()]
        except KeyError:
            self.fail("invalid", value=data)

    def to_representation(self, value):
        return value


# Any integer: one beyond 64 bits names no agent and answers zeros, like an unknown agent.
@extend_schema_field({"anyOf": [{"type": "integer"}, _LEFT_OUT]})
class IntegerParam(serializers.Field):
    default_error_messages = {"invalid": "{value!r} is not an integer."}

    def to_internal_value(self, data) -> int:
        if not _INTEGER.fullmatch(str(data)):
            self.fail("invalid", value=data)
        return int(data)

    def to_representation(self, value):
        return value


@extend_schema_field({"anyOf": [{"type": "integer", "minimum": 1, "maximum": 100}, _LEFT_OUT]})
class LimitParam(IntegerParam):
    default_error_messages = {
        "invalid": "{value!r} is not an integer.",
        "out_of_range": "{value} is not between 1 and 100: a breakdown shows at most 100 rows.",
    }

    def to_internal_value(self, data) -> int:
        value = super().to_internal_value(data)
        if not 1 <= value <= 100:
            self.fail("out_of_range", value=value)
        return value


@extend_schema_field({"type": "string", "example": "Europe/Berlin"})
class ZoneParam(serializers.Field):
    """An IANA time zone name; parsed first, since it gives date-only from/to their day."""

    def to_internal_value(self, data):
        try:
            return parse_zone(str(data))
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None

    def to_representation(self, value):
        return str(value)


def _choice(choices: tuple[str, ...], **kwargs) -> serializers.ChoiceField:
    """One of `choices`; the schema says so, and admits the empty value (left out)."""
    schema = {"anyOf": [{"type": "string", "enum": list(choices)}, _LEFT_OUT]}
    field_class = extend_schema_field(schema)(type("ChoiceParam", (serializers.ChoiceField,), {}))
    message = f"{{input!r}} is not one of {', '.join(choices)}."
    return field_class(
        choices=choices, required=False, error_messages={"invalid_choice": message}, **kwargs
    )


class ExactTextParam(serializers.CharField):
    """A string taken exactly as given: no trimming (metadata values may have spaces), and
    NUL is not refused here (such a value simply matches nothing)."""

    def __init__(self, **kwargs):
        # allow_blank: an empty value never gets here; it counts as left out.
        super().__init__(required=False, trim_whitespace=False, allow_blank=True, **kwargs)
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(validator, ProhibitNullCharactersValidator)
        ]


class StatsParamsSerializer(serializers.Serializer):
    # `from` is a Python keyword, hence the explicit source names.
    from_ = InstantParam(bound="start", source="start", help_text="Start of the range, inclusive.")
    to = InstantParam(bound="end", source="end", help_text="End of the range, inclusive.")
    allInOrg = BooleanParam(
        required=False,
        default=False,
        source="all_in_org",
        help_text="Every user of the organization (org:admin only).",
    )
    agentId = IntegerParam(required=False, source="agent_id", help_text="Only this agent.")
    userId = ExactTextParam(source="user_id", help_text="Only this user's conversations.")
    metadataKey = ExactTextParam(
        source="metadata_key", help_text="Only users whose membership metadata has this key."
    )
    metadataValue = ExactTextParam(
        source="metadata_value",
        help_text="Only users whose metadata has a matching value (at metadataKey if given).",
    )

    # Issue 7's options: each one adds to the answer; without them it is the sixteen figures.
    tz = ZoneParam(
        required=False,
        source="zone",
        help_text="IANA time zone of date-only from/to and of the series' buckets. Default UTC.",
    )
    interval = _choice(
        INTERVALS, help_text="Adds `series`: the figures per local hour, day, ISO week or month."
    )
    groupBy = _choice(
        GROUP_BY,
        source="group_by",
        help_text="Adds `breakdown`: the conversation figures per agent, user or metadata value.",
    )
    groupKey = ExactTextParam(
        source="group_key", help_text="The metadata key to group by (with groupBy=metadata)."
    )
    limit = LimitParam(
        required=False, default=10, help_text="Breakdown rows shown (1-100, default 10)."
    )
    compare = _choice(
        ("previous",), help_text="Adds `previous` and `change`: the period just before `from`."
    )

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, attrs):
        if attrs["start"] > attrs["end"]:
            raise serializers.ValidationError(
                {"from": "from is later than to."}, code="invalid_range"
            )
        if attrs.get("group_by") == "metadata" and attrs.get("group_key") is None:
            raise serializers.ValidationError(
                {"groupKey": "groupBy=metadata needs groupKey, the metadata key to group by."},
                code="required",
            )
        if attrs.get("group_key") is not None and attrs.get("group_by") != "metadata":
            raise serializers.ValidationError(
                {"groupKey": "groupKey is only used with groupBy=metadata."}, code="invalid"
            )
        if interval := attrs.get("interval"):
            zone = self.context["zone"]
            try:
                bucket_bounds(attrs["start"], attrs["end"], zone, interval)
            except TooManyBuckets as error:
                raise serializers.ValidationError(
                    {"interval": str(error)}, code="too_many_buckets"
                ) from None
        return attrs


PARAMETER_NAMES = (
    "from", "to", "allInOrg", "agentId", "userId", "metadataKey", "metadataValue",
    "tz", "interval", "groupBy", "groupKey", "limit", "compare",
)  # fmt: skip


UTC_ZONE = ZoneInfo("UTC")


def _zone(data: dict) -> ZoneInfo | None:
    """The tz parameter, read before the others: a date-only from/to is a day in it."""
    if "tz" not in data:
        return None
    try:
        return parse_zone(data["tz"])
    except ValueError as error:
        raise ApiError(f"Invalid tz: {error}", code="invalid_parameter", parameter="tz") from None


def parse_stats_params(query_params: QueryDict) -> dict:
    """Validated parameters, or a 400 ApiError naming the first bad one.

    An empty value counts as left out; a parameter given twice is an error.
    """
    data = {}
    for name in PARAMETER_NAMES:
        values = query_params.getlist(name)
        if len(values) > 1:
            raise ApiError(
                f"The parameter {name} is given {len(values)} times; give it once.",
                code="duplicate_parameter",
                parameter=name,
            )
        if values and values[0] != "":
            data[name] = values[0]
    zone = _zone(data)
    serializer = StatsParamsSerializer(data=data, context={"zone": zone or UTC_ZONE})
    if not serializer.is_valid():
        name, messages = next(iter(serializer.errors.items()))
        message, code = str(messages[0]), messages[0].code
        if code == "required" and name == "groupKey":
            code = "missing_parameter"
        elif code == "required":
            message, code = f"The parameter {name} is required.", "missing_parameter"
        elif code == "invalid_range":
            message = f"Invalid range: {message}"
        elif code == "too_many_buckets":
            pass
        else:
            message, code = f"Invalid {name}: {message}", "invalid_parameter"
        raise ApiError(message, code=code, parameter=name)
    return serializer.validated_data
