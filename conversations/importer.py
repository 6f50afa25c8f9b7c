"""How a line of NDJSON becomes rows: the activity importer of ACTIVITY.md.

Lines are read one at a time and each record is checked on its own (conversations.records).
Records collect into batches of BATCH_SIZE; a batch is checked against the database with one
query per record type, then written with one upsert per record type in dependency order
(conversations.bulk), on a worker thread while the next batch is read. The whole file is one
transaction, so a bad line anywhere writes nothing; the getStats rollups (stats.rollups) are
brought up to date inside it.

"Earlier line" holds inside a batch too: a record may name what the database held before
the batch, or what a smaller line number of the batch defines. Keys already written by an
earlier batch are remembered in a scratch database on disk (memory must not grow with the
file), so the same id given twice with different content is an error naming both lines.
"""

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import F, OuterRef, Q, Subquery

from asteragents.models import Membership, Organization, User
from conversations import bulk
from conversations.models import Agent, Conversation, Feedback, Message
from conversations.records import (
    RECORD_TYPES,
    RecordError,
    RecordType,
    find_unstorable,
    parse_record,
    shown,
)
from kb.models import KnowledgeBase, KnowledgeBaseFile
from stats.rollups import RollupChanges

# A line longer than this is refused before it is parsed; read_ndjson never holds more.
MAX_LINE_BYTES = 16 * 1024 * 1024
# Records per batch: one lookup query per record type per batch, and a bounded memory.
BATCH_SIZE = 5000

# How an error names a record type ("unknown knowledge base ...").
_LABELS = {
    "organization": "organization",
    "user": "user",
    "membership": "membership",
    "agent": "agent",
    "conversation": "conversation",
    "message": "message",
    "feedback": "feedback",
    "knowledgeBase": "knowledge base",
    "knowledgeBaseFile": "knowledge base file",
}
# The field that names a record's parent, for the error when the parent is unknown.
_PARENT_FIELDS = {
    "conversation": "conversationId",
    "message": "messageId",
    "knowledgeBase": "knowledgeBaseId",
}
# Only an escape can put NUL or a lone surrogate into a string parsed from valid UTF-8.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


class ActivityImportError(Exception):
    """A line that breaks ACTIVITY.md: its number, the field to blame (or None) and why."""

    def __init__(self, line: int, field: str | None, reason: str):
        self.line = line
        self.field = field
        self.reason = reason
        where = f'line {line}: field "{field}"' if field else f"line {line}"
        super().__init__(f"{where}: {reason}")


@dataclass
class TypeCounts:
    created: int = 0
    updated: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated

    def __str__(self) -> str:
        done = [f"{self.created} created"] if self.created else []
        return ", ".join(done + ([f"{self.updated} updated"] if self.updated else []))


@dataclass
class ImportSummary:
    """Rows created and updated per record type; a record already in the database is updated."""

    counts: dict[str, TypeCounts] = field(
        default_factory=lambda: {name: TypeCounts() for name in RECORD_TYPES}
    )

    @property
    def created(self) -> int:
        return sum(counts.created for counts in self.counts.values())

    @property
    def updated(self) -> int:
        return sum(counts.updated for counts in self.counts.values())

    @property
    def total(self) -> int:
        return self.created + self.updated

    def as_dict(self) -> dict[str, dict[str, int]]:
        """{type: {"created": n, "updated": m}} for the types the import touched."""
        return {
            name: {"created": counts.created, "updated": counts.updated}
            for name, counts in self.counts.items()
            if counts.total
        }

    def __str__(self) -> str:
        if not self.total:
            return "0 records: nothing to import"
        parts = "; ".join(
            f"{name} {counts}" for name, counts in self.counts.items() if counts.total
        )
        return f"{self.total} records: {self.created} created, {self.updated} updated ({parts})"


@dataclass(frozen=True)
class ImportedBatch:
    """What one written batch changed, for whoever maintains data derived from these tables.

    `touched` maps "message", "feedback" and "knowledgeBaseFile" to the (organization id,
    instant) pairs -- createdAt, a file's processedAt -- of every row the batch inserted,
    updated or re-owned, both before and after the change.
    """

    touched: dict[str, set[tuple[str, datetime]]]


BatchHook = Callable[[ImportedBatch], None]


