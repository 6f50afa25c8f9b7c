"""What the bench database holds: one row in `bench_dataset`, written after a complete build.

The table is the bench's own (no Django model, no migration): it describes the data, so a
second run with the same size and seed reuses it instead of building again.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from bench.cases import Subjects


@dataclass(frozen=True)
class BuiltDataset:
    messages: int
    seed: int
    generator: int
    built_at: datetime
    build_seconds: float
    subjects: Subjects
    rows: dict[str, int]
    rollups_fingerprint: str | None = None


def ensure_table(cursor) -> None:
    cursor.execute(
        """
        CREATE TABLE IF NOT EXISTS bench_dataset (
            messages bigint NOT NULL,
            seed bigint NOT NULL,
            generator integer NOT NULL,
            built_at timestamptz NOT NULL,
            build_seconds double precision NOT NULL,
            subjects jsonb NOT NULL,
            rows jsonb NOT NULL,
            rollups_fingerprint text
        )
        """
    )


def read(cursor) -> BuiltDataset | None:
    cursor.execute(
        "SELECT messages, seed, generator, built_at, build_seconds, subjects, rows, "
        "rollups_fingerprint FROM bench_dataset"
    )
    found = cursor.fetchall()
    if len(found) != 1:
        return None
    messages, seed, generator, built_at, seconds, subjects, rows, fingerprint = found[0]
    subjects = json.loads(subjects) if isinstance(subjects, str) else subjects
    rows = json.loads(rows) if isinstance(rows, str) else rows
    return BuiltDataset(
        messages, seed, generator, built_at, seconds, Subjects(**subjects), rows, fingerprint
    )


def forget(cursor) -> None:
    cursor.execute("DELETE FROM bench_dataset")


def write(cursor, dataset: BuiltDataset) -> None:
    forget(cursor)
    cursor.execute(
        "INSERT INTO bench_dataset VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)",
        [
            dataset.messages,
            dataset.seed,
            dataset.generator,
            dataset.built_at,
            dataset.build_seconds,
            json.dumps(dataset.subjects.__dict__),
            json.dumps(dataset.rows),
            dataset.rollups_fingerprint,
        ],
    )


def set_rollups_fingerprint(cursor, fingerprint: str | None) -> None:
    cursor.execute("UPDATE bench_dataset SET rollups_fingerprint = %s", [fingerprint])
