"""Agents, conversations, messages and feedback: the activity that getStats counts.

Every activity table carries organization_id, and messages and feedback also carry the
conversation's owner and agent, copied on import, so that each stats aggregate reads one
table with no join that could multiply rows. Token and tool-call counts are integer
columns computed on import by conversations.usage; the JSON is kept as received.
"""

from django.db import models

from asteragents.models import CLERK_ID_LENGTH, Organization, User

# Columns a stats aggregate over messages reads; the covering indexes include them so the
# range scans are index-only on PostgreSQL.
MESSAGE_STATS_COLUMNS = [
    "conversation_id",
    "owner_id",
    "agent_id",
    "tool_call_count",
    "input_tokens",
    "output_tokens",
    "total_tokens",
]


class Agent(models.Model):
    id = models.BigIntegerField(primary_key=True, help_text="The platform's integer agent id")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="agents")
    name = models.CharField(max_length=255, blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name or f"Agent {self.id}"


class Conversation(models.Model):
    id = models.CharField(primary_key=True, max_length=CLERK_ID_LENGTH)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="conversations", db_index=False
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="conversations")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="conversations")
    created_at = models.DateTimeField()
    title = models.TextField(blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            # The admin's per-organization conversation list, newest first.
            models.Index(fields=["organization", "-created_at"], name="conv_org_created"),
        ]

    def __str__(self):
        return self.title or self.id


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"
        SYSTEM = "system"
        TOOL = "tool"

    id = models.CharField(primary_key=True, max_length=CLERK_ID_LENGTH)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="messages",
        # The (conversation, created_at) index below leads with conversation_id.
        db_index=False,
    )
    # Copied from the conversation so the user and agent filters need no join.
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+", db_index=False)
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField()
    # As received: content may be a string or a list of parts.
    content = models.JSONField(null=True, blank=True)
    tool_invocations = models.JSONField(null=True, blank=True)
    parts = models.JSONField(null=True, blank=True)
    usage = models.JSONField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    # Derived on import from tool_invocations/parts and usage (conversations.usage).
    tool_call_count = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    total_tokens = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # getStats org-wide (allInOrg, metadata filters): range scan on created_at.
            models.Index(
                fields=["organization", "created_at"],
                include=MESSAGE_STATS_COLUMNS,
                name="msg_org_created_cover",
            ),
            # getStats for one user (every member's default view).
            models.Index(
                fields=["organization", "owner", "created_at"],
                include=MESSAGE_STATS_COLUMNS,
                name="msg_org_owner_created_cover",
            ),
            # getStats with agentId.
            models.Index(
                fields=["organization", "agent", "created_at"],
                include=MESSAGE_STATS_COLUMNS,
                name="msg_org_agent_created_cover",
            ),
            # A conversation's messages in order (admin), and the conversationCount probe
            # "has this conversation a message in [from, to]?" (stats.selectors).
            models.Index(fields=["conversation", "created_at"], name="msg_conversation_created"),
            # The admin's message list across organizations, newest first: without it the
            # first page sorts the whole table (0.3-0.7 s at 1M rows, 66 ms with it).
            models.Index(fields=["created_at", "id"], name="msg_created_id"),
        ]

    def __str__(self):
        return self.id


class Feedback(models.Model):
    id = models.CharField(primary_key=True, max_length=CLERK_ID_LENGTH)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    # Who gave the feedback (a member of the message's organization).
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="feedback_given")
    # The message's conversation owner and agent, copied so the stats filters need no join.
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", db_index=False)
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+", db_index=False)
    helpful = models.BooleanField()
    created_at = models.DateTimeField()
    comment = models.TextField(blank=True, default="")
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name_plural = "feedback"
        indexes = [
            # getStats feedback figures, counted by the feedback's own createdAt.
            models.Index(
                fields=["organization", "created_at"],
                include=["owner_id", "agent_id", "helpful"],
                name="fb_org_created_cover",
            ),
            # getStats feedback figures for one user.
            models.Index(
                fields=["organization", "owner", "created_at"],
                include=["agent_id", "helpful"],
                name="fb_org_owner_created_cover",
            ),
        ]

    def __str__(self):
        return self.id
