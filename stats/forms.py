"""The admin usage-stats page's form: the endpoint's parameters, for one chosen organization."""

from datetime import UTC, datetime, timedelta
from zoneinfo import available_timezones

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from asteragents.datetimes import isoformat_z, parse_instant
from asteragents.models import Organization
from stats.metrics import METRICS
from stats.report import ReportOptions
from stats.selectors import StatsQuery
from stats.zones import INTERVALS, parse_zone

# With no range given, the page (like dashboard_stats) shows the last 30 days up to now.
DEFAULT_RANGE = timedelta(days=30)
INSTANT_HELP = (
    "ISO 8601: 2024-03-01 (a whole day in the time zone) or 2024-03-01T09:00:00Z. Inclusive."
)
DEFAULT_LIMIT = 10
LIMIT_MESSAGE = "Enter a whole number from 1 to 100."
INTERVAL_CHOICES = [("", "None")] + [(name, name.capitalize()) for name in INTERVALS]
GROUPS = [("", "None"), ("agent", "Agent"), ("user", "User"), ("metadata", "Metadata value")]
DEFAULT_CHART_METRIC = "messageCount"


def zone_names() -> list[str]:
    """What the time zone box suggests: every IANA name the server knows, UTC included."""
    return sorted(available_timezones() | {"UTC"})


def resolve_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """Fill a missing bound: To defaults to now, From to 30 days before To."""
    end = end or timezone.now()
    return start or end - DEFAULT_RANGE, end


def _exact_text(label: str, help_text: str) -> forms.CharField:
    # Exact strings as the endpoint takes them: a metadata key may have spaces.
    return forms.CharField(label=label, required=False, strip=False, help_text=help_text)


class UsageStatsForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.order_by("name", "id"), empty_label="Choose…"
    )
    # Declared before From and To: their date-only values are days in this zone.
    tz = forms.CharField(
        label="Time zone",
        required=False,
        help_text="IANA name, e.g. Europe/Berlin: the days of a date-only From/To and the "
        "calendar of the series. Default: UTC.",
        widget=forms.TextInput(attrs={"list": "usage-tz-names", "autocomplete": "off"}),
    )
    start = forms.CharField(
        label="From",
        required=False,
        help_text=INSTANT_HELP + " Default: 30 days before To.",
    )
    end = forms.CharField(label="To", required=False, help_text=INSTANT_HELP + " Default: now.")
    user = _exact_text("User id", "Only this user's conversations (Clerk user_…).")
    agent = forms.IntegerField(label="Agent id", required=False, help_text="Only this agent.")
    metadata_key = _exact_text(
        "Metadata key", "Only members whose metadata in this organization has this key."
    )
    metadata_value = _exact_text(
        "Metadata value", "Only members with a matching value (at the key, if given)."
    )

    interval = forms.ChoiceField(
        label="Series",
        choices=INTERVAL_CHOICES,
        required=False,
        help_text="Figures per local hour, day, ISO week (from Monday) or month; at most "
        "1,000 buckets.",
    )
    chart_metric = forms.ChoiceField(
        label="Chart",
        choices=[(metric.name, metric.name) for metric in METRICS],
        initial=DEFAULT_CHART_METRIC,
        required=False,
        help_text="The figure the series chart draws. Default: messageCount.",
    )
    group_by = forms.ChoiceField(
        label="Group by",
        choices=GROUPS,
        required=False,
        help_text="Conversation figures per agent, user or metadata value, most messages first.",
    )
    group_key = _exact_text("Group key", "The metadata key of Group by: Metadata value.")
    limit = forms.IntegerField(
        label="Groups listed",
        required=False,
        initial=DEFAULT_LIMIT,
        help_text=f"1 to 100; the rest are summed as others. Default: {DEFAULT_LIMIT}.",
        error_messages={"invalid": LIMIT_MESSAGE},
        validators=[
            MinValueValidator(1, message=LIMIT_MESSAGE),
            MaxValueValidator(100, message=LIMIT_MESSAGE),
        ],
        # Not the browser's own min/max check: the form says what is wrong, like the rest.
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 4}),
    )
    compare = forms.BooleanField(
        label="Compare with the previous period",
        required=False,
        help_text="The totals of the period of the same length just before From, and the change.",
    )

    def clean_tz(self):
        text = self.cleaned_data["tz"].strip()
        if not text:
            return None
        try:
            return parse_zone(text)
        except ValueError:
            raise forms.ValidationError(
                "%(value)s is not an IANA time zone (e.g. Europe/Berlin, Asia/Kolkata, UTC).",
                code="invalid_zone",
                params={"value": repr(text)},
            ) from None

    def _instant(self, name: str, bound: str):
        text = self.cleaned_data.get(name, "").strip()
        if not text:
            return None
        zone = self.cleaned_data.get("tz") or UTC
        try:
            return parse_instant(text, bound=bound, zone=zone)
        except ValueError:
            raise forms.ValidationError(
                "%(value)s is not an ISO 8601 date or datetime (e.g. 2024-03-01T09:00:00Z).",
                code="invalid_instant",
                params={"value": repr(text)},
            ) from None

    def clean_start(self):
        return self._instant("start", "start")

    def clean_end(self):
        return self._instant("end", "end")

    def clean(self):
        cleaned = super().clean()
        group_by, group_key = cleaned.get("group_by"), cleaned.get("group_key")
        if group_by == "metadata" and not group_key:
            self.add_error(
                "group_key", "Give the metadata key to group by, e.g. plan (Group by: Metadata)."
            )
        elif group_key and group_by != "metadata":
            self.add_error("group_key", "A group key is only for Group by: Metadata value.")
        if "start" not in cleaned or "end" not in cleaned:
            return cleaned  # already a field error
        start, end = resolve_range(cleaned["start"], cleaned["end"])
        if start > end:
            raise forms.ValidationError(
                "From (%(start)s) is later than To (%(end)s).",
                code="invalid_range",
                params={"start": isoformat_z(start), "end": isoformat_z(end)},
            )
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def stats_query(self) -> StatsQuery:
        """The scope to count; the form must be valid."""
        data = self.cleaned_data
        return StatsQuery(
            organization_id=data["organization"].pk,
            start=data["start"],
            end=data["end"],
            # An empty box is a filter left out, as an empty parameter is for the endpoint.
            user_id=data["user"] or None,
            agent_id=data["agent"],
            metadata_key=data["metadata_key"] or None,
            metadata_value=data["metadata_value"] or None,
        )

    def report_options(self) -> ReportOptions:
        """What to add to the figures; the form must be valid."""
        data = self.cleaned_data
        return ReportOptions(
            zone=data["tz"],
            interval=data["interval"] or None,
            group_by=data["group_by"] or None,
            group_key=data["group_key"] or None,
            limit=data["limit"] or DEFAULT_LIMIT,
            compare_previous=data["compare"],
        )

    @property
    def chart_metric_name(self) -> str:
        return self.cleaned_data.get("chart_metric") or DEFAULT_CHART_METRIC
