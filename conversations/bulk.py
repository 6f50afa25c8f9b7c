"""The importer's bulk SQL: key lookups, upserts, and the temporary table of keys seen.

The ORM where it is fast enough; raw SQL where it has no word for the job (a temporary
table, COPY). Values are always bound or streamed, never spliced into SQL; identifiers come
from the models' own metadata, quoted by psycopg.sql or written here as constants.
"""

import json
import operator
import sqlite3
from functools import cache
from typing import Any

from django.db.models import AutoField, Lookup
from psycopg import sql

from conversations.records import RecordType


class AnyOf(Lookup):
    """`column` is one of a list, bound as ONE parameter: `IN (...)` binds one per key,
    and composing thousands of them costs more than the query itself."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_postgresql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*params, list(self.rhs))

    def as_sqlite(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        # lhs is a compiled column reference; the keys travel as one bound JSON array.
        subquery = "SELECT value FROM json_each(%s)"
        return f"{lhs} IN ({subquery})", (*params, json.dumps(list(self.rhs)))


def begin_import(connection) -> None:
    """Foreign keys checked as each batch is written, not all at once at commit.

    Django declares them DEFERRABLE INITIALLY DEFERRED; a large file would otherwise leave
    millions of checks to a COMMIT that the statement timeout cuts short.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def end_import(connection, record_types) -> None:
    """Drop the import's temporary tables; back to Django's deferred foreign key checks."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for record_type in record_types:
                cursor.execute(_statements(record_type)["drop_stage"])
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


class SeenKeys:
    """Keys this import has written, with their first line and content digest.

    Kept in a private SQLite scratch database that spills to disk beyond a small page
    cache (SQLite deletes it on close), so memory stays flat however long the file is,
    and looking keys up costs no round trip to the project's database.
    """

    def __init__(self):
        # "" opens a private temporary database; the worker thread uses it too.
        self.db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self.db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -8000;"
            "CREATE TABLE seen (kind integer NOT NULL, key text NOT NULL, line integer NOT NULL,"
            " digest integer NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;"
        )

    def find(self, kind: int, keys: list[str]) -> dict[str, tuple[int, int]]:
        """{key: (first line, digest)} of those keys this import has already written."""
        found = self.db.execute(
            "SELECT key, line, digest FROM seen "
            "WHERE kind = ? AND key IN (SELECT value FROM json_each(?))",
            (kind, json.dumps(keys)),
        )
        return {key: (line, digest) for key, line, digest in found}

    def add(self, kind: int, rows: list[tuple[str, int, int]]) -> None:
        # One transaction per batch: SQLite writes each changed page once, not once a row.
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO seen (kind, key, line, digest) VALUES (?, ?, ?, ?)",
                [(kind, key, line, digest) for key, line, digest in rows],
            )

    def close(self) -> None:
        self.db.close()


@cache
def columns(record_type: RecordType) -> list[str]:
    """The columns an upsert writes: every concrete one but an automatic primary key."""
    return [
        field.attname
        for field in record_type.model._meta.concrete_fields
        if not isinstance(field, AutoField)
    ]


def upsert(
    connection, record_type: RecordType, *, new: list[dict[str, Any]], existing: list[dict]
) -> None:
    """Insert the `new` rows (their keys are not in the table) and update the `existing`."""
    if connection.vendor == "postgresql":
        _copy_postgresql(connection, record_type, new, existing)
        return
    model = record_type.model
    key_columns = record_type.key_columns
    model.objects.bulk_create(
        [model(**row) for row in (*new, *existing)],
        update_conflicts=True,
        unique_fields=key_columns,
        update_fields=[column for column in columns(record_type) if column not in key_columns],
    )


# The JSON text of a jsonb column, as COPY reads it.
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _copy_postgresql(connection, record_type: RecordType, new: list, existing: list) -> None:
    """New rows by COPY straight into the table; existing ones by COPY into a temporary
    table and one INSERT ... ON CONFLICT DO UPDATE from it.

    bulk_create binds every value of every row as a query parameter; COPY streams them,
    several times faster at the volume of messages an import carries.
    """
    statements = _statements(record_type)
    with connection.cursor() as cursor:
        if new:
            _copy_rows(cursor, statements["copy_new"], record_type, new)
        if existing:
            cursor.execute(statements["create_stage"])
            _copy_rows(cursor, statements["copy_stage"], record_type, existing)
            cursor.execute(statements["update"])
            cursor.execute(statements["truncate_stage"])


def _copy_rows(cursor, statement: str, record_type: RecordType, rows: list[dict]) -> None:
    values_of = operator.itemgetter(*columns(record_type))
    json_positions = _json_positions(record_type)
    with cursor.copy(statement) as copy:
        for row in rows:
            values = list(values_of(row))
            for position in json_positions:
                if values[position] is not None:
                    values[position] = _encode_json(values[position])
            copy.write_row(values)


@cache
def _json_positions(record_type: RecordType) -> list[int]:
    """Where the jsonb columns are among columns(record_type)."""
    fields = {field.attname: field for field in record_type.model._meta.concrete_fields}
    return [
        position
        for position, column in enumerate(columns(record_type))
        if fields[column].get_internal_type() == "JSONField"
    ]


@cache
def _statements(record_type: RecordType) -> dict[str, str]:
    table = record_type.model._meta.db_table
    names = columns(record_type)
    updated = [name for name in names if name not in record_type.key_columns]

    def listed(template: str, items: list[str]) -> sql.Composed:
        return sql.SQL(", ").join(sql.SQL(template).format(sql.Identifier(i)) for i in items)

    parts = {
        "target": sql.Identifier(table),
        "stage": sql.Identifier(f"activity_import_stage_{table}"),
        "columns": listed("{}", names),
        "keys": listed("{}", list(record_type.key_columns)),
        "assignments": listed("{0} = EXCLUDED.{0}", updated),
        "old_values": listed("old.{}", updated),
        "new_values": listed("EXCLUDED.{}", updated),
    }
    templates = {
        "copy_new": "COPY {target} ({columns}) FROM STDIN",
        "create_stage": (
            "CREATE TEMPORARY TABLE IF NOT EXISTS {stage} "
            "AS SELECT {columns} FROM {target} WITH NO DATA"
        ),
        "copy_stage": "COPY {stage} ({columns}) FROM STDIN",
        # Rows that would not change are left alone: re-importing a file writes nothing.
        "update": (
            "INSERT INTO {target} AS old ({columns}) SELECT {columns} FROM {stage} "
            "ON CONFLICT ({keys}) DO UPDATE SET {assignments} "
            "WHERE ({old_values}) IS DISTINCT FROM ({new_values})"
        ),
        "truncate_stage": "TRUNCATE {stage}",
        "drop_stage": "DROP TABLE IF EXISTS {stage}",
    }
    # Plain strings: whatever wraps Django's cursors expects SQL text.
    return {
        key: sql.SQL(template).format(**parts).as_string() for key, template in templates.items()
    }
