"""Load a generated discussion (bench/gen_thread.py's JSON) into a published essay.

    manage.py load_thread var/bench/thread-1000.json [--slug S]

The file holds one essay and N comments, parents before their children:

    {"essay": {"slug", "title", "body", "published_at"},
     "comments": [{"id", "parent_id", "author_name", "author_email", "body", "created_at"}]}

Comments go through the project's own write path for the tree
(`writing.save_new_comment`, after `Comment.set_text`, which renders the
Markdown once) as published guest comments with their parent, name, email
and dates. Loading the same slug again replaces that essay's comments. It
is a benchmark and demo loader: nothing is mailed, screened or audited (the
audit log is append-only, so audited comments could not be replaced later).
"""

import json
import time
from datetime import datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import ProtectedError

from forum.discussion.models import Comment
from forum.discussion.writing import attach_point, save_new_comment
from forum.essays.models import Essay

DEFAULT_AUTHOR = "essay-author@example.org"


class Command(BaseCommand):
    help = "Load a generated essay with its threaded comments (gen_thread.py's JSON); reloading replaces them."

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="JSON written by bench/gen_thread.py")
        parser.add_argument("--slug", help="The essay's slug (default: the one in the file).")
        parser.add_argument(
            "--author", default=DEFAULT_AUTHOR, help=f"The essay author's email (default {DEFAULT_AUTHOR})."
        )

    def handle(self, *args, file: Path, slug: str | None, author: str, **options) -> None:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            essay_data, items = data["essay"], data["comments"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CommandError(f"{file}: not a gen_thread.py dataset ({error})") from None
        started = time.monotonic()
        with transaction.atomic():
            essay = self._essay(essay_data, slug or essay_data["slug"], author)
            replaced = self._clear(essay)
            self._comments(essay, items)
        seconds = time.monotonic() - started
        verb = f"Replaced {replaced} comments of" if replaced else "Loaded"
        self.stdout.write(
            f"{verb} “{essay.title}” ({essay.get_absolute_url()}) with {len(items)} comments in {seconds:.1f} s."
        )

    def _essay(self, data: dict, slug: str, author_email: str) -> Essay:
        User = get_user_model()
        author, created = User.objects.get_or_create(
            email=author_email, defaults={"username": author_email, "display_name": "Essay Author"}
        )
        if created:
            author.set_unusable_password()
            author.save()
        essay, _ = Essay.objects.update_or_create(
            slug=slug,
            defaults={
                "title": data["title"],
                "author": author,
                "body": data["body"],
                "status": Essay.Status.PUBLISHED,
                "published_at": datetime.fromisoformat(data["published_at"]),
                "comments_open": True,
            },
        )
        return essay

    def _clear(self, essay: Essay) -> int:
        """Remove the essay's comments (replies first: a parent is protected by its replies)."""
        comments = Comment.objects.filter(essay=essay)
        count = comments.count()
        if count:
            comments.update(parent=None)
            try:
                comments.delete()
            except ProtectedError:
                raise CommandError(
                    f"“{essay.slug}” has comments recorded in the audit log, which cannot be deleted; "
                    "load the file under another --slug or into a fresh database."
                ) from None
        return count

    def _comments(self, essay: Essay, items: list[dict]) -> None:
        by_id: dict[int, Comment] = {}
        for item in items:
            parent_id = item["parent_id"]
            if parent_id is not None and parent_id not in by_id:
                raise CommandError(f"comment {item['id']}: its parent {parent_id} does not come before it")
            parent, _ = attach_point(by_id[parent_id] if parent_id is not None else None)
            created_at = datetime.fromisoformat(item["created_at"])
            comment = Comment(
                essay=essay,
                parent=parent,
                author_name=item["author_name"],
                author_email=item["author_email"],
                status=Comment.Status.PUBLISHED,
                created_at=created_at,
                published_at=created_at,
            )
            comment.set_text(item["body"])
            by_id[item["id"]] = save_new_comment(comment)
