import re
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import StringAgg, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator, slugify

from forum.lib.markup import (
    FIGURE_LABEL,
    Picture,
    portable,
    render_essay,
    stored_html,
    text_from_html,
    without_figures,
)
from forum.search.index import keep_essays

from .images import Prepared


class EssayQuerySet(models.QuerySet):
    def published(self) -> "EssayQuerySet":
        return self.filter(status=Essay.Status.PUBLISHED, published_at__lte=timezone.now())

    def listed(self) -> "EssayQuerySet":
        """Published essays that readers are shown (not the canary), and the discussions of pages
        elsewhere (forum/embed) once their page was checked or a moderator accepted them: found by
        search and in the comments' feed."""
        return self.published().filter(is_canary=False)

    def hosted(self) -> "EssayQuerySet":
        """The listed essays whose text is here: the home page, the archive, tags and the essays' feed."""
        return self.listed().filter(host_origin="")

    def with_tag_list(self) -> "EssayQuerySet":
        """With their tags in the same query (`tag_list`, read by Essay.shown_tags)."""
        pair = Concat("tags__slug", Value("\t"), "tags__name", output_field=models.TextField())
        return self.annotate(tag_list=StringAgg(pair, Value("\n")))  # ordered by shown_tags


class Tag(models.Model):
    """A subject essays share ("alliances", "India"): each has its page and feed (/tags/<slug>/)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, allow_unicode=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name = " ".join(self.name.split())
        self.slug = self.slug or slugify(self.name, allow_unicode=True)[:100] or "tag"
        with transaction.atomic():
            super().save(*args, **kwargs)
            self.essays.update(updated_at=timezone.now())  # their pages show its name

    def get_absolute_url(self) -> str:
        return reverse("essays:tag", kwargs={"slug": self.slug})

    @classmethod
    def named(cls, names) -> list["Tag"]:
        """The tags of these names, made if new (an import's labels): "History" and "history" are one."""
        tags = []
        for name in dict.fromkeys(" ".join(name.split())[:100] for name in names if name.strip()):
            tag = cls.objects.filter(name__iexact=name).first()
            if tag is None:
                slug, number = slugify(name, allow_unicode=True)[:90] or "tag", 1
                while cls.objects.filter(slug=slug if number == 1 else f"{slug}-{number}").exists():
                    number += 1
                tag = cls.objects.create(name=name, slug=slug if number == 1 else f"{slug}-{number}")
            if tag not in tags:
                tags.append(tag)
        return tags


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
    tags = models.ManyToManyField(Tag, blank=True, related_name="essays")
    # The hidden essay that `manage.py check_comment_form` posts to: never
    # listed, in feeds or in the audit log.
    is_canary = models.BooleanField(default=False, editable=False)
    # Changes with every write that changes what its page shows (forum/pagecache.py):
    # kept pages and ETags are keyed by it and updated_at.
    discussion_version = models.PositiveBigIntegerField(default=0, editable=False)
    discussion_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The revision of the text readers see: 1 as first published, one more for each edit of the
    # published text (the text it replaced is kept: EssayRevision). Comments note the one they
    # were written on (Comment.essay_version).
    text_version = models.PositiveIntegerField(default=1, editable=False)
    revised_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The discussion of a page that lives elsewhere (a blog that embeds it: forum/embed), not an essay
    # written here: the page's canonical address, its origin (one the site lists), and what the page
    # calls its thread (its data-thread, or the address). It stays a draft, shown to nobody, until the
    # site finds the embed on that page (`host_checked_at`) or a moderator accepts it.
    host_url = models.URLField("page elsewhere", max_length=500, blank=True, editable=False)
    host_origin = models.CharField(max_length=200, blank=True, editable=False)
    host_thread = models.CharField(max_length=500, blank=True, editable=False)
    host_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    host_problem = models.CharField(max_length=300, blank=True, editable=False)  # why the check failed

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EssayQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at"]
        indexes = [models.Index(fields=["status", "-published_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["host_origin", "host_thread"],
                condition=~models.Q(host_origin=""),
                name="one_discussion_per_page_elsewhere",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        """Save; a new text of a published essay keeps the one it replaces as a revision (who
        replaced it and why: `revised_by` and `revision_note`, set by whoever edits it)."""
        stored = getattr(self, "_stored", None)
        update_fields = kwargs.get("update_fields")
        saves_body = update_fields is None or "body" in update_fields
        # A browser sends a textarea's lines ended by CRLF: the same text, not a new one.
        self.body = self.body.replace("\r\n", "\n")
        changed = set()
        # Rendered once, when the text is written, never at read time. An essay saved for another
        # reason (comments closed, a new author) keeps the HTML it had: a text written before a
        # markup was known (a formula, a footnote) is not read again until someone edits it; its
        # address changing renders it again too (its passages link to it).
        if not self.body_html or stored is None or (self.body, self.slug) != (stored.body, stored.slug):
            self.body_html = self._rendered()
            changed.add("body_html")
        with transaction.atomic():
            # A new text of the published essay (its title alone does not make one).
            if stored is not None and stored.was_published and saves_body and self.body != stored.body:
                self._keep_revision(stored)
                changed |= {"text_version", "revised_at"}
            if update_fields is not None and {"body", "title", "slug"} & set(update_fields):
                kwargs["update_fields"] = {*update_fields, *changed}
            super().save(*args, **kwargs)
            keep_essays([self])  # found by what it says now
        self._stored = StoredText.of(self)

    def get_absolute_url(self) -> str:
        return reverse("essays:detail", kwargs={"slug": self.slug})

    @property
    def is_elsewhere(self) -> bool:
        """The discussion of a page on another site (forum/embed), not an essay written here."""
        return bool(self.host_origin)

    @property
    def discussion_url(self) -> str:
        """Where readers take part in its discussion, as mails link it: the page elsewhere, or here."""
        return self.host_url or settings.SITE_URL + self.get_absolute_url()

    def _rendered(self) -> str:
        pictures = [figure.picture for figure in self.figures.all()] if self.pk else []
        return render_essay(self.body, self.get_absolute_url(), pictures)

    def show_figures(self) -> None:
        """Render the text again with its figures as they are now (one was added, changed or removed).
        Not a new text: no revision is kept, and the text's passages keep their anchors."""
        self.body_html = self._rendered()
        self.updated_at = timezone.now()  # in the page cache's key
        with transaction.atomic():
            super().save(update_fields=["body_html", "updated_at"])
            keep_essays([self])  # its captions are its words too
        self._stored = StoredText.of(self)

    def _keep_revision(self, stored: "StoredText") -> None:
        now = timezone.now()
        # Numbered as the database has it: two edits at once are made one after the other.
        self.text_version = Essay.objects.select_for_update().values_list("text_version", flat=True).get(pk=self.pk)
        EssayRevision.objects.create(
            essay=self,
            number=self.text_version,
            title=stored.title,
            body=stored.body,
            body_html=stored.body_html,
            shown_from=self.revised_at or stored.published_at,
            replaced_at=now,
            replaced_by=getattr(self, "revised_by", None),
            note=getattr(self, "revision_note", ""),
        )
        self.text_version += 1
        self.revised_at = now

    @classmethod
    def from_db(cls, *args, **kwargs):
        """As the ORM makes it, remembering the text as stored (save)."""
        essay = super().from_db(*args, **kwargs)
        if "body" in essay.__dict__:  # the whole essay, not its head (pagecache.HEAD_FIELDS)
            essay._stored = StoredText.of(essay)
        return essay

    @property
    def html(self):
        return stored_html(self.body_html)

    @property
    def portable_html(self):
        """The HTML as feeds and mails carry it (forum.lib.markup.portable)."""
        return portable(self.body_html, settings.SITE_URL)

    @property
    def shown_tags(self) -> list["Tag"]:
        """Its tags: from `tag_list` if the query brought them (with_tag_list), else prefetched."""
        listed = getattr(self, "tag_list", None)
        if listed is None:
            return list(self.tags.all())
        pairs = (line.split("\t", 1) for line in listed.split("\n") if line.strip())  # no tags: one empty pair
        return [Tag(slug=slug, name=name) for slug, name in sorted(pairs, key=lambda pair: pair[1].lower())]

    @property
    def description(self) -> str:
        """Plain-text summary for meta tags."""
        text = self.summary or text_from_html(without_figures(self.portable_html))
        return Truncator(" ".join(text.split())).chars(300)

    @property
    def last_modified(self):
        """For Last-Modified: the later of the essay's and its discussion's last change."""
        return max(filter(None, (self.updated_at, self.discussion_changed_at)))

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.published_at <= timezone.now()


@dataclass(frozen=True)
class StoredText:
    """An essay's text as it was read from the database."""

    title: str
    slug: str
    body: str
    body_html: str
    published_at: datetime
    was_published: bool

    @classmethod
    def of(cls, essay: Essay) -> "StoredText":
        return cls(essay.title, essay.slug, essay.body, essay.body_html, essay.published_at, essay.is_published)


class EssayRevision(models.Model):
    """A text a published essay had, kept when an edit replaced it: readers can open it, and the
    comments written on it say so."""

    essay = models.ForeignKey(Essay, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()  # the essay's text_version while readers saw this text
    title = models.CharField(max_length=250)
    body = models.TextField()
    body_html = models.TextField()
    shown_from = models.DateTimeField()  # when readers first saw this text
    replaced_at = models.DateTimeField(default=timezone.now)
    replaced_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)  # what the edit that replaced it changed

    class Meta:
        ordering = ["essay", "number"]
        constraints = [models.UniqueConstraint(fields=["essay", "number"], name="one_revision_per_number")]

    def __str__(self) -> str:
        return f"{self.essay} as of {self.shown_from:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("essays:revision", kwargs={"slug": self.essay.slug, "number": self.number})

    @property
    def html(self):
        return stored_html(self.body_html)


def _figure_label(value: str) -> None:
    if not re.fullmatch(FIGURE_LABEL, value):
        raise ValidationError("Use lower-case letters, digits and single hyphens (map-of-alliances).")


class Figure(models.Model):
    """A picture shown in an essay's text, uploaded with it through the admin.

    The upload is decoded and written anew at a few widths (forum.essays.images), kept in the storage
    the site is set up with (STORAGES["default"]: the disk, or object storage), and placed in the text
    by its label: "![](figure:label)" on a line of its own. Figures the text does not place follow it.
    Their files are never deleted with the figure: an earlier revision of the essay may show them.
    """

    essay = models.ForeignKey(Essay, on_delete=models.CASCADE, related_name="figures")
    label = models.CharField(
        max_length=60,
        validators=[_figure_label],
        help_text="Place it in the text with ![](figure:LABEL) on a line of its own.",
    )
    alt = models.CharField(
        "alternative text",
        max_length=1000,
        help_text="What the picture shows, for readers who cannot see it (read aloud by screen readers).",
    )
    caption = models.TextField(
        blank=True, max_length=2000, help_text="Shown under it. Markdown: emphasis, links, $formulas$."
    )
    credit = models.CharField(max_length=300, blank=True, help_text="Who made it, and its licence.")
    # The largest picture kept (the upload's own width, at most images.WIDTHS[-1]) and its size.
    image = models.FileField(max_length=200, editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    # Every width kept, narrowest first, as [width, file name]: the srcset.
    renditions = models.JSONField(default=list, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["essay", "pk"]
        constraints = [models.UniqueConstraint(fields=["essay", "label"], name="one_figure_per_label")]

    def __str__(self) -> str:
        return self.label

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        self.essay.show_figures()

    def delete(self, *args, **kwargs):
        deleted = super().delete(*args, **kwargs)
        self.essay.show_figures()
        return deleted

    def keep(self, prepared: Prepared) -> None:
        """Store a prepared upload's pictures (once: a name is the upload's digest and a width)."""
        self.renditions = []
        for rendition in prepared.renditions:
            name = rendition.name(prepared.digest)
            if not default_storage.exists(name):
                saved = default_storage.save(name, ContentFile(rendition.content))
                if saved != name:  # the same upload, saved at the same moment by someone else
                    default_storage.delete(saved)
            self.renditions.append([rendition.width, name])
        self.image.name = self.renditions[-1][1]
        self.width, self.height = prepared.largest.width, prepared.largest.height

    @property
    def picture(self) -> Picture:
        return Picture(
            label=self.label,
            src=reverse("media", kwargs={"path": self.image.name}),
            srcset=tuple((reverse("media", kwargs={"path": name}), width) for width, name in self.renditions),
            width=self.width,
            height=self.height,
            alt=self.alt,
            caption=self.caption,
            credit=self.credit,
        )


def tags_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs) -> None:
    """An essay's tags changed (m2m_changed, connected in apps.py): its page shows them."""
    if action in ("post_add", "post_remove"):
        essays = Essay.objects.filter(pk__in=pk_set) if reverse else Essay.objects.filter(pk=instance.pk)
    elif action == "pre_clear":
        essays = instance.essays.all() if reverse else Essay.objects.filter(pk=instance.pk)
    else:
        return
    essays.update(updated_at=timezone.now())
