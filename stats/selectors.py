"""The sixteen figures of STATS.md for one scope (being written; see issue 3)."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class StatsQuery:
    """What to count: the organization is always given; the rest narrows it."""

    organization_id: str
    start: datetime  # inclusive, aware
    end: datetime  # inclusive, aware
    user_id: str | None = None
    agent_id: int | None = None
    metadata_key: str | None = None
    metadata_value: str | None = None


def stats_compute(*, query: StatsQuery) -> dict[str, int]:
    raise NotImplementedError
