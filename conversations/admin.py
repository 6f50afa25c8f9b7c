"""Admin for agents and the activity data (read-only: it arrives through import_activity)."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, Q
from django.utils.functional import cached_property

from asteragents.admin import (
    OrganizationLinkMixin,
    PrettyExtraMixin,
    ReadOnlyAdminMixin,
    change_link,
    changelist_link,
    pretty_json,
)
from asteragents.datetimes import isoformat_z
from asteragents.models import Organization, User
from conversations.models import Agent, Conversation, Feedback, Message

# Below this many rows an exact COUNT(*) is cheap enough to be worth its precision.
ESTIMATE_ROWS_ABOVE = 100_000
PREVIEW_LENGTH = 80


def estimated_row_count(queryset) -> int | None:
    """PostgreSQL's planner estimate of an unfiltered table's rows, or None to count exactly."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or queryset.query.where:
        return None
    with connection.cursor() as cursor:
        # reltuples is -1 until the table is first vacuumed or analyzed.
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    if row is None or row[0] is None or row[0] < ESTIMATE_ROWS_ABOVE:
        return None
    return row[0]


class EstimatedCountPaginator(Paginator):
    """Pages of a huge table without COUNT(*) over all of it when nothing filters it."""

    @cached_property
    def count(self):
        estimate = estimated_row_count(self.object_list)
        return super().count if estimate is None else estimate


def text_preview(content) -> str:
    """A message's content as one short line: a string, or the text of its parts."""
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        texts = [part.get("text") for part in content if isinstance(part, dict)]
        text = " ".join(t for t in texts if isinstance(t, str)) or f"[{len(content)} parts]"
    else:
        text = ""
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_LENGTH else text[: PREVIEW_LENGTH - 1] + "…"


@admin.display(description="created at", ordering="created_at")
def created(obj) -> str:
    """To the second, in UTC with a Z, as the API writes instants (the default drops seconds)."""
    return isoformat_z(obj.created_at)


def feedback_summary(helpful: int, not_helpful: int) -> str:
    if not helpful and not not_helpful:
        return "-"
    return f"{helpful} helpful, {not_helpful} not"


def with_feedback_counts(queryset):
    """Messages annotated with their feedback split, in the same query (no N+1)."""
    return queryset.annotate(
        helpful_total=Count("feedback", filter=Q(feedback__helpful=True)),
        not_helpful_total=Count("feedback", filter=Q(feedback__helpful=False)),
    )


