"""What an import brought in, by the source's own ids, and the old addresses that lead to it.

ImportedItem makes imports safe to run again: an item whose source id is
already here is not created twice. LegacyURL keeps the permalinks the old
blog had, so links into it from elsewhere still arrive (see redirects.py).
"""

from django.db import models
from django.utils import timezone

from forum.discussion.models import Comment
from forum.essays.models import Essay


class Source(models.TextChoices):
    BLOGGER = "blogger", "Blogger"
    WORDPRESS = "wordpress", "WordPress"
    DISQUS = "disqus", "Disqus"


class ImportedItem(models.Model):
    class Kind(models.TextChoices):
        ESSAY = "essay", "Essay"
        COMMENT = "comment", "Comment"

    source = models.CharField(max_length=12, choices=Source.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The source's id, as its export writes it (Blogger's tag URI, a WordPress
    # site and number, a Disqus post id).
    source_id = models.CharField(max_length=255)
    essay = models.ForeignKey(Essay, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "kind", "source_id"], name="imported_item_once"),
            models.CheckConstraint(
                condition=models.Q(kind="essay", essay__isnull=False, comment__isnull=True)
                | models.Q(kind="comment", comment__isnull=False),
                name="imported_item_points_somewhere",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.kind} {self.source_id}"


class LegacyURL(models.Model):
    """An old permalink: a path (and for Blogger's comment links a query) that redirects here."""

    # Decoded, without a trailing slash (but "/" stays "/").
    path = models.CharField(max_length=500)
    # "" for the page itself, or one key=value that names a comment (showComment=1374505800000).
    query = models.CharField(max_length=100, blank=True)
    essay = models.ForeignKey(Essay, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=12, choices=Source.choices)

    class Meta:
        verbose_name = "legacy URL"
        constraints = [models.UniqueConstraint(fields=["path", "query"], name="legacy_url_once")]

    def __str__(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")
