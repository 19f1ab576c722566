from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator

from forum.lib.markup import render_essay, stored_html, tex_in_place_of_math


class EssayQuerySet(models.QuerySet):
    def published(self) -> "EssayQuerySet":
        return self.filter(status=Essay.Status.PUBLISHED, published_at__lte=timezone.now())

    def listed(self) -> "EssayQuerySet":
        """Published essays that readers are shown (not the canary)."""
        return self.published().filter(is_canary=False)


class Essay(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    title = models.CharField(max_length=250)
    slug = models.SlugField(max_length=250, unique=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="essays")
    summary = models.TextField(
        blank=True, help_text="One or two sentences for search engines and link previews. Taken from the body if empty."
    )
    body = models.TextField(help_text="Markdown.")
    body_html = models.TextField(editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(default=timezone.now, help_text="Publication date shown to readers.")
    comments_open = models.BooleanField(default=True)
    # The hidden essay that `manage.py check_comment_form` posts to: never
    # listed, in feeds or in the audit log.
    is_canary = models.BooleanField(default=False, editable=False)
    # Changes with every write that changes what its page shows (forum/pagecache.py):
    # kept pages and ETags are keyed by it and updated_at.
    discussion_version = models.PositiveBigIntegerField(default=0, editable=False)
    discussion_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EssayQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at"]
        indexes = [models.Index(fields=["status", "-published_at"])]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # Rendered once, when the text is written, never at read time. An essay saved for another
        # reason (comments closed, a new author) keeps the HTML it had: a text written before a
        # markup was known (a formula, a footnote) is not read again until someone edits it.
        if not self.body_html or self.body != getattr(self, "_rendered_body", None):
            self.body_html = render_essay(self.body)
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "body" in update_fields:
                kwargs["update_fields"] = {*update_fields, "body_html"}
        super().save(*args, **kwargs)
        self._rendered_body = self.body

    def get_absolute_url(self) -> str:
        return reverse("essays:detail", kwargs={"slug": self.slug})

    @classmethod
    def from_db(cls, *args, **kwargs):
        """As the ORM makes it, remembering the body its HTML was rendered from (save)."""
        essay = super().from_db(*args, **kwargs)
        essay._rendered_body = essay.__dict__.get("body")
        return essay

    @property
    def html(self):
        return stored_html(self.body_html)

    @property
    def html_with_tex(self):
        """The HTML with each formula's TeX in place of its MathML: for feeds and mails."""
        return tex_in_place_of_math(self.body_html)

    @property
    def description(self) -> str:
        """Plain-text summary for meta tags."""
        text = self.summary or strip_tags(self.html_with_tex)
        return Truncator(" ".join(text.split())).chars(300)

    @property
    def last_modified(self):
        """For Last-Modified: the later of the essay's and its discussion's last change."""
        return max(filter(None, (self.updated_at, self.discussion_changed_at)))

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.published_at <= timezone.now()
