"""The admin's usage-stats page: getStats for any organization, with its series drawn.

The chart is an inline SVG drawn here, on the server: the page loads nothing from outside
this app (no CDN, no script), and every bar carries a <title> with its bucket and value.
"""

from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.helpers import AdminForm
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from asteragents.datetimes import isoformat_z
from stats.breakdown import CONVERSATION_FIELDS
from stats.forms import UsageStatsForm, zone_names
from stats.metrics import METRIC_NAMES, METRICS
from stats.report import TooManyBuckets, stats_report
from stats.zones import MAX_BUCKETS

FIELDSETS = [
    (None, {"fields": ["organization", ("start", "end"), "tz"]}),
    ("Filters", {"fields": ["user", "agent", "metadata_key", "metadata_value"]}),
    ("Series", {"fields": [("interval", "chart_metric")]}),
    ("Breakdown", {"fields": [("group_by", "group_key", "limit")]}),
    ("Comparison", {"fields": ["compare"]}),
]


def _count(value: int) -> str:
    return f"{value:,}"


@dataclass(frozen=True)
class FigureRow:
    name: str
    meaning: str
    value: int
    previous: int | None = None
    delta: int | None = None
    percent: float | None = None

    @property
    def display(self) -> str:
        return _count(self.value)

    @property
    def previous_display(self) -> str:
        return _count(self.previous)

    @property
    def delta_display(self) -> str:
        return f"{self.delta:+,}" if self.delta else "0"

    @property
    def percent_display(self) -> str:
        # No percentage of nothing: the endpoint answers null where previous is 0.
        return "–" if self.percent is None else f"{self.percent:+.2f} %"


def _figure_rows(body: dict) -> list[FigureRow]:
    rows = []
    for metric in METRICS:
        extra = {}
        if "previous" in body:
            change = body["change"][metric.name]
            extra = {
                "previous": body["previous"][metric.name],
                "delta": change["delta"],
                "percent": change["percent"],
            }
        rows.append(FigureRow(metric.name, metric.meaning, body[metric.name], **extra))
    return rows


# --- The chart -------------------------------------------------------------------------------

# Drawing units of the SVG's viewBox; the browser scales it to the page's width.
CHART_WIDTH, CHART_HEIGHT = 960, 260
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 72, 952, 12, 224


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    start: str
    end: str
    value: int

    @property
    def title(self) -> str:
        return f"{self.start} – {self.end}: {self.value:,}"


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class BarChart:
    metric: str
    bars: list[Bar]
    y_ticks: list[Tick]
    x_labels: list[Tick]
    maximum: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    left: int = PLOT_LEFT
    right: int = PLOT_RIGHT
    top: int = PLOT_TOP
    bottom: int = PLOT_BOTTOM

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def description(self) -> str:
        count = len(self.bars)
        first, last = self.bars[0].start, self.bars[-1].end
        return (
            f"{count} bucket{'s' if count != 1 else ''} from {first} to {last}; "
            f"the highest {self.metric} is {self.maximum:,}."
        )


