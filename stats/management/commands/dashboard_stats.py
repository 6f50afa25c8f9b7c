"""manage.py dashboard_stats: an organization's sixteen usage figures, for operators."""

from argparse import ArgumentTypeError, RawDescriptionHelpFormatter

from django.core.management.base import BaseCommand, CommandError, DjangoHelpFormatter

from asteragents.datetimes import isoformat_z, parse_instant
from asteragents.models import Organization
from stats.formatting import RENDERERS
from stats.forms import resolve_range
from stats.selectors import StatsQuery, stats_compute

EXAMPLES = """\
examples:
  manage.py dashboard_stats --org org_2abc --from 2024-03-01 --to 2024-03-31
  manage.py dashboard_stats --org org_2abc --from 2024-03-01T09:00:00Z --agent 42 --format csv
  manage.py dashboard_stats --org org_2abc --user user_2xyz --output march.json --format json
  manage.py dashboard_stats --org org_2abc --metadata-key plan --metadata-value beta

A date alone covers its whole UTC day (--from: its first microsecond, --to: its last);
a datetime without an offset is UTC. Exit status: 0 done, 1 unknown organization or
unwritable --output, 2 bad flags."""


class HelpFormatter(DjangoHelpFormatter, RawDescriptionHelpFormatter):
    """Django's flag order, with the examples printed as written."""


def _instant(bound: str):
    def parse(text: str):
        if text == "":
            return None  # as the endpoint: an empty value is a value left out
        try:
            return parse_instant(text, bound=bound)
        except ValueError:
            raise ArgumentTypeError(
                f"{text!r} is not an ISO 8601 date or datetime (e.g. 2024-03-01T09:00:00Z)"
            ) from None

    return parse


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ArgumentTypeError(f"{text!r} is not an integer") from None


class Command(BaseCommand):
    help = (
        "Print an organization's usage figures: the sixteen of GET /api/dashboard/getStats,\n"
        "organization-wide (as an admin's allInOrg=true), narrowed by the flags."
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
            "--format",
            choices=sorted(RENDERERS),
            help="Output format. Default: table on a terminal, json otherwise.",
        )
        parser.add_argument(
            "--output",
            metavar="FILE",
            help="Write the figures to FILE instead of standard output, e.g. stats.csv.",
        )

    def handle(self, *args, **options):
        start, end = resolve_range(options["start"], options["end"])
        if start > end:
            self.parser.error(f"--from {isoformat_z(start)} is later than --to {isoformat_z(end)}")
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
        output_format = options["format"] or (
            "table" if options["output"] is None and self.stdout.isatty() else "json"
        )
        text = RENDERERS[output_format](stats_compute(query=query), query)
        if options["output"] is None:
            self.stdout.write(text, ending="")
            return
        try:
            with open(options["output"], "w", encoding="utf-8", newline="") as file:
                file.write(text)
        except OSError as exc:
            raise CommandError(f"Cannot write {options['output']}: {exc.strerror}.") from None