def read_ndjson(stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of a binary stream, none longer than MAX_LINE_BYTES + 2 bytes in memory.

    A longer line is cut there (room for the limit and a CRLF); import_lines refuses it
    before reading further.
    """
    while line := stream.readline(MAX_LINE_BYTES + 2):
        yield line


def import_lines(
    lines: Iterable[bytes | str],
    *,
    progress: Callable[[int], None] | None = None,
    on_batch: BatchHook | None = None,
) -> ImportSummary:
    """Import NDJSON lines (numbered from 1) in one transaction; ActivityImportError if any is bad.

    `progress` is called as batches are handed to the database with the bytes (characters,
    for str lines) consumed so far; `on_batch` with what each written batch changed, on the
    thread that wrote it, inside the import's transaction.
    """
    consumed = 0
    with transaction.atomic(), _Importer(on_batch) as importer:
        with importer.reporting_the_first_bad_line():
            for number, line in enumerate(lines, 1):
                consumed += len(line)
                record = _decode_line(line, number)
                if record is not _BLANK and importer.add(record, number) and progress:
                    progress(consumed)
            importer.finish()
    if progress:
        progress(consumed)
    return importer.summary


def import_records(records: Iterable[dict], *, on_batch: BatchHook | None = None) -> ImportSummary:
    """Import already-parsed records (record N is "line N") in one transaction."""
    with transaction.atomic(), _Importer(on_batch) as importer:
        with importer.reporting_the_first_bad_line():
            for number, record in enumerate(records, 1):
                # Not parsed by us: anything Python holds could be in there.
                if problem := find_unstorable(record):
                    raise ActivityImportError(number, problem.field, problem.reason)
                importer.add(record, number)
            importer.finish()
    return importer.summary


# --- One line ------------------------------------------------------------------------------


class _NonFinite(ValueError):
    pass


def _reject_non_finite(text: str):
    raise _NonFinite(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):  # 1e999 overflows to infinity
        raise _NonFinite(text)
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_non_finite, parse_float=_finite_float)


_BLANK = object()


def _decode_line(line: bytes | str, number: int) -> Any:
    """The JSON value of one line, _BLANK for a blank one; ActivityImportError if unreadable."""
    if len(line) > MAX_LINE_BYTES and len(_without_newline(line)) > MAX_LINE_BYTES:
        raise ActivityImportError(
            number,
            None,
            f"the line is longer than the limit of {MAX_LINE_BYTES:,} bytes; nothing past "
            "the limit was read",
        )
    check_strings = False
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ActivityImportError(
                number,
                None,
                f"is not valid UTF-8 (byte 0x{line[exc.start]:02x} at byte {exc.start + 1})",
            ) from None
    else:
        text = line
        # A str may hold a lone surrogate outright, not only as an escape.
        check_strings = not text.isascii() and not _encodes(text)
    if number == 1 and text.startswith("\ufeff"):
        text = text[1:]  # a UTF-8 byte order mark
    if not text.strip(" \t\r\n"):
        return _BLANK
    try:
        record = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ActivityImportError(
            number, None, f"is not valid JSON: {exc.msg} (column {exc.colno})"
        ) from None
    except _NonFinite as exc:
        # Parse again, letting NaN and infinities through, to learn which field holds one.
        problem = find_unstorable(json.loads(text))
        field = problem.field if problem else None
        raise ActivityImportError(number, field, f"must be a finite number, got {exc}") from None
    except RecursionError:
        raise ActivityImportError(number, None, "is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ActivityImportError(number, None, f"is not valid JSON: {exc}") from None
    if check_strings or ("\\u" in text and _SUSPECT_ESCAPE.search(text)):
        if problem := find_unstorable(record):
            raise ActivityImportError(number, problem.field, problem.reason)
    return record


def _without_newline(line: bytes | str) -> bytes | str:
    return line.rstrip(b"\r\n" if isinstance(line, bytes) else "\r\n")


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def _digest(record: dict) -> int:
    """The record's content, independent of key order and spacing.

    Python's 64-bit string hash: it only has to tell apart two records of one id within
    one import (one process), and it costs a fraction of a cryptographic digest.
    """
    return hash(_CANONICAL(record))


# --- Batches -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Pending:
    line: int
    values: dict
    digest: int
    repeats: int = 0  # later lines with the identical record


def _key_text(key: Any) -> str:
    return json.dumps(list(key)) if isinstance(key, tuple) else str(key)


def _describe(type_name: str, key: Any) -> str:
    if type_name == "membership":
        return f"membership of user {shown(key[1])} in organization {shown(key[0])}"
    return f"{_LABELS[type_name]} {shown(key)}"


class _Importer:
    """One import: the batch being read, the batch being written, and the summary.

    A full batch is checked and written on a worker thread while the next one is read and
    parsed, so the database's work and Python's overlap. Both threads use the one
    connection (and transaction), never at the same time: the reader touches no database.
    """

    def __init__(self, on_batch: BatchHook | None):
        # The connection object itself, not the thread-local proxy: the worker shares it.
        self.connection = connections[DEFAULT_DB_ALIAS]
        self.on_batch = on_batch
        # The getStats pre-aggregates follow every batch (stats.rollups).
        self.rollups = RollupChanges()
        self.summary = ImportSummary()
        self.seen = bulk.SeenKeys()
        self.batch = self._new_batch()
        self.worker: ThreadPoolExecutor | None = None
        self.writing: Future | None = None

    def __enter__(self):
        bulk.begin_import(self.connection)
        return self

    def __exit__(self, *exc_info):
        # Whatever happened, the worker is done with the connection before the transaction
        # ends (a rollback must not race a write).
        if self.writing is not None:
            wait([self.writing])
        if self.worker is not None:
            self.worker.shutdown()
            self.connection.dec_thread_sharing()
        self.seen.close()
        return False

    def add(self, record: Any, line: int) -> bool:
        """Queue one record; True when it filled a batch, now handed to the worker."""
        try:
            record_type, key, values = parse_record(record)
        except RecordError as exc:
            raise ActivityImportError(line, exc.field, exc.reason) from None
        self.batch.add(record_type.name, key, values, line, _digest(record))
        if self.batch.size < BATCH_SIZE:
            return False
        self._wait()
        # Here rather than on the worker: it needs no database, and the worker is the busier.
        if conflicts := self.batch.check_seen_keys():
            raise min(conflicts, key=lambda error: error.line)
        if self.worker is None:
            self.connection.inc_thread_sharing()
            self.worker = ThreadPoolExecutor(
                max_workers=1, initializer=_use_connection, initargs=(self.connection,)
            )
        full, self.batch = self.batch, self._new_batch()
        self.writing = self.worker.submit(self._flush, full)
        return True

    def finish(self) -> None:
        self._wait()
        self._flush(self.batch)
        self.batch = self._new_batch()
        self.rollups.apply()
        bulk.end_import(self.connection, RECORD_TYPES.values())

    def _new_batch(self) -> "_Batch":
        return _Batch(self.connection, self.summary, self.seen)

    def _wait(self) -> None:
        """Let the batch being written finish; its error, if any, is raised here."""
        if self.writing is not None:
            writing, self.writing = self.writing, None
            writing.result()

    def _flush(self, batch: "_Batch") -> None:
        batch.check()
        if not batch.size:
            return
        written = ImportedBatch(touched=batch.write())
        self.rollups.on_batch(written)
        if self.on_batch is not None:
            self.on_batch(written)

    @contextmanager
    def reporting_the_first_bad_line(self):
        """A bad line's error, unless a line read before it breaks a rule: then that one's."""
        try:
            yield
        except ActivityImportError as error:
            earlier = self._earlier_error(error)
            if earlier is not None:
                raise earlier from None
            raise

    def _earlier_error(self, error: ActivityImportError) -> ActivityImportError | None:
        # The batch being written has the smallest line numbers, then the one being read.
        for step in (self._wait, self.batch.check):
            try:
                step()
            except ActivityImportError as other:
                if other.line < error.line:
                    return other
        return None


def _use_connection(connection) -> None:
    """The worker thread's ORM queries go through the importer's connection."""
    connections[DEFAULT_DB_ALIAS] = connection


class _Batch:
    """Up to BATCH_SIZE records (the first of each key), checked and written together."""

    def __init__(self, connection, summary: ImportSummary, seen: bulk.SeenKeys):
        self.connection = connection
        self.summary = summary  # counted into as the batch is written
        self.seen = seen
        self.pending: dict[str, dict[Any, _Pending]] = {name: {} for name in RECORD_TYPES}
        self.size = 0
        self.seen_checked = False
        # What the database held, before this batch, of every key it writes or names.
        self.db: dict[str, Any] = {}

    def add(self, type_name: str, key: Any, values: dict, line: int, digest: int) -> None:
        pending = self.pending[type_name]
        earlier = pending.get(key)
        if earlier is None:
            pending[key] = _Pending(line, values, digest)
        elif earlier.digest != digest:
            raise _conflict(type_name, key, line, earlier.line)
        else:
            earlier.repeats += 1
        self.size += 1

    def check(self) -> None:
        """Raise the error of the batch's smallest bad line; fills copied organization ids."""
        if not self.size:
            return
        self._fetch_database_state()
        errors = self.check_seen_keys()
        for name, check in (
            ("membership", self._check_membership),
            ("agent", self._check_agent),
            ("conversation", self._check_conversation),
            ("message", self._check_message),
            ("feedback", self._check_feedback),
            ("knowledgeBase", self._check_knowledge_base),
            ("knowledgeBaseFile", self._check_file),
        ):
            for key, pending in self.pending[name].items():
                try:
                    check(key, pending)
                except ActivityImportError as error:
                    errors.append(error)
                    break  # later records of this type have larger line numbers
        if errors:
            raise min(errors, key=lambda error: error.line)

    def _fetch_database_state(self) -> None:
        """What the database holds, before this batch, of every key it writes or names."""
        pending = self.pending
        wanted = {name: set(records) for name, records in pending.items()}
        member_users = {user for _, user in pending["membership"]}
        for org, user in pending["membership"]:
            wanted["organization"].add(org)
            wanted["user"].add(user)
        for type_name in ("agent", "knowledgeBase"):
            for record in pending[type_name].values():
                wanted["organization"].add(record.values["organization_id"])
        for record in pending["conversation"].values():
            values = record.values
            wanted["organization"].add(values["organization_id"])
            wanted["user"].add(values["user_id"])
            wanted["agent"].add(values["agent_id"])
            member_users.add(values["user_id"])
        for record in pending["message"].values():
            wanted["conversation"].add(record.values["conversation_id"])
        for record in pending["feedback"].values():
            wanted["message"].add(record.values["message_id"])
            wanted["user"].add(record.values["user_id"])
            member_users.add(record.values["user_id"])
        for record in pending["knowledgeBaseFile"].values():
            wanted["knowledgeBase"].add(record.values["knowledge_base_id"])

        def rows(model, keys, *columns):
            if not keys:
                return {}
            found = model.objects.filter(bulk.AnyOf(F("pk"), keys))
            return {row.pk: row for row in found.values_list("pk", *columns, named=True)}

        self.db = {
            "organization": rows(Organization, wanted["organization"]),
            "user": rows(User, wanted["user"]),
            # Every membership of the users involved: a superset, in one query.
            "membership": set(
                Membership.objects.filter(bulk.AnyOf(F("user_id"), member_users)).values_list(
                    "organization_id", "user_id"
                )
            )
            if member_users
            else set(),
            "agent": rows(Agent, wanted["agent"], "organization_id"),
            "conversation": rows(
                Conversation, wanted["conversation"], "organization_id", "user_id", "agent_id"
            ),
            "message": rows(
                Message,
                wanted["message"],
                "organization_id",
                "conversation_id",
                "owner_id",
                "agent_id",
                "created_at",
            ),
            "feedback": rows(Feedback, wanted["feedback"], "organization_id", "created_at"),
            "knowledgeBase": rows(KnowledgeBase, wanted["knowledgeBase"], "organization_id"),
            "knowledgeBaseFile": rows(
                KnowledgeBaseFile, wanted["knowledgeBaseFile"], "organization_id", "processed_at"
            ),
        }

    def check_seen_keys(self) -> list[ActivityImportError]:
        """Keys an earlier batch wrote must come back with the same content; once a batch."""
        if self.seen_checked:
            return []
        self.seen_checked = True
        errors = []
        for kind, (name, pending) in enumerate(self.pending.items()):
            if not pending:
                continue
            texts = {_key_text(key): key for key in pending}
            earlier = self.seen.find(kind, list(texts))
            for text, (first_line, digest) in earlier.items():
                record = pending[texts[text]]
                if digest != record.digest:
                    errors.append(_conflict(name, texts[text], record.line, first_line))
            self.seen.add(
                kind,
                [
                    (text, pending[key].line, pending[key].digest)
                    for text, key in texts.items()
                    if text not in earlier
                ],
            )
        return errors

    def _known(self, type_name: str, key: Any, line: int) -> bool:
        """Whether the database or an earlier line holds this key."""
        record = self.pending[type_name].get(key)
        return (record is not None and record.line < line) or key in self.db[type_name]

    def _organization_at(self, type_name: str, key: Any, line: int) -> str | None:
        """The organization of a referenced row as of `line`; None when nothing holds it."""
        record = self.pending[type_name].get(key)
        if record is not None and record.line < line:
            return record.values.get("organization_id")
        row = self.db[type_name].get(key)
        return row.organization_id if row is not None else None

    def _require(self, type_name: str, key: Any, line: int, field: str) -> None:
        if not self._known(type_name, key, line):
            raise ActivityImportError(line, field, f"unknown {_unknown(type_name, key)}")

    def _require_member(self, org: str, user: str, line: int, whose: str) -> None:
        self._require("user", user, line, "userId")
        if not self._known("membership", (org, user), line):
            raise ActivityImportError(
                line,
                "userId",
                f"user {shown(user)} is not a member of organization {shown(org)}{whose}",
            )

    def _stays_in(self, type_name: str, key: Any, line: int, org: str, field: str) -> None:
        """An id the database holds under another organization is never moved to this one."""
        row = self.db[type_name].get(key)
        if row is not None and row.organization_id != org:
            raise ActivityImportError(
                line,
                field,
                f"{_describe(type_name, key)} already exists in organization "
                f"{shown(row.organization_id)}, not {shown(org)}; "
                "an import never moves data between organizations",
            )

    def _check_membership(self, key: tuple[str, str], record: _Pending) -> None:
        self._require("organization", key[0], record.line, "organizationId")
        self._require("user", key[1], record.line, "userId")

    def _check_agent(self, key: int, record: _Pending) -> None:
        org = record.values["organization_id"]
        self._require("organization", org, record.line, "organizationId")
        self._stays_in("agent", key, record.line, org, "organizationId")

    def _check_conversation(self, key: str, record: _Pending) -> None:
        values, line = record.values, record.line
        org = values["organization_id"]
        self._require("organization", org, line, "organizationId")
        self._require_member(org, values["user_id"], line, "")
        agent_org = self._organization_at("agent", values["agent_id"], line)
        if agent_org is None:
            raise ActivityImportError(
                line, "agentId", f"unknown {_unknown('agent', values['agent_id'])}"
            )
        if agent_org != org:
            raise ActivityImportError(
                line,
                "agentId",
                f"agent {values['agent_id']} belongs to organization {shown(agent_org)}, "
                f"not {shown(org)}",
            )
        self._stays_in("conversation", key, line, org, "organizationId")

    def _parent_organization(self, parent_type: str, parent_key: Any, line: int) -> str:
        """The organization of the record a message, feedback or file hangs from.

        Those records name no organization of their own: it is their parent's.
        """
        org = self._organization_at(parent_type, parent_key, line)
        if org is None:
            raise ActivityImportError(
                line, _PARENT_FIELDS[parent_type], f"unknown {_unknown(parent_type, parent_key)}"
            )
        return org

    def _check_message(self, key: str, record: _Pending) -> None:
        values, line = record.values, record.line
        org = self._parent_organization("conversation", values["conversation_id"], line)
        values["organization_id"] = org
        self._stays_in("message", key, line, org, "conversationId")

    def _check_feedback(self, key: str, record: _Pending) -> None:
        values, line = record.values, record.line
        org = self._parent_organization("message", values["message_id"], line)
        values["organization_id"] = org
        self._require_member(org, values["user_id"], line, " (the message's organization)")
        self._stays_in("feedback", key, line, org, "messageId")

    def _check_knowledge_base(self, key: str, record: _Pending) -> None:
        org = record.values["organization_id"]
        self._require("organization", org, record.line, "organizationId")
        self._stays_in("knowledgeBase", key, record.line, org, "organizationId")

    def _check_file(self, key: str, record: _Pending) -> None:
        values, line = record.values, record.line
        org = self._parent_organization("knowledgeBase", values["knowledge_base_id"], line)
        values["organization_id"] = org
        self._stays_in("knowledgeBaseFile", key, line, org, "knowledgeBaseId")

    # Writing ------------------------------------------------------------------------------

    def write(self) -> dict[str, set[tuple[str, datetime]]]:
        """Upsert the checked batch in dependency order, re-owning what a change moved."""
        if not self.size:
            return {}
        touched: dict[str, set[tuple[str, datetime]]] = defaultdict(set)
        for name in ("organization", "user", "membership", "agent"):
            self._upsert(RECORD_TYPES[name])

        changed = self._reowned_conversations()
        self._upsert(RECORD_TYPES["conversation"])
        if changed:
            self._touch_existing(touched, Message, Q(conversation_id__in=changed), "message")
            conversation = Conversation.objects.filter(pk=OuterRef("conversation_id"))
            Message.objects.filter(conversation_id__in=changed).update(
                owner=Subquery(conversation.values("user_id")[:1]),
                agent=Subquery(conversation.values("agent_id")[:1]),
            )

        moved = []
        for key, record in self.pending["message"].items():
            values = record.values
            values["owner_id"], values["agent_id"] = self._conversation_now(
                values["conversation_id"]
            )
            row = self.db["message"].get(key)
            if row is not None and row.conversation_id != values["conversation_id"]:
                moved.append(key)
        self._upsert(RECORD_TYPES["message"], touched, "created_at")
        if changed or moved:
            scope = Q(message__conversation_id__in=changed) | Q(message_id__in=moved)
            self._touch_existing(touched, Feedback, scope, "feedback")
            message = Message.objects.filter(pk=OuterRef("message_id"))
            Feedback.objects.filter(scope).update(
                owner=Subquery(message.values("owner_id")[:1]),
                agent=Subquery(message.values("agent_id")[:1]),
            )

        for record in self.pending["feedback"].values():
            values = record.values
            values["owner_id"], values["agent_id"] = self._message_now(values["message_id"])
        self._upsert(RECORD_TYPES["feedback"], touched, "created_at")
        self._upsert(RECORD_TYPES["knowledgeBase"])
        self._upsert(RECORD_TYPES["knowledgeBaseFile"], touched, "processed_at")
        return dict(touched)

    def _reowned_conversations(self) -> list[str]:
        """Conversations of the database whose user or agent this batch changes."""
        changed = []
        for key, record in self.pending["conversation"].items():
            row = self.db["conversation"].get(key)
            values = record.values
            if row is not None and (row.user_id, row.agent_id) != (
                values["user_id"],
                values["agent_id"],
            ):
                changed.append(key)
        return changed

    def _conversation_now(self, key: str) -> tuple[str, int]:
        """(user, agent) of a conversation once this batch is written."""
        record = self.pending["conversation"].get(key)
        if record is not None:
            return record.values["user_id"], record.values["agent_id"]
        row = self.db["conversation"][key]
        return row.user_id, row.agent_id

    def _message_now(self, key: str) -> tuple[str, int]:
        """(owner, agent) of a message once this batch is written."""
        record = self.pending["message"].get(key)
        if record is not None:
            return record.values["owner_id"], record.values["agent_id"]
        row = self.db["message"][key]
        if row.conversation_id in self.pending["conversation"]:
            return self._conversation_now(row.conversation_id)
        return row.owner_id, row.agent_id

    def _touch_existing(self, touched, model, scope: Q, type_name: str) -> None:
        touched[type_name].update(
            model.objects.filter(scope).values_list("organization_id", "created_at")
        )

    def _upsert(
        self,
        record_type: RecordType,
        touched: dict | None = None,
        instant_column: str | None = None,
    ) -> None:
        pending = self.pending[record_type.name]
        if not pending:
            return
        existing = self.db[record_type.name]
        counts = self.summary.counts[record_type.name]
        for key, record in pending.items():
            if key in existing:
                counts.updated += 1 + record.repeats
            else:
                counts.created += 1
                counts.updated += record.repeats
        if touched is not None:
            bucket = touched[record_type.name]
            for key, record in pending.items():
                if (instant := record.values[instant_column]) is not None:
                    bucket.add((record.values["organization_id"], instant))
                row = existing.get(key)
                if row is not None and (instant := getattr(row, instant_column)) is not None:
                    bucket.add((row.organization_id, instant))
        bulk.upsert(
            self.connection,
            record_type,
            new=[record.values for key, record in pending.items() if key not in existing],
            existing=[record.values for key, record in pending.items() if key in existing],
        )


def _conflict(type_name: str, key: Any, line: int, first: int) -> ActivityImportError:
    field = None if type_name == "membership" else "id"
    return ActivityImportError(
        line,
        field,
        f"{_describe(type_name, key)} was already given on line {first} with different content",
    )


def _unknown(type_name: str, key: Any) -> str:
    return f"{_describe(type_name, key)}: not in the database nor on an earlier line"
