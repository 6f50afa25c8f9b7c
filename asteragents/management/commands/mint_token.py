"""`manage.py mint_token`: a development session token on stdout (DEBUG only)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from asteragents import devkeys

MAX_TTL_SECONDS = 30 * 24 * 3600


class Command(BaseCommand):
    help = (
        "Print a Clerk-shaped session token signed with the local development key, which "
        "the API trusts only when DEBUG is on. Prints only the token, so "
        "TOKEN=$(manage.py mint_token ...) works."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization id (e.g. org_acme).")
        parser.add_argument("--user", required=True, help="Clerk user id (e.g. user_ann).")
        parser.add_argument(
            "--role",
            default="org:admin",
            help="Organization role: admin, member, org:admin, org:member or a custom role "
            "(default org:admin).",
        )
        parser.add_argument(
            "--ttl",
            type=int,
            default=3600,
            help=f"Lifetime in seconds, 1 to {MAX_TTL_SECONDS} (default 3600).",
        )
        parser.add_argument(
            "--format",
            dest="claims_format",
            choices=["v2", "v1"],
            default="v2",
            help="Clerk session token claims version (default v2).",
        )

    def handle(self, *args, org, user, role, ttl, claims_format, **options):
        if not settings.DEBUG:
            raise CommandError(
                "mint_token only works with DEBUG on (DJANGO_DEBUG=true): the API trusts "
                "the development key only in debug mode, so this token would be refused."
            )
        for flag, value in (("--org", org), ("--user", user), ("--role", role)):
            if not value.strip() or value != value.strip():
                raise CommandError(f"{flag} must be a non-empty value without surrounding spaces.")
        if not 1 <= ttl <= MAX_TTL_SECONDS:
            raise CommandError(f"--ttl must be between 1 and {MAX_TTL_SECONDS} seconds.")
        key_dir = Path(settings.CLERK_DEV_KEY_DIR)
        try:
            private_key, created = devkeys.ensure_dev_private_key(key_dir)
        except (OSError, ValueError) as exc:
            message = f"Cannot create or read the development key in {key_dir}: {exc}"
            raise CommandError(message) from exc
        if created:
            self.stderr.write(f"Created the development signing key in {key_dir}.")
        claims = devkeys.dev_session_claims(
            org_id=org,
            user_id=user,
            role=role,
            ttl=ttl,
            claims_format=claims_format,
            issuer=settings.CLERK_ISSUER,
            authorized_party=(settings.CLERK_AUTHORIZED_PARTIES or [""])[0],
            audience=settings.CLERK_AUDIENCE,
        )
        self.stdout.write(devkeys.sign_dev_token(claims, private_key))
