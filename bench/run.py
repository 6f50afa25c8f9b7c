"""The bench itself: build or reuse the dataset, time every case three ways, report.

For each case: the selector alone (stats_compute in this process), the HTTP endpoint
(gunicorn, production settings) and the reference SQL, each warmed up and then timed `runs`
times; the three must give the same sixteen numbers. Then import throughput.
"""

import hashlib
import importlib
import importlib.util
import json
import math
import os
import re
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench import catalog
from bench.cases import CASES, Case, Subjects
from bench.dataset import END, GENERATOR_VERSION, World, plan_world
from bench.importbench import measure_import
from bench.load import LOADED_MODELS, load_world
from bench.reference import reference_statements, run_statements
from bench.server import PROJECT_DIR, SigningKey, StatsServer
from stats.selectors import stats_compute

WORK_DIR = PROJECT_DIR / "bench-data"
ROLLUPS_MODULE = "stats.rollups"
# Files whose change means the stored rollups may be stale (schema or rebuild code).
ROLLUP_SOURCES = ("stats/rollups.py", "stats/models.py", "stats/migrations")
# Issue 5's import goal.
IMPORT_TARGET_PER_SECOND = 50_000
# The production default of DATABASE_STATEMENT_TIMEOUT_MS (asteragents/settings.py).
PRODUCTION_STATEMENT_TIMEOUT_MS = 5000
INLINE_EXPLAIN_MAX_LINES = 300


class BenchError(Exception):
    """The bench cannot run as asked; the message says why."""


@dataclass(frozen=True)
class Options:
    messages: int = 1_000_000
    seed: int = 42
    rebuild: bool = False
    build_only: bool = False
    runs: int = 20
    warmup: int = 3
    repeat: int = 1
    explain: bool = True
    import_lines: int = 500_000
    statement_timeout_ms: int = 0
    cases: tuple[str, ...] = ()  # names; empty: all


@dataclass
class CaseTimings:
    """One repeat of one case: milliseconds per call of each path."""

    selector: list[float] = field(default_factory=list)
    http: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)


@dataclass
class CaseCheck:
    """One call of each path, compared; and what the selector sends to the database."""

    selector: dict
    http: dict | str  # the figures, or what went wrong
    reference: dict
    queries: list[tuple[str, object]]

    @property
    def mismatches(self) -> list[str]:
        problems = []
        if self.http != self.selector:
            problems.append(f"HTTP {_difference(self.http, self.selector)}")
        if self.reference != self.selector:
            problems.append(f"reference {_difference(self.reference, self.selector)}")
        return problems


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    """Nearest rank: the smallest sample at or above 95% of them."""
    ordered = sorted(samples)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


