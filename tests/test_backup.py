"""A backup made while the site runs restores into a working site: its comments, its audit log (the chain
verified), its search index (PostgreSQL's configurations, trigger and GIN index included). Run on the
database the suite runs on: SQLite's online backup, or pg_dump and pg_restore (docs/deployment.md)."""

import os
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from forum.discussion import services
from forum.discussion.rules import Actor

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump reads what is committed


def post(essay, member, body: str) -> None:
    """Posted as the form posts it: saved, indexed and in the audit log."""
    services.post_comment(actor=Actor(user=member), essay=essay, body=body, submission_key=uuid.uuid4())


def site_at(database_url: str, *args: str) -> str:
    """A manage.py command run on the restored database, as the site would run on it."""
    env = {
        **{key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ},
        "DATABASE_URL": database_url,
        "SECRET_KEY": settings.SECRET_KEY,  # the audit log's signed lists are checked with it
        "DEBUG": "true",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


FIND = (
    "from forum.search import index, query; from forum.search.models import Entry; "
    "from forum.discussion import rules; "
    "r = index.find(query.parse('{words}'), Entry.objects.filter(rules.findable_by_readers())); "
    "print(r.counted, [h.entry.comment.author_name for h in r.page.object_list if h.entry.comment])"
)


def test_a_backup_made_while_the_site_runs_restores_into_a_working_site(essay, member, tmp_path):
    post(essay, member, "The palimpsest argument, before the backup.")
    backup = tmp_path / "forum.backup"
    call_command("backup_database", str(backup))
    post(essay, member, "A palimpsest written after the backup.")  # not in it

    if connection.vendor == "sqlite":
        restored = f"sqlite:///{backup}"  # the copy is itself a database: put in place, it is the site
    else:
        name = f"forum_restored_{uuid.uuid4().hex[:8]}"
        admin = urllib.parse.urlunsplit(urllib.parse.urlsplit(_database_url())._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as server:
            server.execute(f'CREATE DATABASE "{name}"')
        restored = urllib.parse.urlunsplit(urllib.parse.urlsplit(_database_url())._replace(path=f"/{name}"))
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored}", str(backup)],
            check=True,
            capture_output=True,
        )
    try:
        assert "intact" in site_at(restored, "verify_audit_log")
        assert (
            site_at(restored, "shell", "-c", FIND.format(words="palimpsest")).splitlines()[-1] == "1 ['Alice Sharma']"
        )
        site_at(restored, "migrate", "--check")  # nothing left to apply: the schema came whole
    finally:
        if connection.vendor == "postgresql":
            with psycopg.connect(admin, autocommit=True) as server:
                server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_cut_short_leaves_no_file_that_looks_finished(essay, tmp_path, monkeypatch):
    backup = tmp_path / "forum.backup"

    def half_written(self, source, target: Path) -> None:
        target.write_bytes(b"the first pages of a copy")  # then the disk fills up
        raise CommandError("The disk is full.")

    monkeypatch.setattr("forum.lib.management.commands.backup_database.Command._sqlite", half_written)
    monkeypatch.setattr("forum.lib.management.commands.backup_database.Command._postgres", half_written)
    with pytest.raises(CommandError, match="disk is full"):
        call_command("backup_database", str(backup))
    assert list(tmp_path.iterdir()) == []  # neither FILE nor the partial copy


def test_a_finished_backup_is_one_file(essay, tmp_path):
    call_command("backup_database", str(tmp_path / "forum.backup"))
    assert [path.name for path in tmp_path.iterdir()] == ["forum.backup"]  # no -wal, -shm or partial left


def _database_url() -> str:
    """The server the suite runs on, with the test database's name."""
    parts = settings.DATABASES["default"]
    user = parts.get("USER") or "postgres"
    auth = f"{user}:{parts['PASSWORD']}@" if parts.get("PASSWORD") else f"{user}@"
    return f"postgres://{auth}{parts.get('HOST') or '127.0.0.1'}:{parts.get('PORT') or 5432}/{parts['NAME']}"
