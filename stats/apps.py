from django.apps import AppConfig
from django.db.backends.signals import connection_created


class StatsConfig(AppConfig):
    name = "stats"

    def ready(self):
        from asteragents.models import Membership
        from stats.metadata import MatchesMetadata, register_sqlite_functions

        Membership._meta.get_field("public_metadata").register_lookup(MatchesMetadata)
        connection_created.connect(register_sqlite_functions, dispatch_uid="stats_sqlite_fns")
