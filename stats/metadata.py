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
from typing import Any

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
            number_literal=_comparable_number_literal(text),
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


def _comparable_number_literal(text: str) -> str | None:
    """`text` if it is a JSON number PostgreSQL's numeric can hold, "0" for any zero."""
    if not _JSON_NUMBER.fullmatch(text):
        return None
    mantissa = re.split("[eE]", text)[0]
    if not mantissa.strip("-0."):
        # 0e-99999 equals 0 but numeric cannot parse it; every zero is the same number.
        return "0"
    try:
        number = Decimal(text)
    except InvalidOperation:  # an exponent beyond even Decimal's range: no stored number
        return None
    exponent = number.as_tuple().exponent
    in_range = (
        number.adjusted() <= _NUMERIC_MAX_ADJUSTED_EXPONENT
        and isinstance(exponent, int)
        and exponent >= _NUMERIC_MIN_EXPONENT
    )
    return text if in_range else None


def _scalar_matches(value: Any, candidates: ValueCandidates) -> bool:
    if isinstance(value, bool):
        return candidates.boolean is value
    if isinstance(value, str):
        return candidates.string == value
    if isinstance(value, int | Decimal) and candidates.number_literal is not None:
        return Decimal(value) == Decimal(candidates.number_literal)
    return False


def _value_matches(value: Any, candidates: ValueCandidates) -> bool:
    if isinstance(value, list):
        return any(
            not isinstance(item, list | dict) and _scalar_matches(item, candidates)
            for item in value
        )
    return _scalar_matches(value, candidates)


def metadata_matches(metadata_json: str | None, key: str | None, value: str | None) -> bool:
    """The rules of STATS.md over a metadata object's JSON text (SQLite's evaluation).

    Parsed with Decimal so numbers compare exactly, as PostgreSQL's jsonb does: SQLite's
    own JSON functions turn integers beyond 64 bits and long decimals into doubles.
    """
    if metadata_json is None:
        return False
    metadata = json.loads(metadata_json, parse_float=Decimal)
    if not isinstance(metadata, dict):
        return False
    if value is None:
        return key in metadata
    candidates = ValueCandidates.of(value)
    if key is not None:
        return key in metadata and _value_matches(metadata[key], candidates)
    return any(_value_matches(item, candidates) for item in metadata.values())


SQLITE_METADATA_MATCHES = "stats_metadata_matches"


def register_sqlite_metadata_matches(connection) -> None:
    connection.connection.create_function(
        SQLITE_METADATA_MATCHES, 3, metadata_matches, deterministic=True
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

    # --- SQLite: the same rules in Python (metadata_matches), registered per connection --

    def as_sqlite(self, compiler, connection):
        metadata, lhs_params = self.process_lhs(compiler, connection)
        sql = f"{SQLITE_METADATA_MATCHES}({metadata}, %s, %s)"
        return sql, [*lhs_params, self.rhs.key, self.rhs.value]
