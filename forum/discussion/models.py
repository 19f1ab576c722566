from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from forum.essays.models import Essay
from forum.lib.markup import stored_html

from . import tree


class CommentQuerySet(models.QuerySet):
    def published(self) -> "CommentQuerySet":
        return self.filter(status=Comment.Status.PUBLISHED)

    def in_thread(self, essay: Essay) -> "CommentQuerySet":
        """Everything that may appear on the essay page, in display order.

        Comments still waiting (for an email confirmation or a moderator)
        cannot have replies, so they are never needed to keep the shape.
        """
        return self.filter(essay=essay).exclude(status__in=Comment.WAITING).order_by("path")


class Comment(models.Model):
    class Status(models.TextChoices):
        AWAITING_CONFIRMATION = "awaiting", "Awaiting email confirmation"
        PENDING = "pending", "Awaiting moderation"
        PUBLISHED = "published", "Published"
        REJECTED = "rejected", "Rejected"
        SPAM = "spam", "Spam"
        REMOVED = "removed", "Removed by a moderator"
        DELETED = "deleted", "Deleted by its author"
        WITHDRAWN = "withdrawn", "Withdrawn"

    WAITING = (Status.AWAITING_CONFIRMATION, Status.PENDING)

    essay = models.ForeignKey(Essay, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replies")
    # Materialised path (see tree.py); written right after the row gets its id.
    path = models.CharField(max_length=255, editable=False, db_index=False)

    # The signature as the writer gave it when posting. Members' come from
    # their profile; a later change of affiliation does not rewrite history.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    author_name = models.CharField(max_length=100)
    author_affiliation = models.CharField(max_length=200, blank=True)
    author_website = models.URLField(max_length=300, blank=True)
    # Guests only; never shown to readers.
    author_email = models.EmailField(blank=True)

    body = models.TextField()
    body_html = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PUBLISHED)

    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    # One comment per form, however often it is sent (double clicks, reloads).
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # Makes a guest's confirmation link single-use: cleared once it is used.
    confirmation_nonce = models.CharField(max_length=32, blank=True, editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        indexes = [
            models.Index(fields=["essay", "path"], name="comment_thread_order"),
            models.Index(fields=["essay", "status"], name="comment_essay_status"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} by {self.author_name}"

    def get_absolute_url(self) -> str:
        return reverse("discussion:permalink", kwargs={"pk": self.pk})

    @property
    def reference(self) -> str:
        """What we call the comment in receipts and mails."""
        return f"C{self.pk}"

    @property
    def anchor(self) -> str:
        return f"c{self.pk}"

    @property
    def depth(self) -> int:
        return tree.depth_of(self.path)

    @property
    def html(self):
        return stored_html(self.body_html)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def is_guest(self) -> bool:
        return self.author_id is None

    def get_thread_url(self) -> str:
        return f"{self.essay.get_absolute_url()}#{self.anchor}"
