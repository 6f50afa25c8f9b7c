"""Admin for the stats pre-aggregates: viewable, never edited (rebuilt from the activity)."""

from django.contrib import admin

from asteragents.admin import ReadOnlyAdminMixin
from conversations.admin import EstimatedCountPaginator
from stats.models import (
    AgentActivity,
    ConversationActivity,
    OrganizationCell,
    OwnerActivity,
    UsageCell,
)


@admin.register(UsageCell)
class UsageCellAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "bucket_start",
        "grain",
        "organization",
        "owner",
        "agent",
        "message_count",
        "tool_calls",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "feedback_count",
        "helpful_count",
        "not_helpful_count",
        "conversations_started",
    ]
    list_filter = ["grain", "organization", "bucket_start"]
    list_select_related = ["organization", "owner", "agent"]
    ordering = ["-bucket_start"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(ConversationActivity)
class ConversationActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "conversation",
        "organization",
        "owner",
        "agent",
        "first_message_at",
        "last_message_at",
        "span_class",
    ]
    list_filter = ["organization", "last_message_at"]
    search_fields = ["conversation__id__exact"]
    list_select_related = ["conversation", "organization", "owner", "agent"]
    ordering = ["-last_message_at"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(OrganizationCell)
class OrganizationCellAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "bucket_start",
        "grain",
        "organization",
        "message_count",
        "tool_calls",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "feedback_count",
        "helpful_count",
        "not_helpful_count",
        "conversations_started",
    ]
    list_filter = ["grain", "organization", "bucket_start"]
    list_select_related = ["organization"]
    ordering = ["-bucket_start"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(OwnerActivity)
class OwnerActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["owner", "organization", "first_message_at", "last_message_at"]
    list_filter = ["organization"]
    list_select_related = ["organization", "owner"]
    ordering = ["-last_message_at"]


@admin.register(AgentActivity)
class AgentActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["agent", "organization", "first_message_at", "last_message_at"]
    list_filter = ["organization"]
    list_select_related = ["organization", "agent"]
    ordering = ["-last_message_at"]
