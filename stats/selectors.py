"""The sixteen figures of STATS.md for one scope, one aggregate query per source table."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet

from stats.metadata import MetadataFilter
from stats.metrics import METRIC_NAMES, Source, metrics_of
from stats.scope import OrganizationData

# Agent ids are 64-bit; a larger integer names no agent (and must not reach the database).
_BIGINT_RANGE = range(-(2**63), 2**63)


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

    @property
    def metadata_filter(self) -> MetadataFilter | None:
        if self.metadata_key is None and self.metadata_value is None:
            return None
        return MetadataFilter(key=self.metadata_key, value=self.metadata_value)


def _conversation_scope(query: StatsQuery, data: OrganizationData) -> Q | None:
    """Filters on a row's conversation owner and agent; None when nothing can match."""
    condition = Q()
    if query.user_id is not None:
        if "\x00" in query.user_id:  # no stored id has one; PostgreSQL refuses the byte
            return None
        condition &= Q(owner_id=query.user_id)
    if query.agent_id is not None:
        if query.agent_id not in _BIGINT_RANGE:
            return None
        condition &= Q(agent_id=query.agent_id)
    if (metadata := query.metadata_filter) is not None:
        members = data.memberships().filter(public_metadata__matches_metadata=metadata)
        condition &= Q(owner_id__in=members.values("user_id"))
    return condition


def _source_rows(source: Source, query: StatsQuery, data: OrganizationData) -> QuerySet | None:
    if source is Source.KNOWLEDGE_BASE_FILES:
        return data.knowledge_base_files().filter(
            processed_at__gte=query.start, processed_at__lte=query.end
        )
    conversation_scope = _conversation_scope(query, data)
    if conversation_scope is None:
        return None
    rows = data.messages() if source is Source.MESSAGES else data.feedback()
    return rows.filter(conversation_scope, created_at__gte=query.start, created_at__lte=query.end)


def stats_compute(*, query: StatsQuery) -> dict[str, int]:
    """All sixteen figures, in the contract's order, as ints."""
    data = OrganizationData(query.organization_id)
    figures: dict[str, int] = {}
    for source in Source:
        aggregates = metrics_of(source)
        rows = _source_rows(source, query, data)
        values = rows.aggregate(**aggregates) if rows is not None else {}
        # PostgreSQL sums bigint as numeric (Decimal); the contract answers integers.
        figures.update({name: int(values.get(name) or 0) for name in aggregates})
    return {name: figures[name] for name in METRIC_NAMES}
