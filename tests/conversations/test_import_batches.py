"""Batches: the same result whatever their size, reference rules across them, bounded queries,
and the per-batch hook and progress."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conversations import importer
from conversations.importer import import_lines
from tests.conversations.activity import (
    MODELS,
    activity,
    at,
    conversation,
    dump,
    feedback,
    knowledge_base_file,
    load,
    message,
    ndjson,
    tenancy,
)

pytestmark = pytest.mark.django_db


def busy_file() -> list[dict]:
    """activity() plus a re-owned conversation's worth of messages and feedback."""
    return [
        *activity(),
        *[message(f"m{n}", "c2" if n % 2 else "c1") for n in range(3, 40)],
        *[feedback(f"f{n}", f"m{n}", "user_bob", helpful=n % 3 == 0) for n in range(3, 40, 4)],
        knowledge_base_file("kbf2", processedAt="2024-03-02T10:00:00Z"),
    ]


def without_membership_ids(tables: dict) -> dict:
    # The one automatic key: a fresh database numbers memberships anew.
    memberships = [{k: v for k, v in row.items() if k != "id"} for row in tables["membership"]]
    return {**tables, "membership": memberships}


@pytest.mark.parametrize("batch_size", [1, 2, 7, 5000])
def test_batch_size_does_not_change_the_result(batch_size, monkeypatch):
    records = busy_file()
    load(records)
    expected = dump()
    load(records)  # and re-importing still changes nothing
    assert dump() == expected
    # Start again with another batch size.
    for model in reversed(MODELS.values()):
        model.objects.all().delete()
    monkeypatch.setattr(importer, "BATCH_SIZE", batch_size)
    summary = load(records)
    assert without_membership_ids(dump()) == without_membership_ids(expected)
    assert (summary.created, summary.updated) == (len(records), 0)
    again = dump()
    assert load(records).updated == len(records)
    assert dump() == again


def test_a_reference_to_a_later_batch_is_unknown(monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    records = [*tenancy(), message("m1"), conversation("c1")]
    with pytest.raises(importer.ActivityImportError) as error:
        load(records)
    assert (error.value.line, error.value.field) == (12, "conversationId")


def test_lookups_are_per_batch_not_per_record():
    load(tenancy())

    def queries_for(count: int) -> int:
        records = [
            conversation(f"c{count}"),
            *[message(f"m{count}-{n}", f"c{count}") for n in range(count)],
            *[feedback(f"f{count}-{n}", f"m{count}-{n}") for n in range(count)],
        ]
        with CaptureQueriesContext(connection) as captured:
            load(records)
        return sum(1 for query in captured if query["sql"].lstrip().upper().startswith("SELECT"))

    assert queries_for(400) == queries_for(4)


def test_on_batch_reports_touched_rows(monkeypatch):
    load(activity())
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    batches = []
    records = [
        conversation("c1", user_id="user_bob"),  # re-owns m1, m2 and f1
        message("m3", "c2", createdAt="2024-03-05T10:00:00Z"),
        knowledge_base_file("kbf1", processedAt="2024-03-07T00:00:00Z"),
    ]
    load(records, on_batch=batches.append)
    assert [batch.touched for batch in batches] == [
        {
            "message": {
                ("org_a", at("2024-03-01T09:00:00Z")),
                ("org_a", at("2024-03-05T10:00:00Z")),
            },
            "feedback": {("org_a", at("2024-03-01T09:00:00Z"))},
        },
        {"knowledgeBaseFile": {("org_a", at("2024-03-07T00:00:00Z"))}},
    ]


def test_progress_reports_bytes_consumed(monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 5)
    lines = ndjson(activity())
    seen = []
    import_lines(lines, progress=seen.append)
    sizes = [len(line) for line in lines]
    assert seen == [sum(sizes[:5]), sum(sizes[:10]), sum(sizes[:15]), sum(sizes)]