@admin.register(Agent)
class AgentAdmin(PrettyExtraMixin, admin.ModelAdmin):
    list_display = ["id", "name", "organization", "conversations"]
    list_filter = ["organization"]
    search_fields = ["id__exact", "name"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    fields = ["id", "organization", "name", "extra_pretty"]
    readonly_fields = ["extra_pretty"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "id", "organization"] if obj else self.readonly_fields

    @admin.display(description="conversations")
    def conversations(self, obj):
        return changelist_link(Conversation, "conversations", agent__exact=obj.pk)


class MessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A conversation's messages in order, with their tokens and feedback."""

    model = Message
    extra = 0
    can_delete = False
    show_change_link = True
    fields = [
        created,
        "role",
        "preview",
        "tool_call_count",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "feedback",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return with_feedback_counts(super().get_queryset(request)).order_by("created_at", "id")

    @admin.display(description="content")
    def preview(self, obj):
        return text_preview(obj.content)

    @admin.display(description="feedback")
    def feedback(self, obj):
        return feedback_summary(obj.helpful_total, obj.not_helpful_total)


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdminMixin, PrettyExtraMixin, admin.ModelAdmin):
    list_display = ["id", "title", "created_at", "organization", "user", "agent", "messages"]
    list_filter = ["organization", "created_at"]
    search_fields = ["id__exact", "title"]
    list_select_related = ["organization", "user", "agent"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = [
        "id",
        "title",
        "created_at",
        "organization_link",
        "user_link",
        "agent_link",
        "extra_pretty",
    ]
    readonly_fields = fields
    inlines = [MessageInline]

    def get_queryset(self, request):
        # The change page names the organization, user and agent: one query, not three.
        return super().get_queryset(request).select_related("organization", "user", "agent")

    @admin.display(description="organization")
    def organization_link(self, obj):
        return change_link(Organization, obj.organization_id, str(obj.organization))

    @admin.display(description="user")
    def user_link(self, obj):
        return change_link(User, obj.user_id, str(obj.user))

    @admin.display(description="agent")
    def agent_link(self, obj):
        return change_link(Agent, obj.agent_id, str(obj.agent))

    @admin.display(description="messages")
    def messages(self, obj):
        return changelist_link(Message, "messages", conversation__exact=obj.pk)


class FeedbackInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Feedback
    extra = 0
    can_delete = False
    show_change_link = True
    fields = [created, "helpful", "user", "comment"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").order_by("created_at", "id")


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, OrganizationLinkMixin, PrettyExtraMixin, admin.ModelAdmin):
    list_display = [
        "id",
        created,
        "conversation_link",
        "owner",
        "agent",
        "tools",
        "input",
        "output",
        "total",
    ]
    list_filter = ["role", "created_at", "organization"]
    # Exact, case-sensitive matches only (`=id` would be iexact: a full scan); these use
    # the primary-key and foreign-key indexes.
    search_fields = ["id__exact", "conversation__id__exact"]
    list_select_related = ["owner", "agent"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = [
        "id",
        created,
        "role",
        "organization_link",
        "conversation_link",
        "owner_link",
        "agent_link",
        "tool_call_count",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "content_pretty",
        "tool_invocations_pretty",
        "parts_pretty",
        "usage_pretty",
        "extra_pretty",
    ]
    readonly_fields = fields
    inlines = [FeedbackInline]

    # Short headings keep the usage columns on screen beside the filter sidebar.
    @admin.display(description="tools", ordering="tool_call_count")
    def tools(self, obj):
        return obj.tool_call_count

    @admin.display(description="input", ordering="input_tokens")
    def input(self, obj):
        return obj.input_tokens

    @admin.display(description="output", ordering="output_tokens")
    def output(self, obj):
        return obj.output_tokens

    @admin.display(description="total", ordering="total_tokens")
    def total(self, obj):
        return obj.total_tokens

    @admin.display(description="conversation")
    def conversation_link(self, obj):
        return change_link(Conversation, obj.conversation_id)

    @admin.display(description="owner")
    def owner_link(self, obj):
        return change_link(User, obj.owner_id, str(obj.owner))

    @admin.display(description="agent")
    def agent_link(self, obj):
        return change_link(Agent, obj.agent_id, str(obj.agent))

    @admin.display(description="content")
    def content_pretty(self, obj):
        return pretty_json(obj.content)

    @admin.display(description="toolInvocations")
    def tool_invocations_pretty(self, obj):
        return pretty_json(obj.tool_invocations)

    @admin.display(description="parts")
    def parts_pretty(self, obj):
        return pretty_json(obj.parts)

    @admin.display(description="usage")
    def usage_pretty(self, obj):
        return pretty_json(obj.usage)


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdminMixin, OrganizationLinkMixin, PrettyExtraMixin, admin.ModelAdmin):
    list_display = ["id", created, "helpful", "message_link", "user", "owner", "agent"]
    list_filter = ["helpful", "created_at", "organization"]
    search_fields = ["id__exact", "message__id__exact"]
    list_select_related = ["user", "owner", "agent"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = [
        "id",
        created,
        "helpful",
        "comment",
        "organization_link",
        "message_link",
        "user_link",
        "owner_link",
        "agent_link",
        "extra_pretty",
    ]
    readonly_fields = fields

    @admin.display(description="message")
    def message_link(self, obj):
        return change_link(Message, obj.message_id)

    @admin.display(description="given by")
    def user_link(self, obj):
        return change_link(User, obj.user_id, str(obj.user))

    @admin.display(description="conversation owner")
    def owner_link(self, obj):
        return change_link(User, obj.owner_id, str(obj.owner))

    @admin.display(description="agent")
    def agent_link(self, obj):
        return change_link(Agent, obj.agent_id, str(obj.agent))
