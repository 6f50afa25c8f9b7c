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
# What a cell holds besides CELL_SUMS: the conversations whose first message lies in it (by
# the conversation's owner and agent). conversationCount = the starts in the range plus the
# conversations begun before it that still have a message inside (stats.selectors).
STARTED = "conversations_started"
ROLLED_UP = [*CELL_SUMS, STARTED]

# ConversationActivity.span_class k: last - first message <= SPAN_CLASS_HOURS[k] hours; the
# last class has no bound. The conversations running at an instant are then found by one
# short index range per class: class k began at most SPAN_CLASS_HOURS[k] hours before it.
SPAN_CLASS_HOURS = [4**k for k in range(13)]  # 1 hour ... 1,900 years, then longer


class UsageCell(models.Model):
    """Sums of one owner's use of one agent in one UTC hour or UTC day.

    Messages count in the bucket of their createdAt, feedback in the bucket of its own
    createdAt, a conversation's start (conversations_started) in the bucket of its first
    message. Distinct users and agents over any set of buckets stay exact because a cell
    names its owner and agent; distinct conversations come from the starts and
    ConversationActivity.
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
    conversations_started = models.PositiveIntegerField(default=0)

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
                include=["owner_id", "agent_id", *ROLLED_UP],
                name="usage_cell_range_cover",
            ),
            # getStats for one user, or the members a metadata filter picks.
            models.Index(
                fields=["organization", "owner", "grain", "bucket_start"],
                include=["agent_id", *ROLLED_UP],
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
    span_class = models.PositiveSmallIntegerField()  # see SPAN_CLASS_HOURS

    class Meta:
        verbose_name_plural = "conversation activity"
        indexes = [
            # getStats conversationCount: the conversations begun before `from` that are
            # still running at `from`, one short range of first_message_at per span class.
            models.Index(
                fields=["organization", "span_class", "first_message_at"],
                include=["last_message_at", "owner_id", "agent_id", "conversation_id"],
                name="conv_activity_org_span",
            ),
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


class OrganizationCell(models.Model):
    """UsageCell summed over owners and agents: getStats without filters reads these."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    grain = models.PositiveSmallIntegerField(choices=UsageCell.Grain.choices)
    bucket_start = models.DateTimeField()
    message_count = models.PositiveIntegerField(default=0)
    tool_calls = models.PositiveBigIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)
    feedback_count = models.PositiveIntegerField(default=0)
    helpful_count = models.PositiveIntegerField(default=0)
    not_helpful_count = models.PositiveIntegerField(default=0)
    conversations_started = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # The refresh key and the range scan (a year is 365 rows: no covering index).
            models.UniqueConstraint(
                fields=["organization", "grain", "bucket_start"],
                name="organization_cell_bucket_unique",
            ),
        ]

    def __str__(self):
        grain = self.get_grain_display()
        return f"{self.organization_id} {self.bucket_start:%Y-%m-%d %H:00} ({grain})"


class OwnerActivity(models.Model):
    """When an owner's first and last messages in an organization were: exact uniqueUsers.

    Over a range, an owner counts when its first or last message lies inside, or when it
    spans the range and an index probe finds a message inside.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    first_message_at = models.DateTimeField()
    last_message_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "owner activity"
        constraints = [
            models.UniqueConstraint(fields=["organization", "owner"], name="owner_activity_unique"),
        ]

    def __str__(self):
        return f"{self.organization_id} {self.owner_id}"


class AgentActivity(models.Model):
    """When an agent's first and last messages in an organization were: exact uniqueAgents."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+", db_index=False)
    first_message_at = models.DateTimeField()
    last_message_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "agent activity"
        constraints = [
            models.UniqueConstraint(fields=["organization", "agent"], name="agent_activity_unique"),
        ]

    def __str__(self):
        return f"{self.organization_id} {self.agent_id}"
