"""manage.py dashboard_stats: an organization's usage figures, for operators."""

from argparse import ArgumentTypeError, RawDescriptionHelpFormatter
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from asteragents.datetimes import Bound, isoformat_z, parse_instant
from asteragents.models import Organization
from stats.breakdown import GROUP_BY
from stats.formatting import RENDERERS, csv_conflict
from stats.forms import resolve_range
from stats.report import ReportOptions, TooManyBuckets, stats_report
from stats.selectors import StatsQuery
from stats.zones import INTERVALS, MAX_BUCKETS, parse_zone

COMPARISONS = ("previous",)
LIMITS = range(1, 101)
DEFAULT_LIMIT = 10

EXAMPLES = """\
examples:
  manage.py dashboard_stats --org org_2abc --from 2024-03-01 --to 2024-03-31
  manage.py dashboard_stats --org org_2abc --from 2024-03-01T09:00:00Z --agent 42 --format csv
  manage.py dashboard_stats --org org_2abc --user user_2xyz --output march.json --format json
  manage.py dashboard_stats --org org_2abc --metadata-key plan --metadata-value beta
  manage.py dashboard_stats --org org_2abc --from 2024-03-01 --to 2024-03-31 \\
      --tz Europe/Berlin --interval day --format csv
  manage.py dashboard_stats --org org_2abc --group-by metadata --group-key plan --limit 5
  manage.py dashboard_stats --org org_2abc --from 2024-03-01 --to 2024-03-31 --compare previous

A date alone covers its whole day in --tz (UTC by default): --from its first microsecond,
--to its last; a datetime without an offset is UTC. Empty values are flags left out.

--tz, --interval, --group-by or --compare add what getStats adds for the same parameters:
generatedAt and dataThrough, then series, breakdown, previous and change. --format json
prints that body exactly; table prints the totals (with previous and change), then the
series and the breakdown as tables.

--format csv writes one table:
  --interval     a row per bucket: start,end and the sixteen figures
  --group-by     a row per listed group: rank,key,label and the eleven conversation
                 figures (an empty key is JSON null: metadata not set), then a row
                 with rank "others" (all zeros unless truncated)
  --compare      (alone) rows current, previous, delta and percent (empty where the
                 previous value is 0) under period and the sixteen figures
  otherwise      the sixteen figure names and one row of values
--interval with --group-by, or --compare with either, has no single table: with
--format csv they exit 2 (use --format json for everything at once).

Exit status: 0 done, 1 unknown organization or unwritable --output, 2 bad flags (also
more than 1,000 buckets, or a combination CSV cannot write)."""


class HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    """Django's flag order, with the examples printed as written."""


@dataclass(frozen=True)
class InstantText:
    """An ISO 8601 date or datetime, checked at parse time and read once --tz is known."""

    text: str

    def instant(self, bound: Bound, zone) -> datetime:
        return parse_instant(self.text, bound=bound, zone=zone)


def _instant(bound: Bound):
    def parse(text: str) -> InstantText | None:
        if text == "":
            return None  # as the endpoint: an empty value is a value left out
        try:
            parse_instant(text, bound=bound)
        except ValueError:
            raise ArgumentTypeError(
                f"{text!r} is not an ISO 8601 date or datetime (e.g. 2024-03-01T09:00:00Z)"
            ) from None
        return InstantText(text)

    return parse


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not an integer") from None


def _limit(text: str) -> int:
    if text == "":
        return DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        value = None
    if value not in LIMITS:
        raise ArgumentTypeError(
            f"{text!r} is not a whole number from {LIMITS[0]} to {LIMITS[-1]}"
        ) from None
    return value


def _zone(text: str):
    if text == "":
        return None
    try:
        return parse_zone(text)
    except ValueError:
        raise ArgumentTypeError(
            f"{text!r} is not an IANA time zone (e.g. Europe/Berlin, Asia/Kolkata, UTC)"
        ) from None


def _one_of(choices: tuple[str, ...]):
    """Like argparse's choices, but an empty value is the flag left out."""

    def parse(text: str) -> str | None:
        if text == "":
            return None
        if text not in choices:
            raise ArgumentTypeError(f"{text!r} is not one of {', '.join(choices)}")
        return text

    return parse


