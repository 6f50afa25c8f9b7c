"""Every admin page answers; activity data is read-only; links lead to filtered lists."""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from asteragents.models import Membership, Organization, User
from conversations.models import Agent, Conversation, Feedback, Message
from kb.models import KnowledgeBase, KnowledgeBaseFile
from tests.admin.dataset import create_dataset

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("asteragents", "conversations", "kb", "stats")
ACTIVITY_MODELS = [Conversation, Message, Feedback, KnowledgeBaseFile]
EDITABLE_MODELS = [Organization, User, Membership, Agent, KnowledgeBase]
HREF = re.compile(r'href="(/admin/[^"#]*)"')


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def registered_models():
    return list(admin.site._registry)


@pytest.fixture
def dataset():
    create_dataset()
    Group.objects.create(name="operators")
    get_user_model().objects.create_user("viewer", is_staff=True)


def test_every_project_model_is_registered():
    for app_label in PROJECT_APPS:
        for model in apps.get_app_config(app_label).get_models():
            assert admin.site.is_registered(model), model


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_changelist_and_change_page_answer_200_for_staff(dataset, admin_client, model):
    obj = model._default_manager.first()
    assert obj is not None, f"the dataset has no {model._meta.label}"

    assert admin_client.get(url(model, "changelist")).status_code == 200
    assert admin_client.get(url(model, "change", obj.pk)).status_code == 200
    # A search term that is no valid id for an integer key must not break the page.
    assert admin_client.get(url(model, "changelist"), {"q": "acme 7"}).status_code == 200


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_anonymous_is_sent_to_the_login_page(dataset, client, model):
    target = url(model, "changelist")

    response = client.get(target)

    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={target}"
    change = client.get(url(model, "change", model._default_manager.first().pk))
    assert change.status_code == 302


@pytest.mark.parametrize("model", EDITABLE_MODELS, ids=lambda m: m._meta.label)
def test_tenancy_and_catalogue_models_can_be_added_by_hand(admin_client, model):
    assert admin_client.get(url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", ACTIVITY_MODELS, ids=lambda m: m._meta.label)
def test_activity_is_read_only_even_for_a_superuser(dataset, admin_client, admin_user, rf, model):
    request = rf.get("/")
    request.user = admin_user
    model_admin = admin.site._registry[model]
    obj = model._default_manager.first()

    assert model_admin.has_view_permission(request, obj)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)
    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.get(url(model, "delete", obj.pk)).status_code == 403
    assert admin_client.post(url(model, "change", obj.pk), {}).status_code == 403
    changelist = admin_client.get(url(model, "changelist")).content.decode()
    assert url(model, "add") not in changelist
    assert 'name="action"' not in changelist  # no bulk delete either
    assert model._default_manager.filter(pk=obj.pk).exists()


def test_message_page_pretty_prints_json_and_lists_its_feedback(dataset, admin_client):
    page = admin_client.get(url(Message, "change", "m2")).content.decode()

    # usage as indented JSON inside <pre>, keys sorted.
    assert '<pre class="json">{\n  &quot;inputTokens&quot;: 800,\n' in page
    assert "f1" in page  # the feedback inline
    assert url(Conversation, "change", "conv_1") in page


def test_conversation_page_lists_its_messages_in_order_with_tokens_and_feedback(
    dataset, admin_client
):
    page = admin_client.get(url(Conversation, "change", "conv_1")).content.decode()

    inline = page[page.index('id="messages-group"') :]
    assert inline.index(url(Message, "change", "m1")) < inline.index(url(Message, "change", "m2"))
    rows = re.findall(r'<td class="field-total_tokens">\s*<p>(\d+)</p>', inline)
    assert rows == ["0", "860"]
    assert re.findall(r'<td class="field-feedback">\s*<p>([^<]*)</p>', inline) == [
        "-",
        "1 helpful, 0 not",
    ]


def test_changelist_columns_show_usage_and_tool_calls(dataset, admin_client):
    page = admin_client.get(url(Message, "changelist")).content.decode()

    row = page[page.index(url(Message, "change", "m2")) :].split("</tr>")[0]
    assert '<td class="field-created">2024-03-01T09:00:30Z</td>' in row
    assert '<td class="field-tools">2</td>' in row
    assert '<td class="field-input">800</td>' in row
    assert '<td class="field-output">60</td>' in row
    assert '<td class="field-total">860</td>' in row


@pytest.mark.parametrize(
    "model, filters, expected",
    [
        (Membership, {"organization__exact": "org_acme"}, {"user_ann", "user_bob"}),
        (Conversation, {"organization__exact": "org_acme"}, {"conv_1", "conv_2", "conv_3"}),
        (Conversation, {"user__exact": "user_bob"}, {"conv_2"}),
        (Conversation, {"agent__exact": "8"}, {"conv_2", "conv_3"}),
        (Message, {"conversation__exact": "conv_3"}, {"m4", "m5_april"}),
        (Message, {"organization__exact": "org_other"}, {"m_other"}),
        (KnowledgeBaseFile, {"knowledge_base__exact": "kb_pricing"}, {"kf5_last"}),
    ],
)
def test_link_filters_narrow_the_changelist(dataset, admin_client, model, filters, expected):
    response = admin_client.get(url(model, "changelist"), filters)

    assert response.status_code == 200
    shown = {
        str(getattr(obj, "user_id", None) if model is Membership else obj.pk)
        for obj in response.context["cl"].result_list
    }
    assert shown == expected


@pytest.mark.parametrize(
    "model", [Organization, User, Membership, Agent, Conversation, KnowledgeBase, Message]
)
def test_every_link_in_a_changelist_leads_to_a_page(dataset, admin_client, model):
    page = admin_client.get(url(model, "changelist")).content.decode()
    table = page[page.index('id="result_list"') :]
    links = {href.replace("&amp;", "&") for href in HREF.findall(table)}

    assert links
    for link in links:
        assert admin_client.get(link).status_code == 200, link


def test_organization_row_links_to_its_members_conversations_messages_and_stats(
    dataset, admin_client
):
    page = admin_client.get(url(Organization, "changelist")).content.decode()

    assert f"{url(Membership, 'changelist')}?organization__exact=org_acme" in page
    assert f"{url(Conversation, 'changelist')}?organization__exact=org_acme" in page
    assert f"{url(Message, 'changelist')}?organization__exact=org_acme" in page
    assert f"{reverse('admin:asteragents_organization_usage_stats')}?organization=org_acme" in page


def test_admin_index_links_to_the_usage_stats_page(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert reverse("admin:asteragents_organization_usage_stats") in page
