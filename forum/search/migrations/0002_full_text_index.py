"""Each database indexes the entries its own way (forum/search/index.py).

A word's stem and a word's beginning do not mix: "constructivism" is
indexed by its stem "constructiv", which `constructivis*` does not begin. So
each database keeps the words twice, by their stems (for words and phrases)
and as written (for prefixes):

PostgreSQL: the `unaccent` extension (in Debian's postgresql package; on a
managed server, one an administrator may have to allow), two text search
configurations (`forum_search`: English stems, accents taken off;
`forum_words`: the words as written, accents taken off), a trigger that
writes `document` from the title, names and text in both, and a GIN index.

SQLite: two FTS5 tables over `search_entry` (`search_fts` by stems,
`search_words` as written; external content: the text is kept once, in the
entries) and the three triggers that keep them in step, as SQLite's
documentation gives them.

The entries of a site that had essays before this migration are written by
`manage.py rebuild_search_index`, which `migrate` runs itself when the index
is empty (forum/search/apps.py).
"""

from django.db import migrations

POSTGRES = [
    (
        "CREATE EXTENSION IF NOT EXISTS unaccent",
        "SELECT 1",  # other things may use it: left in place
    ),
    (
        """
        CREATE TEXT SEARCH CONFIGURATION forum_search (COPY = english);
        ALTER TEXT SEARCH CONFIGURATION forum_search
            ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
            WITH unaccent, english_stem;
        """,
        "DROP TEXT SEARCH CONFIGURATION forum_search",
    ),
    (
        """
        CREATE TEXT SEARCH CONFIGURATION forum_words (COPY = simple);
        ALTER TEXT SEARCH CONFIGURATION forum_words
            ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
            WITH unaccent, simple;
        """,
        "DROP TEXT SEARCH CONFIGURATION forum_words",
    ),
    (
        """
        CREATE FUNCTION search_entry_document() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.document :=
                setweight(to_tsvector('forum_search', coalesce(NEW.title, '')), 'A')
                || setweight(to_tsvector('forum_words', coalesce(NEW.title, '')), 'A')
                || setweight(to_tsvector('forum_search', coalesce(NEW.names, '')), 'B')
                || setweight(to_tsvector('forum_words', coalesce(NEW.names, '')), 'B')
                || setweight(to_tsvector('forum_search', coalesce(NEW.body, '')), 'C')
                || setweight(to_tsvector('forum_words', coalesce(NEW.body, '')), 'C');
            RETURN NEW;
        END
        $$;
        CREATE TRIGGER search_entry_document BEFORE INSERT OR UPDATE ON search_entry
            FOR EACH ROW EXECUTE FUNCTION search_entry_document();
        """,
        "DROP TRIGGER search_entry_document ON search_entry; DROP FUNCTION search_entry_document()",
    ),
    (
        "CREATE INDEX search_entry_document_gin ON search_entry USING gin (document)",
        "DROP INDEX search_entry_document_gin",
    ),
]

SQLITE = [
    (
        """
        CREATE VIRTUAL TABLE search_fts USING fts5(
            title, names, body,
            content='search_entry', content_rowid='id',
            tokenize='porter unicode61 remove_diacritics 2'
        )
        """,
        "DROP TABLE search_fts",
    ),
    (
        """
        CREATE VIRTUAL TABLE search_words USING fts5(
            title, names, body,
            content='search_entry', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        )
        """,
        "DROP TABLE search_words",
    ),
    (
        """
        CREATE TRIGGER search_entry_inserted AFTER INSERT ON search_entry BEGIN
            INSERT INTO search_fts (rowid, title, names, body) VALUES (new.id, new.title, new.names, new.body);
            INSERT INTO search_words (rowid, title, names, body) VALUES (new.id, new.title, new.names, new.body);
        END
        """,
        "DROP TRIGGER search_entry_inserted",
    ),
    (
        """
        CREATE TRIGGER search_entry_deleted AFTER DELETE ON search_entry BEGIN
            INSERT INTO search_fts (search_fts, rowid, title, names, body)
                VALUES ('delete', old.id, old.title, old.names, old.body);
            INSERT INTO search_words (search_words, rowid, title, names, body)
                VALUES ('delete', old.id, old.title, old.names, old.body);
        END
        """,
        "DROP TRIGGER search_entry_deleted",
    ),
    (
        """
        CREATE TRIGGER search_entry_updated AFTER UPDATE ON search_entry BEGIN
            INSERT INTO search_fts (search_fts, rowid, title, names, body)
                VALUES ('delete', old.id, old.title, old.names, old.body);
            INSERT INTO search_fts (rowid, title, names, body) VALUES (new.id, new.title, new.names, new.body);
            INSERT INTO search_words (search_words, rowid, title, names, body)
                VALUES ('delete', old.id, old.title, old.names, old.body);
            INSERT INTO search_words (rowid, title, names, body) VALUES (new.id, new.title, new.names, new.body);
        END
        """,
        "DROP TRIGGER search_entry_updated",
    ),
]

STATEMENTS = {"postgresql": POSTGRES, "sqlite": SQLITE}


def _run(schema_editor, forwards: bool) -> None:
    statements = STATEMENTS.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError(f"Search needs PostgreSQL or SQLite, not {schema_editor.connection.vendor}.")
    for create, drop in statements if forwards else reversed(statements):
        schema_editor.execute(create if forwards else drop, params=None)


def forwards(apps, schema_editor):
    _run(schema_editor, forwards=True)


def backwards(apps, schema_editor):
    _run(schema_editor, forwards=False)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_entries")]

    operations = [migrations.RunPython(forwards, backwards)]
