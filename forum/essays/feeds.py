"""Atom feeds: the essays, one essay's comments, and every comment.

Only what readers can see on the site goes in: published essays (not drafts,
not future-dated, not the canary essay of `check_comment_form`: see
EssayQuerySet.listed) and published comments on them. Links and ids are built from
settings.SITE_URL, like the canonical links of the pages, so they do not
depend on the Host a request happened to use. Each entry's id is a tag URI
made from the row's primary key and creation date, which never change, so a
reader keeps an entry as the same one when its title, slug or text change.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from forum.discussion.models import Comment

from .models import Essay, Tag

# The all-comments feed shows the latest ones only.
COMMENTS_FEED_LIMIT = 50


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def tag_uri(kind: str, pk: int, created) -> str:
    """tag:host,YYYY-MM-DD:kind/pk (RFC 4151), stable for the life of the row."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"tag:{host},{created:%Y-%m-%d}:{kind}/{pk}"


class EssayAtomFeed(Atom1Feed):
    """Atom with a plain-text <summary> and the essay's HTML as <content>.

    Django's Atom1Feed writes the description as <summary type="html">; an
    essay's description is plain text, so it would be read as markup.
    """

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"]:
            handler.addQuickElement("summary", item["description"], {"type": "text"})
        if item.get("content"):
            handler.addQuickElement("content", item["content"], {"type": "html"})


class EssaysFeed(Feed):
    feed_type = EssayAtomFeed

    def title(self) -> str:
        return f"{settings.SITE_NAME}: essays"

    def subtitle(self) -> str:
        return f"Essays published on {settings.SITE_NAME}, newest first."

    def link(self) -> str:
        return absolute(reverse("home"))

    def feed_url(self) -> str:
        return absolute(reverse("essays:feed"))

    def feed_guid(self) -> str:
        return self.feed_url()

    def items(self) -> QuerySet[Essay]:
        return Essay.objects.hosted().select_related("author").order_by("-published_at", "-pk")

    def item_title(self, essay: Essay) -> str:
        return essay.title

    def item_link(self, essay: Essay) -> str:
        return absolute(essay.get_absolute_url())

    def item_guid(self, essay: Essay) -> str:
        return tag_uri("essay", essay.pk, essay.created_at)

    def item_author_name(self, essay: Essay) -> str:
        # As the byline on the essay page shows it.
        return essay.author.public_name

    def item_pubdate(self, essay: Essay):
        return essay.published_at

    def item_updateddate(self, essay: Essay):
        # Atom requires <updated>; an essay dated ahead of its last save was not updated after publication.
        return max(essay.updated_at, essay.published_at)

    def item_description(self, essay: Essay) -> str:
        return essay.description

    def item_extra_kwargs(self, essay: Essay) -> dict:
        # body_html is stored sanitised (forum.lib.markup); it is sent as it is, its formulas as TeX.
        return {"content": essay.portable_html}


class TagEssaysFeed(EssaysFeed):
    """The essays of one tag."""

    def get_object(self, request, slug: str) -> Tag:
        return get_object_or_404(Tag, slug=slug)

    def title(self, tag: Tag) -> str:
        return f"{settings.SITE_NAME}: essays on {tag.name}"

    def subtitle(self, tag: Tag) -> str:
        return f"Essays on {tag.name} published on {settings.SITE_NAME}, newest first."

    def link(self, tag: Tag) -> str:
        return absolute(tag.get_absolute_url())

    def feed_url(self, tag: Tag) -> str:
        return absolute(reverse("essays:tag_feed", kwargs={"slug": tag.slug}))

    def feed_guid(self, tag: Tag) -> str:
        return self.feed_url(tag)

    def items(self, tag: Tag) -> QuerySet[Essay]:
        return super().items().filter(tags=tag)


class CommentFeedMixin:
    """One entry per published comment: its permalink, signature and stored HTML."""

    feed_type = Atom1Feed

    @staticmethod
    def newest_first(comments: QuerySet[Comment]) -> QuerySet[Comment]:
        return comments.select_related("essay").order_by(Coalesce("published_at", "created_at").desc(), "-pk")

    def item_title(self, comment: Comment) -> str:
        signature = comment.author_name
        if comment.author_affiliation:
            signature = f"{signature}, {comment.author_affiliation}"
        return f"{signature} on {comment.essay.title}"

    def item_link(self, comment: Comment) -> str:
        return absolute(comment.get_absolute_url())

    def item_guid(self, comment: Comment) -> str:
        return tag_uri("comment", comment.pk, comment.created_at)

    def item_author_name(self, comment: Comment) -> str:
        return comment.author_name

    def item_pubdate(self, comment: Comment):
        return comment.dated

    def item_updateddate(self, comment: Comment):
        # Atom requires <updated>: the last edit, or else the publication.
        return comment.edited_at or self.item_pubdate(comment)

    def item_description(self, comment: Comment) -> str:
        # Stored sanitised when the comment was saved (Comment.set_text); its formulas as TeX.
        return comment.portable_html


class EssayCommentsFeed(CommentFeedMixin, Feed):
    def get_object(self, request, slug: str) -> Essay:
        return get_object_or_404(Essay.objects.listed(), slug=slug)

    def title(self, essay: Essay) -> str:
        return f"Comments on {essay.title}"

    def subtitle(self, essay: Essay) -> str:
        return f"The discussion of “{essay.title}” on {settings.SITE_NAME}, newest first."

    def link(self, essay: Essay) -> str:
        return absolute(f"{essay.get_absolute_url()}#comments")

    def feed_url(self, essay: Essay) -> str:
        return absolute(reverse("essays:comments_feed", kwargs={"slug": essay.slug}))

    def feed_guid(self, essay: Essay) -> str:
        return tag_uri("essay-comments", essay.pk, essay.created_at)

    def items(self, essay: Essay) -> QuerySet[Comment]:
        return self.newest_first(Comment.objects.published().filter(essay=essay))


class CommentsFeed(CommentFeedMixin, Feed):
    def title(self) -> str:
        return f"{settings.SITE_NAME}: comments"

    def subtitle(self) -> str:
        return f"The latest comments on the essays of {settings.SITE_NAME}."

    def link(self) -> str:
        return absolute(reverse("home"))

    def feed_url(self) -> str:
        return absolute(reverse("essays:all_comments_feed"))

    def feed_guid(self) -> str:
        return self.feed_url()

    def items(self) -> QuerySet[Comment]:
        comments = Comment.objects.published().filter(essay__in=Essay.objects.listed())
        return self.newest_first(comments)[:COMMENTS_FEED_LIMIT]
