"""Exact pre-aggregates of the activity tables, maintained on import (stats.rollups).

They hold nothing the raw tables do not: every figure they give equals the raw
computation (a property test compares the two on both databases).
"""

from django.db import models

from asteragents.models import Organization, User
from conversations.models import Agent, Conversation

CELL_SUMS = [
    "message_count",
    "tool_calls",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "feedback_count",
    "helpful_count",
    "not_helpful_count",
]


class UsageCell(models.Model):
    """Sums of one owner's use of one agent in one UTC hour or UTC day.

    Messages count in the bucket of their createdAt, feedback in the bucket of its own
    createdAt. Distinct users and agents over any set of buckets stay exact because a cell
    names its owner and agent; distinct conversations come from ConversationActivity.
    """

    class Grain(models.IntegerChoices):
        HOUR = 1, "hour"
        DAY = 24, "day"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    grain = models.PositiveSmallIntegerField(choices=Grain.choices)
    bucket_start = models.DateTimeField()
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+", db_index=False)
    message_count = models.PositiveIntegerField(default=0)
    tool_calls = models.PositiveBigIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)
    feedback_count = models.PositiveIntegerField(default=0)
    helpful_count = models.PositiveIntegerField(default=0)
    not_helpful_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # The refresh key, and the getStats range scan over whole hours and days.
            # (No INCLUDE of the sums: SQLite cannot create such a unique constraint, and
            # the heap reads are few: a cell sums many messages.)
            models.UniqueConstraint(
                fields=["organization", "grain", "bucket_start", "owner", "agent"],
                name="usage_cell_bucket_unique",
            ),
        ]
        indexes = [
            # getStats over whole hours and days: index-only on PostgreSQL (INCLUDE).
            models.Index(
                fields=["organization", "grain", "bucket_start"],
                include=["owner_id", "agent_id", *CELL_SUMS],
                name="usage_cell_range_cover",
            ),
            # getStats for one user, or the members a metadata filter picks.
            models.Index(
                fields=["organization", "owner", "grain", "bucket_start"],
                include=["agent_id", *CELL_SUMS],
                name="usage_cell_owner_cover",
            ),
        ]

    def __str__(self):
        grain = self.get_grain_display()
        return f"{self.organization_id} {self.bucket_start:%Y-%m-%d %H:00} ({grain})"


class ConversationActivity(models.Model):
    """When a conversation's first and last messages were, for exact conversationCount."""

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+", db_index=False)
    first_message_at = models.DateTimeField()
    last_message_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "conversation activity"
        indexes = [
            # getStats conversationCount: conversations still active at or after `from`.
            models.Index(
                fields=["organization", "last_message_at"],
                # conversation_id too: the probe names it, and the scan stays index-only.
                include=["first_message_at", "owner_id", "agent_id", "conversation_id"],
                name="conv_activity_org_last",
            ),
            # ... or begun by `to`, whichever bound the planner finds more selective.
            models.Index(
                fields=["organization", "first_message_at"],
                include=["last_message_at", "owner_id", "agent_id", "conversation_id"],
                name="conv_activity_org_first",
            ),
        ]

    def __str__(self):
        return self.conversation_id
