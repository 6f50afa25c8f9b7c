"""Tenancy: organizations, users and their memberships, keyed by Clerk's own ids."""

from django.db import models

CLERK_ID_LENGTH = 255


class Organization(models.Model):
    id = models.CharField(primary_key=True, max_length=CLERK_ID_LENGTH, help_text="Clerk org_…")
    name = models.CharField(max_length=255, blank=True, default="")
    slug = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(null=True, blank=True)
    # Fields of the import record this schema has no column for, kept as received.
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name or self.id


class User(models.Model):
    """A platform user (Clerk user_…); not a Django login account."""

    id = models.CharField(primary_key=True, max_length=CLERK_ID_LENGTH, help_text="Clerk user_…")
    email = models.CharField(max_length=320, blank=True, default="")
    first_name = models.CharField(max_length=255, blank=True, default="")
    last_name = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(null=True, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.email or self.id


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "org:admin", "Admin"
        MEMBER = "org:member", "Member"

    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="memberships",
        # The unique (organization, user) index below leads with organization_id.
        db_index=False,
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=64, default=Role.MEMBER)
    # Scoped to this organization: the same user has other metadata in other organizations.
    public_metadata = models.JSONField(default=dict, blank=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["organization_id", "user_id"]
        constraints = [
            # The import upsert key; also serves the metadata filter's
            # "members of this organization" subquery.
            models.UniqueConstraint(
                fields=["organization", "user"], name="membership_org_user_unique"
            ),
        ]

    def __str__(self):
        return f"{self.user_id} in {self.organization_id}"
