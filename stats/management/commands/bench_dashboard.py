"""manage.py bench_dashboard: issue 7's timings (series, breakdowns, compare) at scale."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bench.dashboard import CASES, run


class Command(BaseCommand):
    help = (
        "Time getStats with issue 7's options (series in UTC and local zones, breakdowns, "
        "compare=previous) on the dataset `make bench` built, through stats_report and HTTP; "
        "check each fast answer against the raw definition first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--runs", type=int, default=20, help="Timed calls per case and path.")
        parser.add_argument("--warmup", type=int, default=3, help="Untimed calls first.")
        parser.add_argument("--repeat", type=int, default=1, help="Repeat the whole timing.")
        parser.add_argument(
            "--cases",
            default="",
            help=f"Comma-separated case names; default all: {', '.join(c.name for c in CASES)}",
        )

    def handle(self, *args, runs, warmup, repeat, cases, **options):
        database = settings.DATABASES["default"]
        if database["ENGINE"] != "django.db.backends.postgresql" or "bench" not in database["NAME"]:
            raise CommandError("DATABASE_URL must name the PostgreSQL bench database.")
        names = [name.strip() for name in cases.split(",") if name.strip()]
        unknown = set(names) - {case.name for case in CASES}
        if unknown:
            raise CommandError(f"unknown case(s): {sorted(unknown)}")
        url = _database_url(database)
        code = run(
            database_url=url,
            runs=runs,
            warmup=warmup,
            repeat=repeat,
            names=names,
            write=self.stdout.write,
        )
        if code:
            raise CommandError("the fast path and the raw definition disagree", returncode=code)


def _database_url(database: dict) -> str:
    user = database.get("USER") or "postgres"
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{database['NAME']}"
