"""GIN (jsonb_path_ops) index on membership metadata, PostgreSQL only.

It serves the metadata key+value filter of getStats, which PostgreSQL evaluates as
`public_metadata @> {key: value}` containment (stats/metadata.py). SQLite has no such
index type; there the filter scans the organization's memberships.
"""

from django.db import migrations

INDEX = "membership_metadata_gin"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON asteragents_membership "
            "USING gin (public_metadata jsonb_path_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("asteragents", "0001_initial")]
    operations = [migrations.RunPython(create_index, drop_index)]
