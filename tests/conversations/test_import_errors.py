"""Hostile files: each bad line is a clear error naming its line (and field), and writes nothing."""

import io
import json

import pytest

from conversations import importer
from conversations.importer import ActivityImportError, import_lines, read_ndjson
from tests.conversations.activity import (
    activity,
    conversation,
    dump,
    message,
    ndjson,
    organization,
    tenancy,
)

pytestmark = pytest.mark.django_db

GOOD = ndjson(activity())  # 18 lines


def refused(lines) -> ActivityImportError:
    before = dump()
    with pytest.raises(ActivityImportError) as error:
        import_lines(lines)
    assert dump() == before
    return error.value


def with_bad_line(bad: bytes, at: int) -> list[bytes]:
    """GOOD with `bad` inserted so that it is line `at`."""
    return [*GOOD[: at - 1], bad, *GOOD[at - 1 :]]


# Lines that are bad whatever comes before them: (line, field, start of the reason).
BAD_LINES = {
    "malformed": (b'{"type": "organization", "id": "org_x"\n', None, "is not valid JSON"),
    "truncated": (b'{"type": "organiz', None, "is not valid JSON"),
    "trailing": (b'{"type": "organization", "id": "org_x"} {}\n', None, "is not valid JSON"),
    "array": (b'[{"type": "organization", "id": "org_x"}]\n', None, "must be a JSON object"),
    "string": (b'"organization"\n', None, "must be a JSON object, got string"),
    "number": (b"42\n", None, "must be a JSON object, got number"),
    "null": (b"null\n", None, "must be a JSON object, got null"),
    "bad utf-8": (b'{"type": "organization", "id": "org_\xff"}\n', None, "is not valid UTF-8"),
    "overlong utf-8": (b'{"type": "organization", "id": "\xc0\xaf"}\n', None, "is not valid UTF"),
    "nul": (b'{"type": "organization", "id": "org_x", "name": "a\\u0000b"}\n', "name", "contains"),
    "nul in id": (b'{"type": "organization", "id": "org_\\u0000"}\n', "id", "contains the NUL"),
    "lone surrogate": (b'{"type": "user", "id": "u", "lastName": "\\ud800"}\n', "lastName", "c"),
    "nan": (b'{"type": "organization", "id": "o", "score": NaN}\n', "score", "must be a finite"),
    "infinity": (b'{"type": "organization", "id": "o", "x": [-Infinity]}\n', "x[0]", "must be"),
    "overflow": (b'{"type": "organization", "id": "o", "x": {"y": 1e999}}\n', "x.y", "must be"),
    "unknown type": (b'{"type": "invoice", "id": "i1"}\n', "type", "unknown record type"),
    "no type": (b'{"id": "org_x"}\n', "type", "is required"),
    "negative tokens": (
        json.dumps(message("mx", usage={"inputTokens": -1})).encode() + b"\n",
        "usage.inputTokens",
        "must be a non-negative JSON integer, got -1",
    ),
    "unknown reference": (
        json.dumps(message("mx", "c_nowhere")).encode() + b"\n",
        "conversationId",
        'unknown conversation "c_nowhere"',
    ),
    "same id, other content": (
        json.dumps(organization("org_a", name="Other")).encode() + b"\n",
        "id",
        'organization "org_a" was already given on line 1 with different content',
    ),
}


@pytest.mark.parametrize("at", [2, 9, 19])
@pytest.mark.parametrize("kind", list(BAD_LINES))
def test_a_bad_line_anywhere_writes_nothing(kind, at, monkeypatch):
    bad, field, reason = BAD_LINES[kind]
    # Small batches: earlier batches are written (then rolled back) before the bad line.
    monkeypatch.setattr(importer, "BATCH_SIZE", 4)
    error = refused(with_bad_line(bad, at))
    assert (error.line, error.field) == (at, field)
    assert error.reason.startswith(reason), error.reason
    assert str(error).startswith(f'line {at}: field "{field}": ' if field else f"line {at}: ")


def test_nul_reason_and_nested_paths():
    line = {
        **message("mx"),
        "content": [{"type": "text", "text": "ok"}, {"type": "text", "text": "a\u0000"}],
    }
    error = refused([*GOOD, json.dumps(line).encode()])
    assert (error.line, error.field) == (19, "content[1].text")
    assert error.reason == "contains the NUL character (\\u0000), which PostgreSQL cannot store"


def test_nul_in_a_key():
    error = refused([b'{"type": "organization", "id": "o", "meta": {"a\\u0000": 1}}'])
    assert (error.line, error.field) == (1, "meta")
    assert "has a key that contains the NUL character" in error.reason


def test_an_escaped_backslash_before_u0000_is_no_nul():
    import_lines([b'{"type": "organization", "id": "o", "name": "\\\\u0000"}'])
    assert dump()["organization"][0]["name"] == "\\u0000"


def test_a_surrogate_pair_is_a_character():
    import_lines([b'{"type": "organization", "id": "o", "name": "\\ud83d\\ude00 ok"}'])
    assert dump()["organization"][0]["name"] == "\U0001f600 ok"


