"""manage.py import_blogger FILE --author EMAIL: a Blogger "Back up content" export (see docs/imports.md)."""

from forum.imports import blogger
from forum.imports.command import ImportCommand


class Command(ImportCommand):
    help = (
        "Import a Blogger export (the older Atom export or the 2018 format): posts and pages become "
        "essays by the member given with --author, comments keep their threads, dates and names. "
        "Safe to run again. See docs/imports.md."
    )

    def collect(self, path, progress):
        return blogger.collect(path, progress)
