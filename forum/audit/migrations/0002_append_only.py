"""The database itself refuses to change audit entries.

UPDATE is refused on SQLite and PostgreSQL, DELETE on PostgreSQL (row
triggers; TRUNCATE, used to reset a test database, is not a row event).
SQLite keeps DELETE possible for the test runner's flush; a deleted entry
still breaks the hash chain, which `verify_audit_log` reports.
"""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
       BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS audit_entry_no_update"]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit entries are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_auditentry
       FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_entry_no_change ON audit_auditentry",
    "DROP FUNCTION IF EXISTS audit_entry_append_only()",
]


def statements(forward: bool):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "sqlite":
            sql = SQLITE if forward else SQLITE_REVERSE
        elif vendor == "postgresql":
            sql = POSTGRES if forward else POSTGRES_REVERSE
        else:
            sql = []
        for statement in sql:
            schema_editor.execute(statement)
        if forward:
            ChainHead = apps.get_model("audit", "ChainHead")
            ChainHead.objects.get_or_create(pk=1, defaults={"last_hash": "0" * 64})

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(statements(True), statements(False))]
