"""Admin pages cost a fixed number of queries, and big tables are not counted in full."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations import admin as conversations_admin
from conversations.admin import estimated_row_count
from conversations.factories import (
    ConversationFactory,
    FeedbackFactory,
    KnowledgeBaseFileFactory,
    MembershipFactory,
    MessageFactory,
    OrganizationFactory,
)
from conversations.models import Conversation, Message
from tests.admin.dataset import create_dataset

pytestmark = pytest.mark.django_db


def queries_for(client, path: str, params=None) -> list[str]:
    """The SQL of one request, after a first one has filled the content-type cache."""
    client.get(path, params or {})
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, params or {}).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def add_more_of_everything() -> None:
    """Ten more rows of each kind, spread over a new organization's related objects."""
    org = OrganizationFactory(id="org_more")
    for n in range(10):
        conversation = ConversationFactory(id=f"conv_more_{n}", organization=org)
        message = MessageFactory(id=f"m_more_{n}", conversation=conversation, assistant=True)
        FeedbackFactory(id=f"f_more_{n}", message=message, helpful=n % 2 == 0)
        MembershipFactory(organization=org)
        KnowledgeBaseFileFactory(knowledge_base__organization=org)


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_changelists_cost_the_same_number_of_queries_with_more_rows(admin_client, model):
    create_dataset()
    path = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    before = len(queries_for(admin_client, path))

    add_more_of_everything()

    assert len(queries_for(admin_client, path)) == before


def test_conversation_page_shows_many_messages_in_a_fixed_number_of_queries(admin_client):
    create_dataset()
    path = reverse("admin:conversations_conversation_change", args=["conv_1"])
    before = queries_for(admin_client, path)
    conversation = Conversation.objects.get(pk="conv_1")

    for n in range(10):
        message = MessageFactory(id=f"m_extra_{n}", conversation=conversation, assistant=True)
        FeedbackFactory(id=f"f_extra_{n}", message=message)

    assert len(queries_for(admin_client, path)) == len(before)


def test_sqlite_and_filtered_querysets_are_counted_exactly(db):
    assert estimated_row_count(Message.objects.filter(role="user")) is None
    if connection.vendor != "postgresql":
        assert estimated_row_count(Message.objects.all()) is None


@pytest.mark.postgres_only
def test_unfiltered_message_list_reads_the_planner_estimate_not_count(admin_client, monkeypatch):
    create_dataset()  # 6 messages
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations_message")
    # The threshold is for a million rows; lowered so that six rows take the estimate path.
    monkeypatch.setattr(conversations_admin, "ESTIMATE_ROWS_ABOVE", 1)
    assert estimated_row_count(Message.objects.all()) == 6

    unfiltered = queries_for(admin_client, reverse("admin:conversations_message_changelist"))

    counts = [sql for sql in unfiltered if "COUNT(" in sql and "conversations_message" in sql]
    assert counts == []
    assert any("pg_class" in sql for sql in unfiltered)


@pytest.mark.postgres_only
def test_a_small_table_is_counted_exactly_even_unfiltered(db):
    create_dataset()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations_message")

    assert estimated_row_count(Message.objects.all()) is None  # 6 rows: below the threshold


def test_filtered_message_list_counts_exactly_and_only_the_filtered_rows(admin_client):
    create_dataset()

    response = admin_client.get(
        reverse("admin:conversations_message_changelist"), {"conversation__exact": "conv_3"}
    )

    changelist = response.context["cl"]
    assert changelist.result_count == 2
    assert changelist.full_result_count is None  # show_full_result_count = False
