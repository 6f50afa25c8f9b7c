"""`manage.py import_activity FILE`: load an NDJSON activity file (ACTIVITY.md)."""

import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db import DatabaseError

from conversations.importer import ActivityImportError, import_lines, read_ndjson


class ProgressBar:
    """Bytes read of the file's size, redrawn in place on a terminal."""

    WIDTH = 30

    def __init__(self, out: OutputWrapper, size: int | None):
        self.out = out
        self.size = size

    def __call__(self, done: int) -> None:
        megabytes = done / 1_000_000
        if self.size:
            share = min(done / self.size, 1.0)
            filled = round(share * self.WIDTH)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            line = f"[{bar}] {share:4.0%} {megabytes:,.1f}/{self.size / 1_000_000:,.1f} MB"
        else:
            line = f"{megabytes:,.1f} MB read"
        self.out.write(f"\r{line}", ending="")
        self.out.flush()

    def close(self) -> None:
        self.out.write("")


def file_size(stream: IO[bytes]) -> int | None:
    """The size of a regular file; None for a pipe or a terminal."""
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


class Command(BaseCommand):
    help = (
        "Import organizations, users, memberships, agents, conversations, messages, feedback "
        "and knowledge-base files from an NDJSON file (one JSON record per line, ACTIVITY.md). "
        "Records are upserted by id, so importing the same file again changes nothing. The "
        "file is imported in one transaction: a bad line writes nothing and is reported with "
        "its line number, field and reason."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file",
            metavar="FILE",
            help="Path of the NDJSON file to import, or - to read standard input.",
        )

    def handle(self, *args, file, **options):
        with open_input(file) as stream:
            bar = ProgressBar(self.stderr, file_size(stream)) if self.stderr.isatty() else None
            try:
                summary = import_lines(read_ndjson(stream), progress=bar)
            except ActivityImportError as error:
                raise CommandError(f"{file}: {error}; nothing was imported") from None
            except DatabaseError as error:
                raise CommandError(
                    f"{file}: the database refused the import ({error}); nothing was imported"
                ) from error
            finally:
                if bar is not None:
                    bar.close()
        self.stdout.write(f"Imported {summary}")


@contextmanager
def open_input(path: str) -> Iterator[IO[bytes]]:
    """The file at `path` opened for reading bytes, or standard input for "-"."""
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        stream = open(path, "rb")
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    with stream:
        yield stream
