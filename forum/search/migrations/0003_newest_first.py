"""Newest first: an index on the date (the order readers may choose, and the order of a search that
finds very many, forum/search/index.py). On PostgreSQL, an entry's row is kept whole up to 8 KB, its
tsvector compressed in place: a search that walks the newest entries, or ranks what it found, reads
each `document` from the row itself, not from TOAST (at 100,000 comments this halved the time of
ranking a common word)."""

from django.db import migrations, models

WHOLE_ROWS = """
    ALTER TABLE search_entry SET (toast_tuple_target = 8160);
    ALTER TABLE search_entry ALTER COLUMN document SET STORAGE MAIN;
"""
AS_BEFORE = """
    ALTER TABLE search_entry RESET (toast_tuple_target);
    ALTER TABLE search_entry ALTER COLUMN document SET STORAGE EXTENDED;
"""


def whole_rows(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(WHOLE_ROWS, params=None)


def as_before(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(AS_BEFORE, params=None)


class Migration(migrations.Migration):
    dependencies = [("search", "0002_full_text_index")]

    operations = [
        migrations.AddIndex(model_name="entry", index=models.Index(fields=["dated"], name="search_entry_dated")),
        migrations.RunPython(whole_rows, as_before),
    ]
