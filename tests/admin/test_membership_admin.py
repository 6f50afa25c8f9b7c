"""Memberships: role and publicMetadata are editable; the metadata must be a JSON object."""

import pytest
from django.urls import reverse

from asteragents.admin import MembershipForm
from asteragents.models import Membership
from conversations.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def membership():
    return MembershipFactory(
        organization=OrganizationFactory(id="org_acme"),
        user=UserFactory(id="user_ann"),
        role=Membership.Role.MEMBER,
        public_metadata={"plan": "beta"},
    )


def change_url(membership) -> str:
    return reverse("admin:asteragents_membership_change", args=[membership.pk])


def post(admin_client, membership, metadata: str, role: str = "org:admin"):
    return admin_client.post(change_url(membership), {"role": role, "public_metadata": metadata})


def test_role_and_an_object_are_saved(admin_client, membership):
    response = post(admin_client, membership, '{"plan": "gold", "seats": 3, "tags": ["a"]}')

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == "org:admin"
    assert membership.public_metadata == {"plan": "gold", "seats": 3, "tags": ["a"]}


@pytest.mark.parametrize(
    "metadata, message",
    [
        ('["beta"]', "Public metadata must be a JSON object ({...}), not a list."),
        ('"beta"', "Public metadata must be a JSON object ({...}), not a string."),
        ("42", "Public metadata must be a JSON object ({...}), not a number."),
        ("true", "Public metadata must be a JSON object ({...}), not a boolean."),
        ("{plan: beta}", "Enter a valid JSON."),
    ],
)
def test_anything_but_an_object_is_a_form_error(admin_client, membership, metadata, message):
    response = post(admin_client, membership, metadata)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"public_metadata": [message]}
    membership.refresh_from_db()
    assert (membership.role, membership.public_metadata) == ("org:member", {"plan": "beta"})


def test_an_emptied_box_means_no_metadata(admin_client, membership):
    assert post(admin_client, membership, "").status_code == 302

    membership.refresh_from_db()
    assert membership.public_metadata == {}


def test_the_form_alone_rejects_a_list():
    form = MembershipForm(data={"role": "org:member", "public_metadata": "[1, 2]"})

    assert form.errors["public_metadata"] == [
        "Public metadata must be a JSON object ({...}), not a list."
    ]


def test_organization_and_user_are_fixed_once_created(admin_client, membership):
    other = OrganizationFactory(id="org_other")

    admin_client.post(
        change_url(membership),
        {"role": "org:member", "public_metadata": "{}", "organization": other.pk},
    )

    membership.refresh_from_db()
    assert membership.organization_id == "org_acme"


def test_a_membership_is_added_with_autocomplete_fields(admin_client):
    OrganizationFactory(id="org_new")
    UserFactory(id="user_new")

    response = admin_client.post(
        reverse("admin:asteragents_membership_add"),
        {
            "organization": "org_new",
            "user": "user_new",
            "role": "org:member",
            "public_metadata": '{"department": "sales"}',
        },
    )

    assert response.status_code == 302
    added = Membership.objects.get(organization_id="org_new", user_id="user_new")
    assert added.public_metadata == {"department": "sales"}
    page = admin_client.get(reverse("admin:asteragents_membership_add")).content.decode()
    assert "admin-autocomplete" in page
