"""The authenticated caller: a verified Clerk session, not a Django user."""

from dataclasses import dataclass, field

ORG_ADMIN = "org:admin"


def normalize_org_role(role: str | None) -> str | None:
    """Clerk roles compared with the `org:` prefix: v2 and pre-prefix v1 write `admin`."""
    if not role:
        return None
    return role if role.startswith("org:") else f"org:{role}"


@dataclass(frozen=True)
class ClerkPrincipal:
    user_id: str
    # None when the session has no active organization (no org claim, or `sts` pending).
    organization_id: str | None
    org_role: str | None = None
    org_slug: str | None = None
    org_permissions: tuple[str, ...] = field(default_factory=tuple)
    session_id: str | None = None

    # DRF's IsAuthenticated reads this; a verified token is an authenticated caller.
    is_authenticated = True

    @property
    def is_org_admin(self) -> bool:
        return self.org_role == ORG_ADMIN
