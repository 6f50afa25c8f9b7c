"""The admin usage-stats page's form: the endpoint's filters, for one chosen organization."""

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone

from asteragents.datetimes import isoformat_z, parse_instant
from asteragents.models import Organization
from stats.selectors import StatsQuery

# With no range given, the page (like dashboard_stats) shows the last 30 days up to now.
DEFAULT_RANGE = timedelta(days=30)
INSTANT_HELP = "ISO 8601: 2024-03-01 (a whole day) or 2024-03-01T09:00:00Z. Inclusive."


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

    def _instant(self, name: str, bound: str):
        text = self.cleaned_data.get(name, "").strip()
        if not text:
            return None
        try:
            return parse_instant(text, bound=bound)
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
