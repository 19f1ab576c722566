import io
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from forum.portability.format import FormatError
from forum.portability.restore import NotEmpty, restore

from .export_site import summary


class Command(BaseCommand):
    help = (
        "Restore a file written by export_site into an empty site (a new database after `migrate`). "
        "All or nothing: on any problem nothing is written."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The export to read, or - for standard input.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Read and load everything, then roll it back: writes nothing."
        )

    def handle(self, *args, file: str, dry_run: bool, **options) -> None:
        try:
            if file == "-":
                stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
            else:
                stream = open(file, encoding="utf-8-sig", newline="")  # noqa: SIM115 (closed below)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        try:
            result = restore(stream, dry_run=dry_run)
        except NotEmpty as error:
            raise CommandError(str(error)) from None
        except FormatError as error:
            raise CommandError(f"{error} Nothing was written.") from None
        except DatabaseError as error:
            raise CommandError(f"The database refused the file's contents: {error}. Nothing was written.") from None
        finally:
            if file == "-":
                stream.detach()
            else:
                stream.close()
        as_of = f" (as of {result.as_of})" if result.as_of else ""
        if dry_run:
            self.stdout.write(f"The file is sound: it would restore {summary(result.counts)}{as_of}. Nothing written.")
            return
        for note in result.notes:
            self.stdout.write(note)
        self.stdout.write(f"Restored {summary(result.counts)}{as_of}.")
        if result.counts.get("members"):
            self.stdout.write(
                "Members have no password on this site yet: each sets one with “Forgot your password?” "
                "on the sign-in page."
            )
        if result.verdict.intact:
            self.stdout.write(result.verdict.message)
        else:
            self.stderr.write(
                f"Warning: {result.verdict.message} The log was restored exactly as exported: "
                "run verify_audit_log on the site it came from."
            )
