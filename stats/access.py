"""Who sees what (STATS.md): the caller's role and userId decide the scope."""

from rest_framework import permissions, status

from asteragents.errors import ApiError
from asteragents.principal import ClerkPrincipal
from stats.selectors import StatsQuery


class HasActiveOrganization(permissions.BasePermission):
    """A session without an active organization (none chosen, or `sts` pending): 403."""

    message = "The session has no active organization; choose one in the dashboard."
    code = "no_active_organization"

    def has_permission(self, request, view):
        principal = request.user
        return isinstance(principal, ClerkPrincipal) and principal.organization_id is not None


def stats_query_for(*, principal: ClerkPrincipal, params: dict) -> StatsQuery:
    """The scope the caller may see, or a 403 ApiError."""
    requested_user = params.get("user_id")
    if params["all_in_org"]:
        if not principal.is_org_admin:
            raise ApiError(
                "allInOrg=true needs the org:admin role.",
                code="admin_required",
                parameter="allInOrg",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        scope_user = requested_user
    else:
        if requested_user is not None and requested_user != principal.user_id:
            raise ApiError(
                "Another user's stats need allInOrg=true and the org:admin role.",
                code="forbidden_user",
                parameter="userId",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        scope_user = principal.user_id
    return StatsQuery(
        organization_id=principal.organization_id,
        start=params["start"],
        end=params["end"],
        user_id=scope_user,
        agent_id=params.get("agent_id"),
        metadata_key=params.get("metadata_key"),
        metadata_value=params.get("metadata_value"),
    )
