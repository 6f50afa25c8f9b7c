"""manage.py bench_stats: issue 5's benchmark of getStats at scale (the work is in bench/)."""

import re
from argparse import ArgumentTypeError

from django.core.management.base import BaseCommand, CommandError

from bench.cases import CASES
from bench.dataset import MIN_DATASET_MESSAGES
from bench.run import Bench, BenchError, Options

_COUNT = re.compile(r"(?P<number>[0-9][0-9_]*)(?P<suffix>[kKmM]?)")
_SUFFIXES = {"": 1, "k": 1_000, "m": 1_000_000}


def _count(minimum: int):
    def parse(text: str) -> int:
        match = _COUNT.fullmatch(text.strip())
        if not match:
            raise ArgumentTypeError(f"{text!r} is not a count (e.g. 20000, 1_000_000, 10M)")
        value = int(match["number"]) * _SUFFIXES[match["suffix"].lower()]
        if value < minimum:
            raise ArgumentTypeError(f"{text!r} is less than {minimum:,}")
        return value

    return parse


def _case_names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    known = {case.name for case in CASES}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ArgumentTypeError(f"unknown case(s) {unknown}; the cases: {sorted(known)}")
    return names


class Command(BaseCommand):
    help = (
        "Benchmark getStats on PostgreSQL: build (or reuse) a seeded dataset with COPY, time "
        "each case through the selector, through HTTP (gunicorn) and by reference SQL over "
        "the raw tables, check all three agree, and measure import_activity throughput. "
        "DATABASE_URL must name a PostgreSQL database with 'bench' in its name: its activity "
        "tables are replaced."
    )

    def add_arguments(self, parser):
        defaults = Options()
        parser.add_argument(
            "--messages",
            type=_count(MIN_DATASET_MESSAGES),
            default=defaults.messages,
            help="Messages in the dataset (half in the largest organization), e.g. 20000, "
            "1M, 10M. Default: 1M.",
        )
        parser.add_argument(
            "--seed", type=int, default=defaults.seed, help="Seed of the dataset. Default: 42."
        )
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="Build the dataset even if the database already holds this size and seed.",
        )
        parser.add_argument(
            "--build-only", action="store_true", help="Build (or reuse) the dataset, time nothing."
        )
        parser.add_argument(
            "--runs",
            type=_count(1),
            default=defaults.runs,
            help="Timed calls per case and path, after the warm-up. Default: 20.",
        )
        parser.add_argument(
            "--warmup",
            type=_count(0),
            default=defaults.warmup,
            help="Untimed calls per case and path first. Default: 3.",
        )
        parser.add_argument(
            "--repeat",
            type=_count(1),
            default=defaults.repeat,
            help="Run the whole timing this many times and report the spread (min/median/"
            "max of the medians), e.g. 3. Default: 1.",
        )
        parser.add_argument(
            "--explain",
            action="store_true",
            default=defaults.explain,
            help="EXPLAIN (ANALYZE, BUFFERS) every query into bench-data/ (default: on).",
        )
        parser.add_argument(
            "--no-explain", dest="explain", action="store_false", help="Skip the EXPLAINs."
        )
        parser.add_argument(
            "--import-lines",
            type=_count(0),
            default=defaults.import_lines,
            help="NDJSON lines for the import throughput (0 skips it). Default: 500k.",
        )
        parser.add_argument(
            "--statement-timeout-ms",
            type=_count(0),
            default=defaults.statement_timeout_ms,
            help="The HTTP server's DATABASE_STATEMENT_TIMEOUT_MS. Default: 0 (none), so slow "
            "cases are timed rather than cut off.",
        )
        parser.add_argument(
            "--cases",
            type=_case_names,
            default=(),
            metavar="NAMES",
            help="Comma-separated case names to time. Default: all.",
        )

    def handle(self, *args, **options):
        bench_options = Options(**{name: options[name] for name in Options.__dataclass_fields__})
        try:
            status = Bench(bench_options, self.stdout.write).run()
        except BenchError as error:
            raise CommandError(str(error)) from None
        if status:
            raise CommandError("MISMATCH: the paths disagree (see above)", returncode=status)
