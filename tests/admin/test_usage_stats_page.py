"""The admin's usage-stats page: staff only, the selector's figures, errors in the form."""

import re
from datetime import timedelta

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
    # selector (3: messages, feedback, files), the organization options (1).
    with django_assert_num_queries(9):
        viewer.get(PAGE, march(agent="8"))