class Command(BaseCommand):
    help = (
        "Print an organization's usage figures: GET /api/dashboard/getStats organization-wide\n"
        "(as an admin's allInOrg=true), narrowed by the flags, with its series, breakdown\n"
        "and comparison options."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("epilog", EXAMPLES)
        # Kept so that handle can report a bad combination of flags as a usage error.
        self.parser = super().create_parser(prog_name, subcommand, **kwargs)
        return self.parser

    def add_arguments(self, parser):
        parser.add_argument(
            "--org", required=True, metavar="ORG_ID", help="Organization id, e.g. org_2abc."
        )
        parser.add_argument(
            "--from",
            dest="start",
            type=_instant("start"),
            metavar="INSTANT",
            help="Start of the range, inclusive, e.g. 2024-03-01. Default: 30 days before --to.",
        )
        parser.add_argument(
            "--to",
            dest="end",
            type=_instant("end"),
            metavar="INSTANT",
            help="End of the range, inclusive, e.g. 2024-03-31T23:59:59Z. Default: now.",
        )
        parser.add_argument(
            "--user", metavar="USER_ID", help="Only this user's conversations, e.g. user_2xyz."
        )
        parser.add_argument(
            "--agent", type=_integer, metavar="AGENT_ID", help="Only this agent, e.g. 42."
        )
        parser.add_argument(
            "--metadata-key",
            metavar="KEY",
            help="Only members whose membership metadata has this top-level key, e.g. plan.",
        )
        parser.add_argument(
            "--metadata-value",
            metavar="VALUE",
            help="Only members with a matching metadata value (at --metadata-key if given), "
            "e.g. beta.",
        )
        parser.add_argument(
            "--tz",
            type=_zone,
            metavar="ZONE",
            help="IANA time zone of date-only --from/--to and of the --interval buckets, "
            "e.g. Europe/Berlin. Default: UTC.",
        )
        parser.add_argument(
            "--interval",
            type=_one_of(INTERVALS),
            metavar="{" + ",".join(INTERVALS) + "}",
            help="Add a series: the figures per local-calendar bucket (ISO weeks from Monday), "
            "e.g. day. At most 1,000 buckets.",
        )
        parser.add_argument(
            "--group-by",
            type=_one_of(GROUP_BY),
            metavar="{" + ",".join(GROUP_BY) + "}",
            help="Add a breakdown: the conversation figures per agent, user or metadata value "
            "(at --group-key), most messages first, e.g. agent.",
        )
        parser.add_argument(
            "--group-key",
            metavar="KEY",
            help="The membership metadata key of --group-by metadata, e.g. plan.",
        )
        parser.add_argument(
            "--limit",
            type=_limit,
            default=DEFAULT_LIMIT,
            metavar="N",
            help=f"Groups listed by --group-by, {LIMITS[0]} to {LIMITS[-1]}; the rest are "
            f"summed as others. Default: {DEFAULT_LIMIT}, e.g. 5.",
        )
        parser.add_argument(
            "--compare",
            type=_one_of(COMPARISONS),
            metavar="{" + ",".join(COMPARISONS) + "}",
            help="Add the totals of the period of the same length just before --from, and the "
            "change, e.g. previous.",
        )
        parser.add_argument(
            "--format",
            choices=sorted(RENDERERS),
            help="Output format. Default: table on a terminal, json otherwise. "
            "See below for what csv writes.",
        )
        parser.add_argument(
            "--output",
            metavar="FILE",
            help="Write the figures to FILE instead of standard output, e.g. stats.csv.",
        )

    def handle(self, *args, **options):
        zone = options["tz"]
        start, end = resolve_range(
            self._instant(options, "start", "--from", zone),
            self._instant(options, "end", "--to", zone),
        )
        if start > end:
            self.parser.error(f"--from {isoformat_z(start)} is later than --to {isoformat_z(end)}")
        report_options = self._report_options(options)
        output_format = options["format"] or (
            "table" if options["output"] is None and self.stdout.isatty() else "json"
        )
        if output_format == "csv" and (conflict := csv_conflict(report_options)):
            self.parser.error(conflict)
        query = StatsQuery(
            organization_id=options["org"],
            start=start,
            end=end,
            # Empty flags are filters left out, as empty parameters are for the endpoint.
            user_id=options["user"] or None,
            agent_id=options["agent"],
            metadata_key=options["metadata_key"] or None,
            metadata_value=options["metadata_value"] or None,
        )
        # Unlike the endpoint (zeros), an operator's typo must not look like a quiet month.
        if not Organization.objects.filter(pk=query.organization_id).exists():
            raise CommandError(f"Unknown organization {query.organization_id!r}.")
        try:
            body = stats_report(query=query, options=report_options)
        except TooManyBuckets:
            self.parser.error(
                f"--interval {report_options.interval} gives more than {MAX_BUCKETS:,} buckets "
                f"from {isoformat_z(start)} to {isoformat_z(end)}: choose a longer interval or "
                "a shorter range"
            )
        text = RENDERERS[output_format](body, query, report_options)
        if options["output"] is None:
            self.stdout.write(text, ending="")
            return
        try:
            with open(options["output"], "w", encoding="utf-8", newline="") as file:
                file.write(text)
        except OSError as exc:
            raise CommandError(f"Cannot write {options['output']}: {exc.strerror}.") from None

    def _instant(self, options: dict, bound: Bound, flag: str, zone) -> datetime | None:
        given: InstantText | None = options[bound]
        if given is None:
            return None
        try:
            return given.instant(bound, zone or UTC)
        except ValueError:  # a date at the very edge of the calendar, shifted by --tz
            self.parser.error(f"argument {flag}: {given.text!r} is out of range in {zone}")

    def _report_options(self, options: dict) -> ReportOptions:
        group_by, group_key = options["group_by"], options["group_key"] or None
        if group_by == "metadata" and group_key is None:
            self.parser.error("--group-by metadata needs --group-key, e.g. --group-key plan")
        if group_key is not None and group_by != "metadata":
            self.parser.error("--group-key is only for --group-by metadata")
        return ReportOptions(
            zone=options["tz"],
            interval=options["interval"],
            group_by=group_by,
            group_key=group_key,
            limit=options["limit"],
            compare_previous=options["compare"] == "previous",
        )
