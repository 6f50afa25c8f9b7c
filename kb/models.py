"""Knowledge bases and the files agents learn from; getStats counts processed files."""

from django.db import models

from asteragents.models import CLERK_ID_LENGTH, Organization


class KnowledgeBase(models.Model):
    id = models.CharField(primary_key=True, max_length=CLERK_ID_LENGTH)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="knowledge_bases"
    )
    name = models.CharField(max_length=255, blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name or self.id


class KnowledgeBaseFile(models.Model):
    id = models.CharField(primary_key=True, max_length=CLERK_ID_LENGTH)
    # The knowledge base's organization, copied on import so stats read one table.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    knowledge_base = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="files"
    )
    name = models.TextField()
    status = models.CharField(max_length=64, blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)
    extraction = models.JSONField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    # Derived on import from extraction (conversations.usage.normalize_usage).
    extract_input_tokens = models.PositiveBigIntegerField(default=0)
    extract_output_tokens = models.PositiveBigIntegerField(default=0)
    extract_total_tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [
            # getStats KB figures: files processed in the range, organization-wide.
            models.Index(
                fields=["organization", "processed_at"],
                include=[
                    "knowledge_base_id",
                    "extract_input_tokens",
                    "extract_output_tokens",
                    "extract_total_tokens",
                ],
                name="kbf_org_processed_cover",
            ),
        ]

    def __str__(self):
        return self.name
