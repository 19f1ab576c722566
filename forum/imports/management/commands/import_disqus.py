"""manage.py import_disqus FILE: the comments of a Disqus export, onto essays already here (docs/imports.md)."""

from forum.imports import disqus
from forum.imports.command import ImportCommand


class Command(ImportCommand):
    help = (
        "Import the comments of a Disqus export onto the essays already here, matched by the address "
        "of each Disqus thread (the essay's own, or an old one kept by a Blogger or WordPress import). "
        "Safe to run again. See docs/imports.md."
    )
    creates_essays = False

    def collect(self, path, progress):
        return disqus.collect(path, progress)

    def groups(self, collected):
        return disqus.groups(collected)
