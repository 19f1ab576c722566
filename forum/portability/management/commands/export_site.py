import os
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from forum.portability.export import export_site


def summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in counts.items() if count) or "nothing"


class Command(BaseCommand):
    help = (
        "Write the whole site to one JSON file (docs/export-format.md): essays, comments with their history, "
        "members without passwords, moderation, the audit log. import_site restores it into an empty site."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The file to write (replaced only once complete), or - for standard output.")

    def handle(self, *args, file: str, **options) -> None:
        if file == "-":
            sys.stdout.reconfigure(encoding="utf-8", newline="\n")
            counts = export_site(sys.stdout)
            sys.stdout.flush()
            self.stderr.write(f"Exported {summary(counts)}.")
            return
        target = Path(file)
        if target.is_dir():
            raise CommandError(f"{file} is a directory: give the name of the file to write.")
        # Written beside the target and renamed at the end, so a failed export
        # leaves no half file; created readable by its owner only (it holds
        # members' addresses and moderators' notes).
        try:
            handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed below, renamed or removed)
                "w",
                encoding="utf-8",
                newline="\n",
                dir=target.parent,
                prefix=f".{target.name}.",
                suffix=".partial",
                delete=False,
                buffering=1 << 20,
            )
        except OSError as error:
            raise CommandError(f"Cannot write {file}: {error.strerror}.") from None
        try:
            with handle:
                counts = export_site(handle)
            os.replace(handle.name, target)
        except BaseException:
            Path(handle.name).unlink(missing_ok=True)
            raise
        size = target.stat().st_size
        self.stdout.write(f"Exported {summary(counts)} to {file} ({size:,} bytes).")
