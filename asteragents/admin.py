"""Admin for the tenancy models, and the display helpers every app's admin shares."""

import json
from functools import partial

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from asteragents.models import Membership, Organization, User

# The admin index links to the usage-stats page (see templates/admin/stats/index.html).
admin.site.index_template = "admin/stats/index.html"


def pretty_json(value) -> str:
    """JSON indented inside <pre>, for read-only display of a JSONField."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    return format_html('<pre class="json">{}</pre>', text)


def changelist_link(model, label, **filters) -> str:
    """A link to `model`'s changelist narrowed by `filters` (field__exact=value lookups)."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    if filters:
        url += "?" + urlencode(filters)
    return format_html('<a href="{}">{}</a>', url, label)


def change_link(model, pk, label=None) -> str:
    """A link to one object's change page, built from its key alone (no query)."""
    if pk is None:
        return "-"
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, pk if label is None else label)


class OrganizationLinkMixin:
    """An `organization_link` column: the row's organization, linked by id (no query)."""

    @admin.display(description="organization")
    def organization_link(self, obj):
        return change_link(Organization, obj.organization_id)


class PrettyExtraMixin:
    """Shows the import's leftover `extra` fields, read-only and indented."""

    @admin.display(description="extra fields")
    def extra_pretty(self, obj):
        return pretty_json(obj.extra)


class ReadOnlyAdminMixin:
    """Activity data arrives through import_activity: viewable, never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(PrettyExtraMixin, admin.ModelAdmin):
    list_display = ["id", "name", "slug", "created_at", "member_count", "links"]
    search_fields = ["id__exact", "name", "slug"]
    date_hierarchy = "created_at"
    fields = ["id", "name", "slug", "created_at", "extra_pretty"]
    readonly_fields = ["extra_pretty"]

    def get_queryset(self, request):
        # One grouped count per page instead of a query per row.
        return super().get_queryset(request).annotate(member_total=Count("memberships"))

    def get_readonly_fields(self, request, obj=None):
        # The id is Clerk's: set once when the organization is added by hand.
        return [*self.readonly_fields, "id"] if obj else self.readonly_fields

    def get_urls(self):
        from stats.admin_views import usage_stats_view

        view = self.admin_site.admin_view(partial(usage_stats_view, admin_site=self.admin_site))
        name = f"{self.opts.app_label}_{self.opts.model_name}_usage_stats"
        return [
            path("usage-stats/", view, name=name),
            *super().get_urls(),
        ]

    @admin.display(description="members", ordering="member_total")
    def member_count(self, obj):
        return changelist_link(Membership, obj.member_total, organization__exact=obj.pk)

    @admin.display(description="activity")
    def links(self, obj):
        from conversations.models import Conversation, Message

        stats_url = reverse("admin:asteragents_organization_usage_stats")
        return format_html(
            '{} · {} · <a href="{}?{}">usage stats</a>',
            changelist_link(Conversation, "conversations", organization__exact=obj.pk),
            changelist_link(Message, "messages", organization__exact=obj.pk),
            stats_url,
            urlencode({"organization": obj.pk}),
        )


@admin.register(User)
class UserAdmin(PrettyExtraMixin, admin.ModelAdmin):
    list_display = ["id", "email", "first_name", "last_name", "created_at", "links"]
    search_fields = ["id__exact", "email", "first_name", "last_name"]
    date_hierarchy = "created_at"
    fields = ["id", "email", "first_name", "last_name", "created_at", "extra_pretty"]
    readonly_fields = ["extra_pretty"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "id"] if obj else self.readonly_fields

    @admin.display(description="activity")
    def links(self, obj):
        from conversations.models import Conversation

        return format_html(
            "{} · {}",
            changelist_link(Membership, "memberships", user__exact=obj.pk),
            changelist_link(Conversation, "conversations", user__exact=obj.pk),
        )


# bool before int: True is an int too; str covers the form field's JSONString.
_JSON_KINDS = [(bool, "boolean"), (int | float, "number"), (str, "string"), (list, "list")]


def _json_kind(value) -> str:
    return next((name for kind, name in _JSON_KINDS if isinstance(value, kind)), "value")


class IndentedJSONField(forms.JSONField):
    """A JSON box that shows its value indented, one key to a line."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value  # the operator's own text, shown back with its error
        return json.dumps(value, ensure_ascii=False, indent=2, cls=self.encoder)


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["organization", "user", "role", "public_metadata"]
        field_classes = {"public_metadata": IndentedJSONField}
        help_texts = {
            "role": "A Clerk role with its prefix, e.g. org:admin or org:member.",
            "public_metadata": 'A JSON object, e.g. {"plan": "beta", "seats": 3}.',
        }

    def clean_public_metadata(self):
        metadata = self.cleaned_data.get("public_metadata")
        # An emptied box means no metadata; the column is never NULL.
        if metadata is None:
            return {}
        if not isinstance(metadata, dict):
            raise forms.ValidationError(
                "Public metadata must be a JSON object ({...}), not a %(kind)s.",
                code="not_an_object",
                params={"kind": _json_kind(metadata)},
            )
        return metadata


@admin.register(Membership)
class MembershipAdmin(PrettyExtraMixin, admin.ModelAdmin):
    form = MembershipForm
    list_display = ["__str__", "organization_link", "user_link", "role", "metadata_preview"]
    list_filter = ["role"]
    search_fields = [
        "organization__id__exact",
        "user__id__exact",
        "user__email",
        "organization__name",
    ]
    autocomplete_fields = ["organization", "user"]
    list_select_related = ["organization", "user"]
    fields = ["organization", "user", "role", "public_metadata", "extra_pretty"]
    readonly_fields = ["extra_pretty"]

    def get_readonly_fields(self, request, obj=None):
        # Moving a membership to another user or organization would be a different row.
        return [*self.readonly_fields, "organization", "user"] if obj else self.readonly_fields

    @admin.display(description="organization", ordering="organization__name")
    def organization_link(self, obj):
        return change_link(Organization, obj.organization_id, str(obj.organization))

    @admin.display(description="user", ordering="user__email")
    def user_link(self, obj):
        return change_link(User, obj.user_id, str(obj.user))

    @admin.display(description="public metadata")
    def metadata_preview(self, obj):
        text = json.dumps(obj.public_metadata, ensure_ascii=False, sort_keys=True)
        return text if len(text) <= 80 else text[:79] + "…"
