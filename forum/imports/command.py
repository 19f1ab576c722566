"""What the three import commands share: the file, --dry-run, --author, the progress bar, the summary."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from . import core
from .records import Collected
from .xmlread import ImportRefused


class ImportCommand(BaseCommand):
    # The essays an import creates need a member as their author (Blogger and
    # WordPress authors are not members here); Disqus creates none.
    creates_essays = True

    def collect(self, path: Path, progress) -> Collected:
        raise NotImplementedError

    def groups(self, collected: Collected):
        """Essays and their comments, for importers that attach to essays already here (None: from the file)."""
        return None

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="The export file.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Read the file and report what would be imported (and what not, and why); write nothing.",
        )
        if self.creates_essays:
            parser.add_argument(
                "--author",
                metavar="EMAIL",
                help="The email of the member the imported essays are by (required unless --dry-run). "
                "Comments the blog's author wrote are attributed to this member too.",
            )
            parser.add_argument(
                "--posts-stay",
                action="store_true",
                help="The posts stay on the old blog (it embeds the discussion: docs/embed.md): each published post "
                "becomes the discussion of its page there, with its comments; its text is not copied here, and the "
                "blog's origin is listed to embed, owned by --author.",
            )

    def handle(
        self, *args, file: Path, dry_run: bool, author: str | None = None, posts_stay: bool = False, **options
    ) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        member = None
        if self.creates_essays:
            if author:
                member = get_user_model().objects.filter(email__iexact=author.strip()).first()
                if member is None:
                    raise CommandError(f"No member has the email {author}: create the account first.")
            elif not dry_run:
                raise CommandError(
                    "--author EMAIL is required: the member the imported essays will be by "
                    "(the old blog's authors are not members here)."
                )
        progress = core.Progress(self.stdout, core.stdout_is_terminal(self.stdout) and options["verbosity"] > 0)
        try:
            collected = self.collect(file, progress.stage("Reading"))
        except ImportRefused as error:
            progress.finish()
            raise CommandError(f"{file.name}: {error} Nothing was imported.") from None
        try:
            progress.finish()
            plan = core.plan(collected, self.groups(collected))
            if not dry_run:
                core.apply(plan, member, progress.stage("Writing"), posts_stay=posts_stay)
            progress.finish()
            verbose = options["verbosity"] > 1
            self.stdout.write(core.summary(plan, dry_run=dry_run, max_warnings=10**9 if verbose else 50))
        finally:
            collected.spool.close()
        if plan.report.errors:
            raise CommandError(f"{len(plan.report.errors)} essay(s) could not be written (see above).")
