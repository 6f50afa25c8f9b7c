"""The admin's usage-stats page: staff only, the selector's figures, errors in the form."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from asteragents.datetimes import parse_instant
from stats.selectors import StatsQuery, stats_compute
from tests.admin.dataset import (
    MARCH,
    MARCH_AGENT_8,
    MARCH_ALL,
    MARCH_BETA,
    MARCH_BOB,
    ORG,
    create_dataset,
)

pytestmark = pytest.mark.django_db

PAGE = "/admin/asteragents/organization/usage-stats/"
FIGURE = re.compile(r'data-figure="(\w+)">([0-9,]+)<')


def shown_figures(response) -> dict[str, int]:
    """The figures as the page prints them, commas removed."""
    html = response.content.decode()
    return {name: int(value.replace(",", "")) for name, value in FIGURE.findall(html)}


def march(**filters) -> dict:
    return {"organization": ORG, "start": MARCH["from"], "end": MARCH["to"], **filters}


@pytest.fixture
def dataset():
    create_dataset()


@pytest.fixture
def viewer(client):
    """A staff member allowed to view organizations, not a superuser."""
    user = get_user_model().objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_organization"))
    client.force_login(user)
    return client


def test_the_page_is_where_the_admin_says():
    assert reverse("admin:asteragents_organization_usage_stats") == PAGE


def test_anonymous_is_sent_to_login(client):
    response = client.get(PAGE, march())

    assert response.status_code == 302
    assert response["Location"].startswith(f"/admin/login/?next={PAGE}")


def test_staff_without_the_organization_view_right_is_refused(client):
    client.force_login(get_user_model().objects.create_user("clerk", is_staff=True))

    assert client.get(PAGE).status_code == 403


def test_non_staff_is_sent_to_login(client):
    client.force_login(get_user_model().objects.create_user("someone"))

    assert client.get(PAGE).status_code == 302


def test_the_empty_form_shows_no_figures(dataset, viewer):
    response = viewer.get(PAGE)

    assert response.status_code == 200
    assert shown_figures(response) == {}
    assert not response.context["form"].errors
    assert '<option value="org_acme">Acme Corp</option>' in response.content.decode()


@pytest.mark.parametrize(
    "filters, expected",
    [
        ({}, MARCH_ALL),
        ({"agent": "8"}, MARCH_AGENT_8),
        ({"user": "user_bob"}, MARCH_BOB),
        ({"metadata_key": "plan", "metadata_value": "beta"}, MARCH_BETA),
        ({"metadata_value": "beta", "user": "", "agent": ""}, MARCH_BETA),
    ],
)
def test_figures_are_the_written_out_ones(dataset, viewer, filters, expected):
    response = viewer.get(PAGE, march(**filters))

    assert response.status_code == 200
    assert shown_figures(response) == expected


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"agent": "8", "metadata_key": "seats"},
        {"start": "2024-03-01T09:00:01Z", "end": "2024-03-10T12:05"},
        {"organization": "org_other"},
    ],
)
def test_figures_equal_the_selector_for_the_same_scope(dataset, viewer, filters):
    params = march(**filters)
    query = StatsQuery(
        organization_id=params["organization"],
        start=parse_instant(params["start"], bound="start"),
        end=parse_instant(params["end"], bound="end"),
        agent_id=int(params["agent"]) if "agent" in params else None,
        metadata_key=params.get("metadata_key"),
    )

    response = viewer.get(PAGE, params)

    assert shown_figures(response) == stats_compute(query=query)


def test_figures_are_printed_with_thousands_separators_and_the_range(dataset, viewer):
    html = viewer.get(PAGE, march()).content.decode()

    assert 'data-figure="kbExtractTotalTokens">18,110<' in html
    assert "2024-03-01T00:00:00Z → 2024-03-31T23:59:59.999999Z" in html


def test_a_range_left_out_is_the_last_30_days(dataset, viewer):
    response = viewer.get(PAGE, {"organization": ORG})

    assert response.status_code == 200
    query = response.context["query"]
    assert query.end - query.start == timedelta(days=30)
    assert shown_figures(response)["messageCount"] == 0  # the dataset is in 2024


@pytest.mark.parametrize(
    "params, field, message",
    [
        (march(start="March 1st"), "start", "'March 1st' is not an ISO 8601 date or datetime"),
        (march(end="2024-02-30"), "end", "'2024-02-30' is not an ISO 8601 date or datetime"),
        (march(start="2024-04-01"), "__all__", "From (2024-04-01T00:00:00Z) is later than To"),
        (march(organization="org_nope"), "organization", "Select a valid choice."),
        ({"start": "2024-03-01"}, "organization", "This field is required."),
        (march(agent="seven"), "agent", "Enter a whole number."),
        (march(user="user\x00ann"), "user", "Null characters are not allowed."),
    ],
)
def test_bad_input_is_a_form_error_not_a_500(dataset, viewer, params, field, message):
    response = viewer.get(PAGE, params)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    html = response.content.decode()
    assert "errornote" in html
    assert shown_figures(response) == {}


def test_the_page_costs_a_fixed_number_of_queries(dataset, viewer, django_assert_num_queries):
    # Session, user and its two permission sets (4), the chosen organization (1), the
    # selector (3: messages, feedback, files) in the report's one snapshot (2: a savepoint
    # and its release inside the test's transaction), the organization options (1).
    with django_assert_num_queries(11):
        viewer.get(PAGE, march(agent="8"))


# --- series chart, breakdown, comparison (issue 7) ----------------------------------------------

BAR = re.compile(
    r'<rect class="bar"[^>]*data-start="([^"]+)" data-value="(\d+)"><title>([^<]*)</title>'
)
ASSET = re.compile(r'\b(?:src|href)="([^"]*)"')


class _TableReader(HTMLParser):
    """The text of each cell, row by row, of the table with the given id."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id, self.inside, self.rows = table_id, False, []

    def handle_starttag(self, tag, attrs):
        if tag == "table" and ("id", self.table_id) in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.inside and self.rows and self.rows[-1]:
            self.rows[-1][-1] += data.strip()