class Bench:
    def __init__(self, options: Options, write):
        self.options = options
        self.write = write  # one line of output
        self.started = time.perf_counter()

    def log(self, text: str) -> None:
        self.write(f"[{time.perf_counter() - self.started:7.1f} s] {text}")

    # --- the dataset -----------------------------------------------------------------------

    def check_database(self) -> str:
        if connection.vendor != "postgresql":
            raise BenchError("the bench runs on PostgreSQL: set DATABASE_URL=postgres://...")
        url = os.environ.get("DATABASE_URL", "")
        name = connection.settings_dict["NAME"]
        if "bench" not in name or not url.startswith(("postgres://", "postgresql://")):
            raise BenchError(
                f"the bench truncates the activity tables of its database; DATABASE_URL must "
                f"name a PostgreSQL database with 'bench' in its name (got {name!r})"
            )
        with connection.cursor() as cursor:
            # A run times queries of many seconds at 10M messages; the bench's own
            # connection must not cut them off.
            cursor.execute("SET statement_timeout = 0")
        return url

    def dataset(self) -> tuple[catalog.BuiltDataset, bool]:
        """The stored dataset if it is the one asked for, else a fresh build (True)."""
        with connection.cursor() as cursor:
            catalog.ensure_table(cursor)
            stored = catalog.read(cursor)
            cursor.execute("SELECT count(*) FROM conversations_message")
            messages_now = cursor.fetchone()[0]
        wanted = (self.options.messages, self.options.seed, GENERATOR_VERSION)
        if stored is not None and not self.options.rebuild:
            if (stored.messages, stored.seed, stored.generator) == wanted:
                if messages_now == stored.messages:
                    self.log(
                        f"dataset: reusing {stored.messages:,} messages (seed {stored.seed}), "
                        f"built {stored.built_at:%Y-%m-%d %H:%M} UTC in "
                        f"{stored.build_seconds:,.0f} s (--rebuild builds it again)"
                    )
                    return stored, False
        elif stored is None and messages_now and not self.options.rebuild:
            raise BenchError(
                f"the database holds {messages_now:,} messages that bench_stats did not build; "
                "use --rebuild to replace them"
            )
        return self.build(), True

    def build(self) -> catalog.BuiltDataset:
        options = self.options
        self.log(f"dataset: building {options.messages:,} messages (seed {options.seed}) ...")
        started = time.perf_counter()
        world = plan_world(messages=options.messages, seed=options.seed)
        self.log(
            f"  planned {len(world.organizations)} organizations, {len(world.users):,} users, "
            f"{len(world.conversations):,} conversations"
        )
        with transaction.atomic(), connection.cursor() as cursor:
            catalog.forget(cursor)
            report = load_world(cursor.cursor, world, progress=self.log)
        self.log("  VACUUM (ANALYZE) ...")
        with connection.cursor() as cursor:
            for model in LOADED_MODELS:
                cursor.execute(f'VACUUM (ANALYZE) "{model._meta.db_table}"')
        seconds = time.perf_counter() - started
        built = catalog.BuiltDataset(
            messages=options.messages,
            seed=options.seed,
            generator=GENERATOR_VERSION,
            built_at=datetime.now(UTC),
            build_seconds=seconds,
            subjects=subjects_of(world),
            rows=report.rows,
        )
        with connection.cursor() as cursor:
            catalog.write(cursor, built)
        largest = world.largest
        self.log(
            f"dataset: built in {seconds:,.0f} s; largest organization {largest.id} holds "
            f"{largest.message_quota:,} of {options.messages:,} messages "
            f"({largest.message_quota / options.messages:.1%}); rows: "
            + ", ".join(f"{table} {count:,}" for table, count in report.rows.items())
        )
        return built

    def rollups(self, dataset: catalog.BuiltDataset, *, fresh: bool) -> str:
        """Rebuild the lead's rollups when they exist and may be stale; what was done."""
        if importlib.util.find_spec(ROLLUPS_MODULE) is None:
            return "rollups: none (stats.rollups does not exist): the selector reads raw tables"
        rollups = importlib.import_module(ROLLUPS_MODULE)
        rebuild_all = getattr(rollups, "rebuild_all", None)
        if rebuild_all is None:
            return "rollups: not rebuilt (stats.rollups has no rebuild_all)"
        fingerprint = rollup_fingerprint()
        if not fresh and dataset.rollups_fingerprint == fingerprint:
            return "rollups: up to date (rebuilt after the build, rollup code unchanged since)"
        self.log("rollups: stats.rollups.rebuild_all(organization_id=None) ...")
        started = time.perf_counter()
        with transaction.atomic():
            rebuild_all(organization_id=None)
        seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            for table in _rollup_tables():
                # As autovacuum would: statistics, and an all-visible map for index-only scans.
                cursor.execute(f'VACUUM (ANALYZE) "{table}"')
            catalog.set_rollups_fingerprint(cursor, fingerprint)
        return f"rollups: rebuilt by stats.rollups.rebuild_all in {seconds:,.1f} s"

    # --- timing ------------------------------------------------------------------------------

    def time_case(self, case: Case, subjects: Subjects, server, key: SigningKey) -> CaseTimings:
        options = self.options
        query = case.query(subjects)
        path, caller, role = case.request(subjects)
        token = key.session_token(
            user_id=caller, organization_id=subjects.organization_id, role=role
        )
        statements = reference_statements(case, subjects)
        timings = CaseTimings()
        timings.selector = _timed(lambda: stats_compute(query=query), options)
        timings.http = _timed(lambda: _expect_ok(server.get(path, token=token)), options)
        with connection.cursor() as cursor:
            timings.reference = _timed(lambda: run_statements(cursor, statements), options)
        return timings

    def check_case(self, case: Case, subjects: Subjects, server, key: SigningKey) -> CaseCheck:
        """One call of each path, the selector's queries captured (SQL and parameters)."""
        queries = []

        def capture(execute, sql, params, many, context):
            queries.append((sql, params))
            return execute(sql, params, many, context)

        with CaptureQueriesContext(connection) as counted, connection.execute_wrapper(capture):
            selector = stats_compute(query=case.query(subjects))
        assert len(counted.captured_queries) == len(queries)
        path, caller, role = case.request(subjects)
        token = key.session_token(
            user_id=caller, organization_id=subjects.organization_id, role=role
        )
        status, body = server.get(path, token=token)
        http = json.loads(body) if status == 200 else f"status {status}: {body[:300]!r}"
        with connection.cursor() as cursor:
            reference = run_statements(cursor, reference_statements(case, subjects))
        return CaseCheck(selector, http, reference, queries)

    def explain(self, case: Case, subjects: Subjects, check: CaseCheck):
        """EXPLAIN (ANALYZE, BUFFERS) of the selector's queries and of the reference's.

        (full text, one digest line per statement)
        """
        lines, digest = [f"=== {case.name} ==="], []
        statements = [
            (f"selector {n}", sql, params) for n, (sql, params) in enumerate(check.queries, 1)
        ]
        statements += [
            (f"reference {n}", sql, params)
            for n, (_names, sql, params) in enumerate(reference_statements(case, subjects), 1)
        ]
        with connection.cursor() as cursor:
            for label, sql, params in statements:
                plan = _explain(cursor, sql, params)
                lines.append(f"--- {label}:\n{sql.strip()}\n-- params: {params!r}")
                lines += plan
                digest.append(f"{case.name:<28} {label:<11} {plan_digest(plan)}")
        return lines, digest

    def run(self) -> int:
        options = self.options
        url = self.check_database()
        dataset, fresh = self.dataset()
        self.log(self.rollups(dataset, fresh=fresh))
        if options.build_only:
            return 0
        cases = [case for case in CASES if not options.cases or case.name in options.cases]
        subjects = dataset.subjects
        WORK_DIR.mkdir(exist_ok=True)
        key = SigningKey()
        repeats: list[dict[str, CaseTimings]] = []
        checks: dict[str, CaseCheck] = {}
        log_path = WORK_DIR / "gunicorn.log"
        log_path.unlink(missing_ok=True)
        server = StatsServer(
            database_url=url,
            jwt_key_pem=key.public_pem(),
            statement_timeout_ms=options.statement_timeout_ms,
            log_path=log_path,
        )
        with server:
            self.log(f"gunicorn on 127.0.0.1:{server.port} (1 sync worker, DEBUG off)")
            for case in cases:
                checks[case.name] = self.check_case(case, subjects, server, key)
            for repeat in range(options.repeat):
                self.log(f"timing, repeat {repeat + 1} of {options.repeat} ...")
                repeats.append({})
                for case in cases:
                    repeats[-1][case.name] = self.time_case(case, subjects, server, key)
                    timing = repeats[-1][case.name]
                    self.log(
                        f"  {case.name}: selector {p50(timing.selector):.1f} ms, "
                        f"HTTP {p50(timing.http):.1f} ms, reference {p50(timing.reference):.1f} ms"
                    )
        explain_lines, explain_digest = [], []
        if options.explain:
            for case in cases:
                full, digest = self.explain(case, subjects, checks[case.name])
                explain_lines += full
                explain_digest += digest
        import_report = self.measure_import(url)
        self.report(dataset, cases, repeats, checks, import_report)
        if explain_lines:
            explain_path = WORK_DIR / f"explain-{dataset.messages}.txt"
            explain_path.write_text("\n".join(explain_lines) + "\n", encoding="utf-8")
            self.write("")
            inline = len(explain_lines) <= INLINE_EXPLAIN_MAX_LINES
            for line in explain_lines if inline else explain_digest:
                self.write(line)
            self.write(f"EXPLAIN (ANALYZE, BUFFERS) of every query, in full: {explain_path}")
        mismatched = {name: check.mismatches for name, check in checks.items() if check.mismatches}
        if mismatched:
            self.write("")
            self.write("!" * 78)
            for name, problems in mismatched.items():
                for problem in problems:
                    self.write(f"MISMATCH in {name}: {problem}")
            self.write("!" * 78)
            return 1
        self.write("All three paths gave identical figures in every case.")
        return 0

    def report(self, dataset, cases, repeats, checks, import_report) -> None:
        """The results table, the noise table, import throughput and the notes."""
        options = self.options
        self.write("")
        self.write(
            f"getStats bench: {dataset.messages:,} messages ({dataset.messages // 2:,} in the "
            f"largest organization), data ending {END:%Y-%m-%d}, {options.runs} runs after "
            f"{options.warmup} warm-up, {options.repeat} repeat(s); PostgreSQL, "
            f"{os.cpu_count()} cores"
        )
        for line in results_table(cases, repeats, checks):
            self.write(line)
        if options.repeat > 1:
            self.write("")
            for line in noise_table(cases, repeats):
                self.write(line)
        self.write("")
        for line in import_lines(import_report):
            self.write(line)
        slow = [
            case.name
            for case in cases
            if _median_of(repeats, case.name, "http", p50) > PRODUCTION_STATEMENT_TIMEOUT_MS
        ]
        if slow:
            self.write(
                f"NOTE: {', '.join(slow)} take longer than the production statement timeout "
                f"({PRODUCTION_STATEMENT_TIMEOUT_MS} ms): in production they would answer 503."
            )
        if dataset.messages < 10_000_000:
            self.write(
                "NOTE: the targets are set for 10M messages (5M in the largest organization); "
                f"this dataset has {dataset.messages:,}."
            )

    def measure_import(self, url: str):
        options = self.options
        if not options.import_lines:
            return None
        from django.core.management import get_commands

        if "import_activity" not in get_commands():
            return "import_activity is not there yet"
        return measure_import(
            database_url=url,
            lines=options.import_lines,
            seed=options.seed,
            work_dir=WORK_DIR,
            progress=self.log,
        )