def _axis_top(maximum: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least `maximum` (1 for none)."""
    power = 1
    while True:
        for step in (1, 2, 5):
            if power * step >= maximum:
                return power * step
        power *= 10


def _bucket_label(start: str, interval: str) -> str:
    # "2024-03-31T00:00:00+01:00": the local date, and the local hour for hourly buckets.
    return start[:16].replace("T", " ") if interval == "hour" else start[:10]


def bar_chart(series: list[dict], metric: str, interval: str) -> BarChart:
    """One bar per bucket of `series`, heights in proportion to `metric` from a zero base."""
    values = [bucket[metric] for bucket in series]
    maximum = max(values, default=0)
    top = _axis_top(maximum)
    plot_width, plot_height = PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP
    slot = plot_width / len(series)
    # A gap between bars while they are wide enough to see one; touching bars beyond.
    gap = slot * 0.2 if slot >= 4 else 0
    bars = []
    for index, (bucket, value) in enumerate(zip(series, values, strict=True)):
        height = plot_height * value / top
        bars.append(
            Bar(
                x=round(PLOT_LEFT + index * slot + gap / 2, 2),
                y=round(PLOT_BOTTOM - height, 2),
                width=round(slot - gap, 2),
                height=round(height, 2),
                start=bucket["start"],
                end=bucket["end"],
                value=value,
            )
        )
    # Gridlines at zero, the top and the middle when that is a whole number.
    y_ticks = [
        Tick(PLOT_LEFT - 8, round(PLOT_BOTTOM - plot_height * tick / top, 2), _count(tick), "end")
        for tick in sorted({0, top // 2 if top % 2 == 0 else 0, top})
    ]
    first, last = bars[0], bars[-1]
    x_labels = [
        Tick(first.x, PLOT_BOTTOM + 20, _bucket_label(first.start, interval), "start"),
    ]
    if len(bars) > 1:
        x_labels.append(
            Tick(last.x + last.width, PLOT_BOTTOM + 20, _bucket_label(last.start, interval), "end")
        )
    return BarChart(metric, bars, y_ticks, x_labels, maximum)


# --- The page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    label: str
    values: list[str]
    is_others: bool = False


def _breakdown_rows(breakdown: dict) -> list[BreakdownRow]:
    rows = [
        BreakdownRow(
            key="(not set)" if row["key"] is None else str(row["key"]),
            label="" if row["label"] is None else str(row["label"]),
            values=[_count(row[name]) for name in CONVERSATION_FIELDS],
        )
        for row in breakdown["rows"]
    ]
    others = breakdown["others"]
    rows.append(
        BreakdownRow(
            key="Others",
            label="",
            values=[_count(others[name]) for name in CONVERSATION_FIELDS],
            is_others=True,
        )
    )
    return rows


def usage_stats_view(request, *, admin_site=admin.site):
    """Staff pick an organization, a range, filters and options; stats_report answers."""
    # The figures are organization data: the same right as viewing organizations.
    if not request.user.has_perm("asteragents.view_organization"):
        raise PermissionDenied
    form = UsageStatsForm(request.GET or None)
    query = body = options = None
    if form.is_bound and form.is_valid():
        query, options = form.stats_query(), form.report_options()
        try:
            body = stats_report(query=query, options=options)
        except TooManyBuckets:
            form.add_error(
                "interval",
                f"{options.interval.capitalize()} buckets from {isoformat_z(query.start)} to "
                f"{isoformat_z(query.end)} would be more than {MAX_BUCKETS:,}, the most a "
                "series may have. Choose a longer interval or a shorter range.",
            )
            query = None
    context = {
        **admin_site.each_context(request),
        "title": "Usage stats",
        "form": form,
        "adminform": AdminForm(form, FIELDSETS, {}),
        "zone_names": zone_names(),
        "query": query,
        "organization": form.cleaned_data["organization"] if query else None,
        "range": "",
        "rows": None,
    }
    if body is not None:
        zone = options.zone_or_utc if "generatedAt" in body else None
        context |= {
            "range": " → ".join(
                isoformat_z(moment) if zone is None else moment.astimezone(zone).isoformat()
                for moment in (query.start, query.end)
            ),
            "zone": zone,
            "rows": _figure_rows(body),
            "compare": "previous" in body,
            "generated_at": body.get("generatedAt"),
            "data_through": body.get("dataThrough"),
            "metric_names": METRIC_NAMES,
            "conversation_fields": CONVERSATION_FIELDS,
        }
        if "series" in body:
            metric = form.chart_metric_name
            context |= {
                "interval": options.interval,
                "chart": bar_chart(body["series"], metric, options.interval),
                "series": [
                    (bucket["start"], bucket["end"], [_count(bucket[n]) for n in METRIC_NAMES])
                    for bucket in body["series"]
                ],
            }
        if "breakdown" in body:
            breakdown = body["breakdown"]
            context |= {
                "breakdown": breakdown,
                "breakdown_rows": _breakdown_rows(breakdown),
            }
    return TemplateResponse(request, "admin/stats/usage_stats.html", context)