def table_rows(html: str, table_id: str) -> list[list[str]]:
    reader = _TableReader(table_id)
    reader.feed(html)
    return reader.rows


def bars(response) -> list[tuple[str, int, str]]:
    """The chart's bars: bucket start, value and the <title> a pointer or reader gets."""
    return [
        (start, int(value), title) for start, value, title in BAR.findall(response.content.decode())
    ]


def test_weekly_series_draws_a_bar_per_iso_week(dataset, viewer):
    response = viewer.get(PAGE, march(interval="week"))

    assert response.status_code == 200
    # m1, m2 | m3 | - | m4 | - in the weeks from Monday Feb 26 to Monday Mar 25.
    assert [(start, value) for start, value, _ in bars(response)] == [
        ("2024-02-26T00:00:00+00:00", 2),
        ("2024-03-04T00:00:00+00:00", 1),
        ("2024-03-11T00:00:00+00:00", 0),
        ("2024-03-18T00:00:00+00:00", 1),
        ("2024-03-25T00:00:00+00:00", 0),
    ]
    assert bars(response)[0][2] == "2024-02-26T00:00:00+00:00 – 2024-03-04T00:00:00+00:00: 2"
    html = response.content.decode()
    assert 'data-bars="5"' in html
    assert '<title id="usage-chart-title">messageCount per week (UTC)</title>' in html
    # The series table lists the same buckets under the chart.
    assert html.count('<tr data-start="') == 5


def test_the_chart_draws_the_chosen_figure_to_scale(dataset, viewer):
    response = viewer.get(PAGE, march(interval="week", chart_metric="kbExtractInputTokens"))

    # kf1 15,000 | - | kf2 2,000 | - | kf5_last 100: the axis tops at 20,000.
    assert [value for _, value, _ in bars(response)] == [15_000, 0, 2_000, 0, 100]
    heights = re.findall(r'class="bar"[^>]*height="([0-9.]+)"', response.content.decode())
    plot_height = 224 - 12
    assert [float(height) for height in heights] == [
        round(plot_height * value / 20_000, 2) for value in (15_000, 0, 2_000, 0, 100)
    ]
    assert ">20,000</text>" in response.content.decode()


def test_daily_series_in_berlin_across_the_spring_change(dataset, viewer):
    params = march(start="2024-03-30", end="2024-04-01", tz="Europe/Berlin", interval="day")

    response = viewer.get(PAGE, params)

    # m5_april (Apr 1 00:00Z) is 02:00 on Berlin's April 1; the day before has 23 hours.
    assert [(start, value) for start, value, _ in bars(response)] == [
        ("2024-03-30T00:00:00+01:00", 0),
        ("2024-03-31T00:00:00+01:00", 0),
        ("2024-04-01T00:00:00+02:00", 1),
    ]
    assert bars(response)[1][2] == "2024-03-31T00:00:00+01:00 – 2024-04-01T00:00:00+02:00: 0"
    html = response.content.decode()
    assert "2024-03-30T00:00:00+01:00 → 2024-04-01T23:59:59.999999+02:00" in html
    assert 'id="usage-generated-at">' in html


def test_no_interval_no_chart(dataset, viewer):
    html = viewer.get(PAGE, march(tz="Asia/Kolkata")).content.decode()

    assert 'id="usage-chart"' not in html
    assert 'id="usage-series"' not in html
    assert 'id="usage-generated-at">' in html  # tz alone adds the instants