def subjects_of(world: World) -> Subjects:
    return Subjects(
        organization_id=world.largest.id,
        admin_id=world.admin_id,
        user_id=world.heavy_user_id,
        agent_id=world.top_agent_id,
    )


def rollup_fingerprint() -> str:
    digest = hashlib.sha256()
    for source in ROLLUP_SOURCES:
        path = PROJECT_DIR / source
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            if file.exists():
                digest.update(file.relative_to(PROJECT_DIR).as_posix().encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()


def _rollup_tables() -> list[str]:
    from django.apps import apps

    return [model._meta.db_table for model in apps.get_app_config("stats").get_models()]


def _timed(call, options: Options) -> list[float]:
    for _ in range(options.warmup):
        call()
    samples = []
    for _ in range(options.runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _expect_ok(answer: tuple[int, bytes]) -> None:
    status, body = answer
    if status != 200:
        raise BenchError(f"getStats answered {status}: {body[:300]!r}")


def _explain(cursor, sql: str, params) -> list[str]:
    try:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
    except Exception as error:  # a statement EXPLAIN does not take: say so, go on
        return [f"(no plan: {error})"]
    return [row[0] for row in cursor.fetchall()]


# A scan node of a text plan: "Index Only Scan using idx on table  (cost=...".
_PLAN_SCAN = re.compile(
    r"((?:Parallel )?(?:Seq|Index Only|Index|Bitmap Heap|Bitmap Index|Function) Scan .*?)  \("
)


def plan_digest(plan: list[str]) -> str:
    """Execution time, the top node's buffers and each scan of an EXPLAIN ANALYZE."""
    execution = next(
        (line.split(":", 1)[1].strip() for line in plan if "Execution Time" in line), "?"
    )
    buffers = next(
        (line.strip().removeprefix("Buffers: ") for line in plan if "Buffers:" in line), ""
    )
    scans = [match[1] for line in plan if (match := _PLAN_SCAN.search(line))]
    return f"{execution:>10}  [{buffers}]  " + "; ".join(dict.fromkeys(scans))


def _difference(got, expected: dict) -> str:
    if not isinstance(got, dict):
        return got
    return ", ".join(
        f"{name} {got.get(name)} != {expected.get(name)}"
        for name in sorted(set(got) | set(expected))
        if got.get(name) != expected.get(name)
    )


# --- the report --------------------------------------------------------------------------


def _median_of(repeats, name: str, path: str, statistic) -> float:
    return statistics.median(statistic(getattr(r[name], path)) for r in repeats)


def results_table(cases, repeats, checks) -> list[str]:
    header = (
        f"{'case':<28} {'selector p50':>12} {'p95':>8} {'HTTP p50':>9} {'p95':>8} "
        f"{'queries':>7} {'ref p50':>8} {'ratio':>6}  target (HTTP p50)"
    )
    lines = [header, "-" * len(header)]
    for case in cases:
        selector_p50 = _median_of(repeats, case.name, "selector", p50)
        http_p50 = _median_of(repeats, case.name, "http", p50)
        reference_p50 = _median_of(repeats, case.name, "reference", p50)
        if case.target_ms is None:
            target = ""
        else:
            verdict = "met" if http_p50 <= case.target_ms else "NOT MET"
            target = f"<= {case.target_ms:g} ms: {verdict}"
        check = checks[case.name]
        if check.mismatches:
            target += "  MISMATCH"
        selector_p95 = _median_of(repeats, case.name, "selector", p95)
        http_p95 = _median_of(repeats, case.name, "http", p95)
        ratio = selector_p50 / reference_p50
        queries = len(check.queries)
        lines.append(
            f"{case.name:<28} {selector_p50:>12.1f} {selector_p95:>8.1f} {http_p50:>9.1f} "
            f"{http_p95:>8.1f} {queries:>7} {reference_p50:>8.1f} {ratio:>6.2f}  {target}"
        )
    lines.append(
        "(milliseconds; ratio = selector p50 / reference p50; queries = SQL per selector call)"
    )
    return lines


def noise_table(cases, repeats) -> list[str]:
    """min / median / max over the repeats of each path's p50."""
    header = f"{'noise: p50 min/median/max':<28} {'selector':>20} {'HTTP':>20} {'reference':>20}"
    lines = [header, "-" * len(header)]
    for case in cases:
        cells = []
        for path in ("selector", "http", "reference"):
            medians = [p50(getattr(r[case.name], path)) for r in repeats]
            cells.append(f"{min(medians):.1f}/{statistics.median(medians):.1f}/{max(medians):.1f}")
        lines.append(f"{case.name:<28} {cells[0]:>20} {cells[1]:>20} {cells[2]:>20}")
    lines.append(f"({len(repeats)} repeats of the whole timing)")
    return lines


def import_lines(report) -> list[str]:
    if report is None:
        return ["import: skipped (--import-lines 0)"]
    if isinstance(report, str):
        return [f"import: skipped ({report})"]
    lines = []
    for run in report.runs:
        if run.exit_status != 0:
            last = report.log_path.read_text(errors="replace").strip().splitlines()[-1:]
            lines.append(
                f"import: {run.lines:,} lines FAILED (exit {run.exit_status}): "
                f"{' '.join(last)} (log: {report.log_path})"
            )
            continue
        lines.append(
            f"import: {run.lines:>9,} lines in {run.seconds:6.1f} s = "
            f"{run.records_per_second:>8,.0f} records/s, peak RSS {run.peak_rss_mb:,.0f} MB"
        )
    full = report.full
    if full.exit_status == 0 and len(report.runs) == 2:
        speed = "met" if full.records_per_second >= IMPORT_TARGET_PER_SECOND else "NOT MET"
        memory = "flat" if report.memory_is_flat else "NOT flat"
        lines.append(
            f"import target >= {IMPORT_TARGET_PER_SECOND:,} records/s: {speed}; memory {memory} "
            f"(peak RSS x{report.memory_growth:.2f} for x5 the lines)"
        )
    return lines
