"""Write every search entry again: after a restore that did not, or to index a site that had none."""

from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.search import index
from forum.search.models import Entry


class Command(BaseCommand):
    help = "Write the search index's entries of every essay and comment again."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--if-empty", action="store_true", help="Only if the index has no entries and the site has essays."
        )

    def handle(self, *args, database: str, if_empty: bool, **options):
        if if_empty and (Entry.objects.using(database).exists() or not Essay.objects.using(database).exists()):
            return
        count = index.rebuild(Essay.objects.using(database), Comment.objects.using(database))
        self.stdout.write(f"Search index: {count} entries written.")
