"""Helpers for the import tests: the fixtures folder, running a command, and the state of the database."""

from io import StringIO
from pathlib import Path

from django.core.management import call_command

from forum.audit.models import AuditEntry
from forum.discussion.models import Comment
from forum.essays.models import Essay
from forum.imports.models import ImportedItem, LegacyURL

FIXTURES = Path(__file__).resolve().parent


class Terminal(StringIO):
    """An output that says it is a terminal (for the progress bar)."""

    def isatty(self) -> bool:
        return True


def run(command: str, path: Path, stdout=None, **options) -> str:
    out = stdout if stdout is not None else StringIO()
    call_command(command, str(path), stdout=out, **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "essays": Essay.objects.count(),
        "comments": Comment.objects.count(),
        "imported": ImportedItem.objects.count(),
        "legacy": LegacyURL.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def snapshot() -> list[tuple]:
    """Everything an import writes, in a comparable form."""
    essays = list(
        Essay.objects.order_by("pk").values_list("pk", "slug", "title", "status", "published_at", "body", "body_html")
    )
    comments = list(
        Comment.objects.order_by("pk").values_list(
            "pk", "essay_id", "parent_id", "path", "status", "author_id", "author_name", "author_website",
            "author_email", "created_at", "published_at", "body", "body_html",
        )
    )  # fmt: skip
    items = list(
        ImportedItem.objects.order_by("pk").values_list("source", "kind", "source_id", "essay_id", "comment_id")
    )
    legacy = list(LegacyURL.objects.order_by("pk").values_list("path", "query", "essay_id", "comment_id"))
    audit = list(AuditEntry.objects.order_by("pk").values_list("comment_id", "action", "detail__note"))
    return [essays, comments, items, legacy, audit]


def thread(essay: Essay) -> list[Comment]:
    return list(Comment.objects.filter(essay=essay).order_by("path"))


def imported_essay(source: str, source_id_end: str) -> Essay:
    item = ImportedItem.objects.get(source=source, kind="essay", source_id__endswith=source_id_end)
    return item.essay


def imported_comment(source: str, source_id_end: str) -> Comment:
    return ImportedItem.objects.get(source=source, kind="comment", source_id__endswith=source_id_end).comment
