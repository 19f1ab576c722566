"""`manage.py backup_database FILE`: a consistent copy of the whole database while the site runs.

SQLite: SQLite's online backup (Python's `sqlite3.Connection.backup`), page by page, while readers and
writers go on; the copy is then checked (`PRAGMA integrity_check`) and is itself a database: restoring
is putting it in place (docs/deployment.md). PostgreSQL: `pg_dump --format=custom` (one snapshot,
writers not blocked) with the site's own connection settings; restored by `pg_restore`.

The copy is written beside FILE first and renamed when complete, so a backup cut short never looks
like one that finished. Uploaded pictures (MEDIA_ROOT) are files, not rows: back them up beside it.
"""

import os
import sqlite3
import subprocess
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections


class Command(BaseCommand):
    help = "A consistent copy of the database in FILE while the site runs (SQLite: online backup; PostgreSQL: pg_dump)"

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, file: Path, database: str, **options):
        connection = connections[database]
        partial = file.with_name(f".{file.name}.partial")
        try:
            if connection.vendor == "sqlite":
                self._sqlite(connection, partial)
            elif connection.vendor == "postgresql":
                self._postgres(connection.settings_dict, partial)
            else:
                raise CommandError(f"No backup for {connection.vendor}: use its own tools.")
            partial.replace(file)
        finally:
            partial.unlink(missing_ok=True)
        self.stdout.write(f"Backed up the {connection.vendor} database to {file} ({file.stat().st_size:,} bytes).")

    def _sqlite(self, connection, target: Path) -> None:
        connection.ensure_connection()
        copy = sqlite3.connect(target)
        try:
            # A step at a time: writers wait for a step, not for the whole copy.
            connection.connection.backup(copy, pages=1024)
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            copy.close()  # closed before the rename: no -wal or -shm file of the copy is left behind
        if verdict != "ok":
            raise CommandError(f"The copy failed SQLite's integrity check: {verdict}")

    def _postgres(self, settings: dict, target: Path) -> None:
        command = ["pg_dump", "--format=custom", "--no-owner", f"--file={target}", settings["NAME"]]
        for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
            if settings.get(key):
                command.append(f"{option}={settings[key]}")
        environment = {**os.environ, **({"PGPASSWORD": settings["PASSWORD"]} if settings.get("PASSWORD") else {})}
        try:
            subprocess.run(command, env=environment, check=True, capture_output=True, text=True)  # noqa: S603
        except FileNotFoundError as missing:
            raise CommandError("pg_dump is not installed (Debian: apt install postgresql-client).") from missing
        except subprocess.CalledProcessError as failed:
            raise CommandError(f"pg_dump failed: {failed.stderr.strip()}") from failed