def test_agent_breakdown_lists_the_top_group_and_others(dataset, viewer):
    response = viewer.get(PAGE, march(group_by="agent", limit="1"))

    html = response.content.decode()
    rows = {row[0]: (row[1], row[2:]) for row in table_rows(html, "usage-breakdown")[1:]}
    # Support (7): m1, m2 and f1; Sales (8), hidden by the limit: m3, m4 and f2.
    assert rows == {
        "7": ("Support", "1 2 2 860 800 60 1 1 1 1 0".split()),
        "Others": ("", "2 2 1 3,000 2,200 800 2 1 1 0 1".split()),
    }
    assert 'data-truncated="true"' in html
    assert "Truncated: only the top 1 group by messages is listed" in html


def test_metadata_breakdown_not_truncated_says_so(dataset, viewer):
    html = viewer.get(PAGE, march(group_by="metadata", group_key="plan")).content.decode()

    assert re.findall(r'data-key="([^"]*)"', html) == ["beta", "pro", "Others"]
    assert 'data-truncated="false"' in html
    assert "Every group with activity in the range is listed; Others is zero." in html


def test_compare_adds_previous_and_change_columns(dataset, viewer):
    html = viewer.get(PAGE, march(compare="on")).content.decode()

    # The 31 days before March hold only kf3_feb (7 + 7 tokens).
    assert 'data-previous="messageCount">0<' in html
    assert 'data-delta="messageCount">+4<' in html
    assert 'data-percent="messageCount">–<' in html
    assert 'data-previous="kbFileCount">1<' in html
    assert 'data-delta="kbFileCount">+2<' in html
    assert 'data-percent="kbFileCount">+200.00 %<' in html
    assert 'data-percent="kbExtractTotalTokens">+129,257.14 %<' not in html  # no separators
    assert 'data-percent="kbExtractTotalTokens">+129257.14 %<' in html  # 18,096 / 14


def test_without_compare_there_are_no_change_columns(dataset, viewer):
    html = viewer.get(PAGE, march(interval="day")).content.decode()

    assert "data-previous=" not in html
    assert "Previous period" not in html


def test_the_page_loads_nothing_from_outside_this_app(dataset, viewer):
    html = viewer.get(
        PAGE, march(interval="day", group_by="user", compare="on", tz="Europe/Berlin")
    ).content.decode()

    assert 'id="usage-chart"' in html
    external = [url for url in ASSET.findall(html) if not url.startswith(("/", "#", "?"))]
    assert external == []
    assert "<script" not in html.split('id="content-main"')[1]


@pytest.mark.parametrize(
    "params, field, message",
    [
        (march(tz="Mars/Olympus"), "tz", "'Mars/Olympus' is not an IANA time zone"),
        (march(interval="year"), "interval", "Select a valid choice. year is not one of"),
        (march(group_by="team"), "group_by", "Select a valid choice. team is not one of"),
        (march(limit="0"), "limit", "Enter a whole number from 1 to 100."),
        (march(limit="101"), "limit", "Enter a whole number from 1 to 100."),
        (march(limit="x"), "limit", "Enter a whole number from 1 to 100."),
        (march(group_by="metadata"), "group_key", "Give the metadata key to group by"),
        (march(group_key="plan"), "group_key", "A group key is only for Group by: Metadata"),
        (march(chart_metric="bogus"), "chart_metric", "Select a valid choice."),
        (
            march(start="2024-03-01", end="2024-04-11", interval="hour"),
            "interval",
            "Hour buckets from 2024-03-01T00:00:00Z to 2024-04-11T23:59:59.999999Z would be "
            "more than 1,000, the most a series may have.",
        ),
        (
            # 00:00 on Mar 1 to 16:00 on Apr 11: 41 x 24 + 17 = 1,001 buckets.
            march(start="2024-03-01T00:30:00Z", end="2024-04-11T16:29:59Z", interval="hour"),
            "interval",
            "Hour buckets from 2024-03-01T00:30:00Z to 2024-04-11T16:29:59Z would be more than",
        ),
    ],
)
def test_bad_options_are_form_errors(dataset, viewer, params, field, message):
    response = viewer.get(PAGE, params)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert any(message in error for error in errors[field]), errors
    assert "errornote" in response.content.decode()
    assert shown_figures(response) == {}
    assert bars(response) == []


def test_date_only_bounds_are_days_in_the_chosen_zone(dataset, viewer):
    response = viewer.get(PAGE, march(tz="Asia/Kathmandu"))

    query = response.context["query"]
    # Kathmandu is +05:45: its March 1 begins at Feb 29, 18:15 UTC.
    assert query.start == parse_instant("2024-02-29T18:15:00Z")
    assert query.end == parse_instant("2024-03-31T18:14:59.999999Z", bound="end")


def test_metadata_breakdown_shows_members_without_the_key_as_not_set(dataset, viewer):
    html = viewer.get(PAGE, march(group_by="metadata", group_key="seats")).content.decode()

    # Ann has seats 3 (three messages), Bob has no "seats" (one message).
    rows = table_rows(html, "usage-breakdown")
    assert [row[:2] for row in rows[1:]] == [["3", "3"], ["(not set)", "(not set)"], ["Others", ""]]
    assert [row[3] for row in rows[1:]] == ["3", "1", "0"]  # messageCount
