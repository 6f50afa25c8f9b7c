"""Membership-metadata matching of STATS.md, as a JSONField lookup per database.

`Membership.objects.filter(public_metadata__matches_metadata=MetadataFilter(key, value))`

The user's key and value reach SQL only as bound parameters: never as SQL text, never as
an ORM keyword (`filter(**{f"…__{key}": …})` would split a key on `__`), never as a JSON
path (a key may contain dots, quotes or `$`, and is an exact string).
"""

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import Lookup

# The JSON grammar's number, ASCII digits only ("042" and "+1" are no number literals).
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# PostgreSQL's numeric (which jsonb numbers are) holds 131072 digits before the point and
# 16383 after; a literal beyond that cannot equal a stored number and would not parse.
_NUMERIC_MAX_ADJUSTED_EXPONENT = 131071
_NUMERIC_MIN_EXPONENT = -16383


@dataclass(frozen=True)
class MetadataFilter:
    """`key` alone: the key is present; `value` alone: at any top-level key; both: at key."""

    key: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class ValueCandidates:
    """The JSON values a query string `s` matches, per the three scalar rules."""

    string: str | None
    number_literal: str | None
    boolean: bool | None

    @classmethod
    def of(cls, text: str) -> "ValueCandidates":
        return cls(
            # PostgreSQL cannot store NUL in text or jsonb, so no stored string has one.
            string=None if "\x00" in text else text,
            number_literal=text if _is_comparable_number(text) else None,
            boolean={"true": True, "false": False}.get(text),
        )

    @property
    def empty(self) -> bool:
        return self.string is None and self.number_literal is None and self.boolean is None

    def json_texts(self) -> list[str]:
        """Each candidate as JSON text (jsonb parameters on PostgreSQL)."""
        texts = []
        if self.string is not None:
            texts.append(json.dumps(self.string))
        if self.number_literal is not None:
            texts.append(self.number_literal)  # the literal itself: exact, no float rounding
        if self.boolean is not None:
            texts.append("true" if self.boolean else "false")
        return texts


def _is_comparable_number(text: str) -> bool:
    if not _JSON_NUMBER.fullmatch(text):
        return False
    try:
        number = Decimal(text)
    except InvalidOperation:
        return False
    if number.is_zero():
        return True
    exponent = number.as_tuple().exponent
    return (
        number.adjusted() <= _NUMERIC_MAX_ADJUSTED_EXPONENT
        and isinstance(exponent, int)
        and exponent >= _NUMERIC_MIN_EXPONENT
    )


def sqlite_number_equals(stored, literal: str) -> bool:
    """SQLite helper: a stored JSON number equals the literal as an exact decimal.

    SQLite hands json_each numbers over as int or float. The importer writes metadata with
    Python's json, so a stored float's text is its shortest repr, which repr() restores.
    """
    if stored is None or isinstance(stored, str | bytes):
        return False
    stored_text = repr(stored) if isinstance(stored, float) else str(stored)
    try:
        return Decimal(stored_text) == Decimal(literal)
    except InvalidOperation:
        return False


SQLITE_NUMBER_EQUALS = "stats_json_number_equals"


def register_sqlite_functions(sender, connection, **kwargs):
    """connection_created receiver: the decimal comparison the SQLite lookup calls."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SQLITE_NUMBER_EQUALS, 2, sqlite_number_equals, deterministic=True
        )


class MatchesMetadata(Lookup):
    """True when a metadata object matches a MetadataFilter (rules in STATS.md)."""

    lookup_name = "matches_metadata"
    prepare_rhs = False

    def get_prep_lookup(self):
        if not isinstance(self.rhs, MetadataFilter):
            raise TypeError("matches_metadata takes a MetadataFilter")
        return self.rhs

    def get_db_prep_lookup(self, value, connection):
        return value, []

    def as_sql(self, compiler, connection):
        raise NotImplementedError(f"metadata matching is not written for {connection.vendor}")

    # --- PostgreSQL: containment and jsonpath, with every input a bound parameter --------

    def as_postgresql(self, compiler, connection):
        metadata, lhs_params = self.process_lhs(compiler, connection)
        key, value = self.rhs.key, self.rhs.value
        if key is not None and "\x00" in key:
            return "FALSE", []
        if value is None:
            return f"({metadata} ? %s)", [*lhs_params, key]
        candidates = ValueCandidates.of(value)
        if candidates.empty:
            return "FALSE", []
        clauses, params = [], []
        for json_text in candidates.json_texts():
            if key is not None:
                # `@>` is served by the GIN (jsonb_path_ops) index. The array form matches
                # an element; containment never looks into an array nested in the array.
                clauses.append(f"{metadata} @> jsonb_build_object(%s::text, %s::jsonb)")
                clauses.append(
                    f"{metadata} @> jsonb_build_object(%s::text, jsonb_build_array(%s::jsonb))"
                )
                params += [*lhs_params, key, json_text, *lhs_params, key, json_text]
            else:
                # Lax mode unwraps one array level for the filter; the type test keeps an
                # array nested in an array from being unwrapped a second time.
                clauses.append(
                    f"jsonb_path_exists({metadata}, "
                    "'$.* ? (@.type() != \"array\" && @ == $v)', "
                    "jsonb_build_object('v', %s::jsonb))"
                )
                params += [*lhs_params, json_text]
        return "(" + " OR ".join(clauses) + ")", params

    # --- SQLite: json_each, comparing each top-level value or array element -------------
    # The f-strings below join SQL fragments written in this module and the column
    # Django compiled; every user-supplied string is a %s parameter.

    def as_sqlite(self, compiler, connection):
        metadata, lhs_params = self.process_lhs(compiler, connection)
        key, value = self.rhs.key, self.rhs.value
        key_sql, key_params = ("stats_md.key = %s", [key]) if key is not None else ("1 = 1", [])
        if value is None:
            sql = f"EXISTS (SELECT 1 FROM json_each({metadata}) AS stats_md WHERE {key_sql})"  # noqa: S608
            return sql, [*lhs_params, *key_params]
        candidates = ValueCandidates.of(value)
        if candidates.empty:
            return "0 = 1", []
        top_sql, top_params = _sqlite_scalar_match("stats_md", candidates)
        element_sql, element_params = _sqlite_scalar_match("stats_el", candidates)
        sql = (
            f"EXISTS (SELECT 1 FROM json_each({metadata}) AS stats_md WHERE {key_sql} AND "  # noqa: S608
            f"({top_sql} OR (stats_md.type = 'array' AND EXISTS ("
            f"SELECT 1 FROM json_each(stats_md.value) AS stats_el WHERE {element_sql}))))"
        )
        return sql, [*lhs_params, *key_params, *top_params, *element_params]


def _sqlite_scalar_match(alias: str, candidates: ValueCandidates) -> tuple[str, list]:
    """SQL testing one json_each row (a scalar JSON value) against the candidates."""
    clauses, params = [], []
    if candidates.string is not None:
        clauses.append(f"({alias}.type = 'text' AND {alias}.value = %s)")
        params.append(candidates.string)
    if candidates.number_literal is not None:
        clauses.append(
            f"({alias}.type IN ('integer', 'real') AND {SQLITE_NUMBER_EQUALS}({alias}.value, %s))"
        )
        params.append(candidates.number_literal)
    if candidates.boolean is not None:
        clauses.append(f"{alias}.type = '{'true' if candidates.boolean else 'false'}'")
    return "(" + " OR ".join(clauses) + ")", params
