"""Import throughput: `manage.py import_activity` on generated NDJSON, in a scratch database.

The scratch database (the bench database's name + `_import`) is created, migrated and
dropped here, so the bench dataset is never touched. Two files are imported, a fifth of the
size and the full size: memory is flat when the peak RSS of the larger import is about that
of the smaller one.
"""

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.databases import database_name, drop_database, recreate_database, with_database
from bench.dataset import MIN_DATASET_MESSAGES, plan_world
from bench.ndjson import write_activity_file
from bench.server import PROJECT_DIR

# NDJSON lines per message: the message, ~1/10.5 conversation, ~0.05 feedback, a few others.
LINES_PER_MESSAGE = 1.144
# The larger import may use this much more memory than the smaller and still count as flat.
FLAT_MEMORY_GROWTH = 1.2


@dataclass(frozen=True)
class ImportRun:
    lines: int
    seconds: float
    peak_rss_mb: float
    exit_status: int

    @property
    def records_per_second(self) -> float:
        return self.lines / self.seconds


@dataclass(frozen=True)
class ImportReport:
    runs: tuple[ImportRun, ...]
    log_path: Path

    @property
    def full(self) -> ImportRun:
        return self.runs[-1]

    @property
    def memory_growth(self) -> float:
        return self.runs[-1].peak_rss_mb / self.runs[0].peak_rss_mb

    @property
    def memory_is_flat(self) -> bool:
        return self.memory_growth <= FLAT_MEMORY_GROWTH


def measure_import(
    *, database_url: str, lines: int, seed: int, work_dir: Path, progress
) -> ImportReport:
    scratch_url = with_database(database_url, f"{database_name(database_url)}_import")
    environment = {
        **os.environ,
        "DATABASE_URL": scratch_url,
        "DJANGO_SETTINGS_MODULE": "asteragents.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DATABASE_STATEMENT_TIMEOUT_MS": "0",
        "CACHE_URL": "locmem://",
    }
    log_path = work_dir / "import.log"
    log_path.unlink(missing_ok=True)
    progress(f"import: scratch database {database_name(scratch_url)}, migrating ...")
    recreate_database(scratch_url)
    runs = []
    try:
        _manage(["migrate", "--no-input"], environment, log_path)
        for size in (lines // 5, lines):
            messages = max(MIN_DATASET_MESSAGES, round(size / LINES_PER_MESSAGE))
            path = work_dir / f"import-{size}.ndjson"
            try:
                written = write_activity_file(plan_world(messages=messages, seed=seed), path)
                _empty_tables(scratch_url)
                progress(f"import: {written:,} lines ({path.stat().st_size / 1e6:,.0f} MB) ...")
                runs.append(_timed_import(path, written, environment, log_path))
            finally:
                path.unlink(missing_ok=True)
            if runs[-1].exit_status != 0:
                break
    finally:
        drop_database(scratch_url)
    return ImportReport(tuple(runs), log_path)


def _manage(arguments: list[str], environment: dict, log_path: Path) -> None:
    with log_path.open("ab") as log:
        subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=PROJECT_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT, check=True,
        )  # fmt: skip


def _empty_tables(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "TRUNCATE asteragents_organization, asteragents_user RESTART IDENTITY CASCADE"
        )


def _timed_import(path: Path, lines: int, environment: dict, log_path: Path) -> ImportRun:
    """Wall time and peak RSS of one import_activity process (wait4 gives its own rusage)."""
    with log_path.open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "manage.py", "import_activity", str(path)],
            cwd=PROJECT_DIR, env=environment, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    # Linux reports ru_maxrss in kilobytes.
    return ImportRun(lines, seconds, usage.ru_maxrss / 1024, process.returncode)