def test_lone_surrogate_reason():
    error = refused([b'{"type": "organization", "id": "o", "name": "x\\udc80"}'])
    assert (error.field, error.reason) == ("name", "contains an unpaired surrogate (\\udc80)")


def test_str_lines_with_a_raw_lone_surrogate():
    error = refused(['{"type": "organization", "id": "o", "name": "x\ud800"}'])
    assert (error.line, error.field) == (1, "name")


def test_nested_too_deeply():
    error = refused([GOOD[0], b"[" * 100_000 + b"]" * 100_000])
    assert (error.line, error.reason) == (2, "is nested too deeply")


def test_an_integer_of_thousands_of_digits():
    error = refused([b'{"type": "organization", "id": "o", "n": ' + b"9" * 5000 + b"}"])
    assert error.line == 1
    assert error.reason.startswith("is not valid JSON")


def test_malformed_json_names_the_column():
    error = refused([b'{"type": "organization", "id": "o",}'])
    assert error.reason == (
        "is not valid JSON: Expecting property name enclosed in double quotes (column 36)"
    )


def test_invalid_utf8_names_the_byte():
    error = refused([b'{"type": "organization", "id": "o\xe9"}'])
    assert error.reason == "is not valid UTF-8 (byte 0xe9 at byte 34)"


def test_empty_file_and_blank_lines():
    assert import_lines([]).total == 0
    assert str(import_lines([])) == "0 records: nothing to import"
    assert import_lines([b"\n", b"   \r\n", b"\t\n", b""]).total == 0
    assert dump() == {name: [] for name in dump()}


def test_blank_lines_are_skipped_but_counted():
    lines = [GOOD[0], b"\n", b"  \n", GOOD[1], b"\r\n", b"{oops}\n"]
    assert refused(lines).line == 6
    summary = import_lines([b"\n", *GOOD[:3], b"\n"])
    assert summary.total == 3


def test_crlf_and_a_byte_order_mark_on_the_first_line():
    lines = [b"\xef\xbb\xbf" + GOOD[0].rstrip() + b"\r\n", *GOOD[1:]]
    assert import_lines(lines).total == len(GOOD)


def test_a_byte_order_mark_elsewhere_is_bad_json():
    error = refused([GOOD[0], b"\xef\xbb\xbf" + GOOD[1]])
    assert error.line == 2


def test_a_line_over_the_limit(monkeypatch):
    monkeypatch.setattr(importer, "MAX_LINE_BYTES", 100)
    long_line = json.dumps(organization("org_x", name="n" * 200)).encode() + b"\n"
    exactly = b'{"type":"organization","id":"' + b"o" * 69 + b'"}'
    assert len(exactly) == 100
    stream = io.BytesIO(b"".join([GOOD[0], exactly + b"\r\n", long_line, GOOD[1]]))
    error = refused(read_ndjson(stream))
    assert (error.line, error.field) == (3, None)
    assert error.reason.startswith("the line is longer than the limit of 100 bytes")


class EndlessLine(io.RawIOBase):
    """A stream whose only line never ends: counts the bytes anyone read from it."""

    def __init__(self):
        self.served = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        buffer[:] = b"x" * len(buffer)
        self.served += len(buffer)
        return len(buffer)


def test_an_endless_line_is_refused_after_the_limit_only():
    raw = EndlessLine()
    error = refused(read_ndjson(io.BufferedReader(raw, buffer_size=1 << 20)))
    assert error.line == 1
    assert "longer than the limit of 16,777,216 bytes" in error.reason
    assert raw.served < importer.MAX_LINE_BYTES + (2 << 20)


def test_reading_stops_at_the_first_bad_line():
    served = []

    def lines():
        for number, line in enumerate([*GOOD[:3], b"{bad\n", *GOOD[3:]], 1):
            served.append(number)
            yield line

    assert refused(lines()).line == 4
    assert served == [1, 2, 3, 4]


def test_an_earlier_lines_broken_reference_is_reported_before_a_later_bad_line():
    # Line 12 names an agent nobody defined; line 13 is not even JSON. Both in one batch.
    lines = [*ndjson([*tenancy(), conversation("c1", agent_id=99)]), b"{oops\n"]
    error = refused(lines)
    assert (error.line, error.field) == (12, "agentId")


def test_an_error_in_a_batch_being_written_wins_over_a_later_bad_line(monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 3)
    lines = [*ndjson([*tenancy(), conversation("c1", agent_id=99)]), *GOOD[:5], b"{oops\n"]
    error = refused(lines)
    assert (error.line, error.field) == (12, "agentId")


def test_the_same_id_in_two_batches_names_both_lines(monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    lines = [*GOOD, json.dumps(conversation("c1", title="changed")).encode()]
    error = refused(lines)
    assert (error.line, error.field) == (19, "id")
    assert error.reason == 'conversation "c1" was already given on line 12 with different content'


def test_the_identical_record_in_two_batches_is_fine(monkeypatch):
    monkeypatch.setattr(importer, "BATCH_SIZE", 2)
    summary = import_lines([*GOOD, GOOD[11], GOOD[0]])
    assert summary.total == len(GOOD) + 2
    assert summary.counts["conversation"].updated == 1
