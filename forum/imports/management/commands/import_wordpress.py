"""manage.py import_wordpress FILE --author EMAIL: a WordPress export (WXR), see docs/imports.md."""

from forum.imports import wordpress
from forum.imports.command import ImportCommand


class Command(ImportCommand):
    help = (
        "Import a WordPress export (WXR 1.0-1.2): posts and pages become essays by the member given "
        "with --author, comments keep their threads, states, dates, names and emails. Safe to run again. "
        "See docs/imports.md."
    )

    def collect(self, path, progress):
        return wordpress.collect(path, progress)
