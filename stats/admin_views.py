"""The admin's usage-stats page: the endpoint's sixteen figures for any organization."""

from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.helpers import AdminForm
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from asteragents.datetimes import isoformat_z
from stats.forms import UsageStatsForm
from stats.metrics import METRICS
from stats.selectors import stats_compute

FIELDSETS = [
    (None, {"fields": ["organization", ("start", "end")]}),
    ("Filters", {"fields": ["user", "agent", "metadata_key", "metadata_value"]}),
]


@dataclass(frozen=True)
class FigureRow:
    name: str
    meaning: str
    value: int

    @property
    def display(self) -> str:
        return f"{self.value:,}"


def usage_stats_view(request, *, admin_site=admin.site):
    """Staff pick an organization, a range and filters; the figures come from stats_compute."""
    # The figures are organization data: the same right as viewing organizations.
    if not request.user.has_perm("asteragents.view_organization"):
        raise PermissionDenied
    form = UsageStatsForm(request.GET or None)
    query = rows = None
    if form.is_bound and form.is_valid():
        query = form.stats_query()
        figures = stats_compute(query=query)
        rows = [FigureRow(metric.name, metric.meaning, figures[metric.name]) for metric in METRICS]
    context = {
        **admin_site.each_context(request),
        "title": "Usage stats",
        "form": form,
        "adminform": AdminForm(form, FIELDSETS, {}),
        "query": query,
        "organization": form.cleaned_data["organization"] if query else None,
        "rows": rows,
        "range": f"{isoformat_z(query.start)} → {isoformat_z(query.end)}" if query else "",
    }
    return TemplateResponse(request, "admin/stats/usage_stats.html", context)
