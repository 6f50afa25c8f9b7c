"""Metadata matching (STATS.md "Metadata matching") against a plain Python reading."""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asteragents.models import Membership, Organization, User
from stats.metadata import MetadataFilter

pytestmark = pytest.mark.django_db

JSON_NUMBER = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"


def reference_scalar_matches(value, text: str) -> bool:
    """The three scalar rules, written from STATS.md without looking at the lookup."""
    import re

    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, str):
        return value == text
    if isinstance(value, int | float):
        if not re.fullmatch(JSON_NUMBER, text, re.ASCII):
            return False
        return Decimal(repr(value) if isinstance(value, float) else value) == Decimal(text)
    return False


def reference_value_matches(value, text: str) -> bool:
    if isinstance(value, list):
        return any(
            not isinstance(item, list | dict) and reference_scalar_matches(item, text)
            for item in value
        )
    return reference_scalar_matches(value, text)


def reference_matches(metadata: dict, key: str | None, value: str | None) -> bool:
    if value is None:
        return key in metadata
    if key is not None:
        return key in metadata and reference_value_matches(metadata[key], value)
    return any(reference_value_matches(item, value) for item in metadata.values())


@pytest.fixture
def org():
    return Organization.objects.create(id="org_meta")


def make_members(org, metadatas: dict[str, dict]) -> None:
    for user_id, metadata in metadatas.items():
        user = User.objects.create(id=user_id)
        Membership.objects.create(organization=org, user=user, public_metadata=metadata)


def matching(org, key=None, value=None) -> set[str]:
    rows = Membership.objects.filter(
        organization=org, public_metadata__matches_metadata=MetadataFilter(key, value)
    )
    return set(rows.values_list("user_id", flat=True))


MEMBERS = {
    "u_str": {"department": "sales", "level": "42"},
    "u_int": {"level": 42, "flag": True},
    "u_float": {"level": 42.0, "flag": False},
    "u_arr": {"tags": ["beta", 42, True, ["nested"], {"obj": "beta"}]},
    "u_obj": {"department": {"name": "sales"}, "none": None},
    "u_null": {"level": None},
    "u_big": {"level": 100, "ratio": 0.1},
    "u_case": {"department": "Sales"},
    "u_zero_pad": {"level": "042"},
    "u_nested_only": {"tags": [["beta"]]},
}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # strings: exact and case-sensitive
        ("department", "sales", {"u_str"}),
        ("department", "Sales", {"u_case"}),
        ("department", "sal", set()),
        # numbers: "42" matches 42, 42.0 and the string "42"
        ("level", "42", {"u_str", "u_int", "u_float"}),
        ("level", "42.0", {"u_int", "u_float"}),
        ("level", "4.2e1", {"u_int", "u_float"}),
        ("level", "1e2", {"u_big"}),
        ("level", "042", {"u_zero_pad"}),
        ("ratio", "0.1", {"u_big"}),
        ("ratio", "0.10", {"u_big"}),
        ("ratio", "0.1000000000000000001", set()),
        # booleans
        ("flag", "true", {"u_int"}),
        ("flag", "false", {"u_float"}),
        ("flag", "True", set()),
        # arrays: an element matches; arrays and objects inside never do
        ("tags", "beta", {"u_arr"}),
        ("tags", "42", {"u_arr"}),
        ("tags", "true", {"u_arr"}),
        ("tags", "nested", set()),
        # objects and null never match a value
        ("department", "name", set()),
        ("none", "null", set()),
        ("level", "null", set()),
        # key alone: present, whatever the value (null included)
        ("level", None, {"u_str", "u_int", "u_float", "u_null", "u_big", "u_zero_pad"}),
        ("none", None, {"u_obj"}),
        ("absent", None, set()),
        # value alone: at any top-level key
        (None, "beta", {"u_arr"}),
        (None, "sales", {"u_str"}),
        (None, "42", {"u_str", "u_int", "u_float", "u_arr"}),
        (None, "true", {"u_int", "u_arr"}),
        (None, "nested", set()),
    ],
)
def test_matching_rules(org, key, value, expected):
    make_members(org, MEMBERS)
    assert matching(org, key, value) == expected
    # The reference reading agrees with the written-out expectation.
    assert {u for u, m in MEMBERS.items() if reference_matches(m, key, value)} == expected


HOSTILE_KEYS = [
    "'",
    '"',
    "a__b",
    "a.b",
    "'); --",
    "$.*",
    "$[0]",
    "0",
    "ключ",
    "🔑 key",
    "",
    "a\\b",
    "%s",
    "?",
    "@>",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_match_exactly_themselves(org, key):
    make_members(org, {"u_hostile": {key: "v"}, "u_plain": {"a": "v", "b": {key: "v"}}})
    assert matching(org, key, "v") == {"u_hostile"}
    assert matching(org, key, None) == {"u_hostile"}
    assert matching(org, key + "x", None) == set()


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "'); DROP TABLE x; --", "$.*", "1e999999"])
def test_hostile_values_never_error(org, value):
    make_members(org, {"u": {"k": "v", "n": 1}})
    assert matching(org, "k", value) == set()
    assert matching(org, None, value) == set()
    assert matching(org, "k\x00", None) == set()


def test_other_organizations_metadata_is_not_read(org):
    other = Organization.objects.create(id="org_other")
    user = User.objects.create(id="u_both")
    Membership.objects.create(organization=org, user=user, public_metadata={"team": "red"})
    Membership.objects.create(organization=other, user=user, public_metadata={"team": "blue"})
    assert matching(org, "team", "blue") == set()
    assert matching(other, "team", "blue") == {"u_both"}


# What the importer can store: no NUL (PostgreSQL refuses it) and no lone surrogates.
storable_text = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=6
)
scalars = st.one_of(
    storable_text,
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.none(),
)
json_values = st.one_of(
    scalars, st.lists(st.one_of(scalars, st.lists(scalars, max_size=2)), max_size=3)
)
keys = st.sampled_from(["a", "b", "a.b", "", "0", "'"])
query_texts = st.one_of(
    st.sampled_from(["1", "1.0", "-0", "0", "true", "false", "null", "", "a", "1e2", "042"]),
    st.text(max_size=4),
    st.integers(-1000, 1000).map(str),
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    metadatas=st.lists(st.dictionaries(keys, json_values, max_size=3), min_size=1, max_size=4),
    key=st.one_of(st.none(), keys),
    value=st.one_of(st.none(), query_texts),
)
def test_lookup_agrees_with_reference(org, metadatas, key, value):
    # Each example in a savepoint of its own, rolled back: examples share the test's DB.
    with transaction.atomic():
        check_lookup(org, metadatas, key, value)
        transaction.set_rollback(True)


def check_lookup(org, metadatas, key, value):
    members = {f"u{i}": metadata for i, metadata in enumerate(metadatas)}
    for user_id, metadata in members.items():
        user, _ = User.objects.get_or_create(id=user_id)
        Membership.objects.create(organization=org, user=user, public_metadata=metadata)
    if key is None and value is None:
        return
    expected = {u for u, m in members.items() if reference_matches(m, key, value)}
    assert matching(org, key, value) == expected
