from django.apps import AppConfig
from django.db.backends.signals import connection_created


def register_sqlite_functions(sender, connection, **kwargs):
    """connection_created receiver: the Python functions the SQLite queries call."""
    if connection.vendor == "sqlite":
        from stats.buckets import register_sqlite_bucket_index
        from stats.metadata import register_sqlite_metadata_matches

        register_sqlite_metadata_matches(connection)
        register_sqlite_bucket_index(connection)


class StatsConfig(AppConfig):
    name = "stats"

    def ready(self):
        from asteragents.models import Membership
        from stats.metadata import MatchesMetadata

        Membership._meta.get_field("public_metadata").register_lookup(MatchesMetadata)
        connection_created.connect(register_sqlite_functions, dispatch_uid="stats_sqlite_fns")
