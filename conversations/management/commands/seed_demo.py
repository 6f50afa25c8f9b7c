"""`manage.py seed_demo`: load the seeded demo dataset through the activity importer."""

import argparse
from collections import Counter
from collections.abc import Iterable, Iterator

from django.core.management.base import BaseCommand, CommandError

from asteragents.datetimes import isoformat_z, parse_instant
from conversations.demo import DEMO_ADMIN_ID, DEMO_ORG_ID, demo_records
from conversations.importer import ActivityImportError, import_records

# Record types in the order the generator writes them, with the words the summary uses.
RECORD_TYPES = {
    "organization": "organizations",
    "user": "users",
    "membership": "memberships",
    "agent": "agents",
    "conversation": "conversations",
    "message": "messages",
    "feedback": "feedback",
    "knowledgeBase": "knowledge bases",
    "knowledgeBaseFile": "knowledge base files",
}


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def instant(text: str):
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def count_by_type(records: Iterable[dict], counts: Counter) -> Iterator[dict]:
    """Pass records through, counting them by `type` (the generator's own tally)."""
    for record in records:
        counts[record["type"]] += 1
        yield record


class Command(BaseCommand):
    help = (
        f"Load a realistic demo dataset (organization {DEMO_ORG_ID} 'Demo Co' with admin "
        f"{DEMO_ADMIN_ID}, and others) through the activity importer. The same seed and sizes "
        "give the same ids, so running it again updates the same rows instead of adding more."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed: same seed, same ids (default 42)."
        )
        parser.add_argument(
            "--weeks",
            type=positive_int,
            default=6,
            help="Weeks of activity, ending at --now (default 6).",
        )
        parser.add_argument(
            "--orgs",
            type=positive_int,
            default=3,
            help=f"Number of organizations, {DEMO_ORG_ID} first (default 3).",
        )
        parser.add_argument(
            "--now",
            type=instant,
            default=None,
            help="End of the period, ISO 8601 (default: the current time).",
        )

    def handle(self, *args, seed, weeks, orgs, now, **options):
        counts = Counter()
        records = demo_records(seed=seed, weeks=weeks, orgs=orgs, now=now)
        try:
            summary = import_records(count_by_type(records, counts))
        except ActivityImportError as exc:
            # Only a bug in the generator gets here; the import wrote nothing.
            raise CommandError(f"The demo data was refused, nothing was written: {exc}") from exc
        made = ", ".join(f"{counts[kind]} {words}" for kind, words in RECORD_TYPES.items())
        ending = isoformat_z(now) if now else "now"
        self.stdout.write(
            f"Demo data (seed {seed}, {weeks} weeks ending {ending}, {orgs} organizations): {made}."
        )
        self.stdout.write(f"Imported: {summary.created} rows created, {summary.updated} updated.")
        self.stdout.write(f"Demo organization {DEMO_ORG_ID} (Demo Co), admin {DEMO_ADMIN_ID}.")
