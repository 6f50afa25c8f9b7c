"""Admin for knowledge bases and their files (files are read-only: they are imported)."""

from django.contrib import admin
from django.db.models import Count

from asteragents.admin import (
    OrganizationLinkMixin,
    PrettyExtraMixin,
    ReadOnlyAdminMixin,
    change_link,
    changelist_link,
    pretty_json,
)
from conversations.admin import EstimatedCountPaginator
from kb.models import KnowledgeBase, KnowledgeBaseFile


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(PrettyExtraMixin, admin.ModelAdmin):
    list_display = ["id", "name", "organization", "file_count"]
    list_filter = ["organization"]
    search_fields = ["id__exact", "name"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    fields = ["id", "organization", "name", "extra_pretty"]
    readonly_fields = ["extra_pretty"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(file_total=Count("files"))

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "id", "organization"] if obj else self.readonly_fields

    @admin.display(description="files", ordering="file_total")
    def file_count(self, obj):
        return changelist_link(KnowledgeBaseFile, obj.file_total, knowledge_base__exact=obj.pk)


@admin.register(KnowledgeBaseFile)
class KnowledgeBaseFileAdmin(
    ReadOnlyAdminMixin, OrganizationLinkMixin, PrettyExtraMixin, admin.ModelAdmin
):
    list_display = [
        "name",
        "knowledge_base",
        "status",
        "processed_at",
        "extract_input_tokens",
        "extract_output_tokens",
        "extract_total_tokens",
    ]
    list_filter = ["status", "processed_at", "organization"]
    search_fields = ["id__exact", "name", "knowledge_base__id__exact"]
    list_select_related = ["knowledge_base"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = [
        "id",
        "name",
        "status",
        "processed_at",
        "organization_link",
        "knowledge_base_link",
        "extract_input_tokens",
        "extract_output_tokens",
        "extract_total_tokens",
        "extraction_pretty",
        "extra_pretty",
    ]
    readonly_fields = fields

    @admin.display(description="knowledge base")
    def knowledge_base_link(self, obj):
        return change_link(KnowledgeBase, obj.knowledge_base_id, str(obj.knowledge_base))

    @admin.display(description="extraction")
    def extraction_pretty(self, obj):
        return pretty_json(obj.extraction)
