"""The eight timed questions, each as a StatsQuery and as a getStats request."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from asteragents.datetimes import isoformat_z
from bench.dataset import END
from stats.selectors import StatsQuery

STATS_PATH = "/api/dashboard/getStats"
# Inclusive bounds: a period ends on the last microsecond before END.
PERIOD_END = END - timedelta(microseconds=1)
ALL_TIME_START = datetime(2000, 1, 1, tzinfo=UTC)
METADATA_KEY, METADATA_VALUE = "department", "sales"
METADATA_VALUE_ONLY = "beta"  # a tag: matched inside the tags array


@dataclass(frozen=True)
class Subjects:
    """Who and what the cases ask about, in the dataset's largest organization."""

    organization_id: str
    admin_id: str  # an org:admin: the caller of the org-wide cases
    user_id: str  # the most active member: the single-user case
    agent_id: int  # the most used agent: the agent case


@dataclass(frozen=True)
class Case:
    name: str
    days: int | None  # None: all time
    scope: str  # org, user, agent, metadata, metadata-value
    target_ms: float | None = None  # issue 5's goal for the p50, at 5M messages in the org

    def bounds(self) -> tuple[datetime, datetime]:
        start = ALL_TIME_START if self.days is None else END - timedelta(days=self.days)
        return start, PERIOD_END

    def query(self, subjects: Subjects) -> StatsQuery:
        start, end = self.bounds()
        return StatsQuery(
            organization_id=subjects.organization_id,
            start=start,
            end=end,
            user_id=subjects.user_id if self.scope == "user" else None,
            agent_id=subjects.agent_id if self.scope == "agent" else None,
            metadata_key=METADATA_KEY if self.scope == "metadata" else None,
            metadata_value={"metadata": METADATA_VALUE, "metadata-value": METADATA_VALUE_ONLY}.get(
                self.scope
            ),
        )

    def request(self, subjects: Subjects) -> tuple[str, str, str]:
        """(path with query string, caller's user id, caller's role) of the same question.

        The single-user case is a member's own default view; the others are an admin's
        allInOrg=true with a filter.
        """
        start, end = self.bounds()
        params = {"from": isoformat_z(start), "to": isoformat_z(end)}
        caller, role = subjects.admin_id, "org:admin"
        if self.scope == "user":
            caller, role = subjects.user_id, "org:member"
        else:
            params["allInOrg"] = "true"
        if self.scope == "agent":
            params["agentId"] = str(subjects.agent_id)
        elif self.scope == "metadata":
            params.update(metadataKey=METADATA_KEY, metadataValue=METADATA_VALUE)
        elif self.scope == "metadata-value":
            params["metadataValue"] = METADATA_VALUE_ONLY
        return f"{STATS_PATH}?{urlencode(params)}", caller, role


CASES = (
    Case("org-wide 1 day", 1, "org"),
    Case("org-wide 30 days", 30, "org", target_ms=20),
    Case("org-wide 1 year", 365, "org", target_ms=100),
    Case("org-wide all time", None, "org"),
    Case("single user 30 days", 30, "user", target_ms=10),
    Case("agent 30 days", 30, "agent"),
    Case("metadata key+value 30 days", 30, "metadata", target_ms=30),
    Case("metadata value 30 days", 30, "metadata-value"),
)
