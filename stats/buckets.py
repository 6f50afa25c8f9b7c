"""Which series bucket a timestamp falls in, computed by the database.

The bucket bounds come from stats.zones as UTC instants and reach SQL as one bound
parameter: PostgreSQL's width_bucket binary-searches the array, and SQLite calls the same
search in Python (registered per connection). No zone arithmetic happens in SQL, so both
databases put every row in the same bucket.
"""

import bisect
import json
from datetime import UTC, datetime

from django.db.models import Func, IntegerField, Value

SQLITE_BUCKET_INDEX = "stats_bucket_index"


class BucketIndex(Func):
    """0 for a row before `boundaries[0]`, i for one in [boundaries[i-1], boundaries[i]).

    `boundaries` are the starts of the second to last buckets, ascending.
    """

    output_field = IntegerField()

    def __init__(self, expression, boundaries: list[datetime]):
        super().__init__(expression)
        self.boundaries = list(boundaries)

    def as_sql(self, compiler, connection, **extra):
        raise NotImplementedError(f"bucket indexes are not written for {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra):
        if not self.boundaries:
            return compiler.compile(Value(0))
        column, params = compiler.compile(self.source_expressions[0])
        return f"width_bucket({column}, %s::timestamptz[])", (*params, self.boundaries)

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        # Stored as Django writes them on SQLite: naive UTC text, which sorts in time order.
        stored = [str(moment.astimezone(UTC).replace(tzinfo=None)) for moment in self.boundaries]
        return f"{SQLITE_BUCKET_INDEX}({column}, %s)", (*params, json.dumps(stored))


def _sqlite_bucket_index(stored: str | None, boundaries_json: str) -> int | None:
    if stored is None:
        return None
    return bisect.bisect_right(_boundaries(boundaries_json), stored)


_parsed: dict[str, list[str]] = {}


def _boundaries(boundaries_json: str) -> list[str]:
    # One query calls this once per row with the same text: parse it once.
    if (parsed := _parsed.get(boundaries_json)) is None:
        if len(_parsed) > 64:
            _parsed.clear()
        parsed = _parsed[boundaries_json] = json.loads(boundaries_json)
    return parsed


def register_sqlite_bucket_index(connection) -> None:
    connection.connection.create_function(
        SQLITE_BUCKET_INDEX, 2, _sqlite_bucket_index, deterministic=True
    )
