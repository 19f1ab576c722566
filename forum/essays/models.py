from functools import cache as cache_for_process

from django.conf import settings
from django.db import connection, models
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.text import Truncator

from forum.lib.markup import render_essay, stored_html


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
    # Changes with every event on one of its comments (see forum/discussion/freshness.py):
    # cached renderings of the discussion and ETags are keyed by it and updated_at.
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
        # Rendered once here, never at read time.
        self.body_html = render_essay(self.body)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {*update_fields, "body_html"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("essays:detail", kwargs={"slug": self.slug})

    @property
    def html(self):
        return stored_html(self.body_html)

    @property
    def description(self) -> str:
        """Plain-text summary for meta tags."""
        text = self.summary or strip_tags(self.body_html)
        return Truncator(" ".join(text.split())).chars(300)

    @property
    def last_modified(self):
        """For Last-Modified: the later of the essay's and its discussion's last change."""
        return max(filter(None, (self.updated_at, self.discussion_changed_at)))

    @staticmethod
    def head(slug: str) -> "Essay | None":
        """The essay's key columns only (see HEAD_FIELDS), published or not: check is_published.

        Every public reader's request asks this before anything else. The ORM
        spends about 0.4 ms building the equivalent query, twenty times what
        the database spends answering it, so the query is built once per process.
        """
        return _head_query()(slug)

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.published_at <= timezone.now()


# What a public reader's request needs before it knows whether the cached page will do:
# whether the essay is published and open, and what changes the page (see discussion_key).
HEAD_FIELDS = (
    "id",
    "slug",
    "status",
    "published_at",
    "comments_open",
    "discussion_version",
    "discussion_changed_at",
    "updated_at",
)


class HeadQuery:
    """SELECT HEAD_FIELDS by slug: the SQL and each column's converters, as the ORM would make them."""

    def __init__(self) -> None:
        quote, meta = connection.ops.quote_name, Essay._meta
        fields = [meta.get_field(name) for name in HEAD_FIELDS]
        columns = ", ".join(quote(field.column) for field in fields)
        # Names from the model, quoted; the slug is a parameter.
        self.sql = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.get_field('slug').column)} = %s"  # noqa: S608
        self.attnames = [field.attname for field in fields]
        # The backend's converters (SQLite: text to aware datetimes, 0/1 to booleans; PostgreSQL: none).
        self.converters = []
        for field in fields:
            column = field.get_col(meta.db_table)
            self.converters.append(
                (column, [*connection.ops.get_db_converters(column), *field.get_db_converters(connection)])
            )

    def __call__(self, slug: str) -> "Essay | None":
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [slug])
            row = cursor.fetchone()
        if row is None:
            return None
        values = []
        for value, (column, converters) in zip(row, self.converters, strict=True):
            for convert in converters:
                value = convert(value, column, connection)
            values.append(value)
        return Essay.from_db(connection.alias, self.attnames, values)


_head_query = cache_for_process(HeadQuery)
